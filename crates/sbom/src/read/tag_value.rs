//! SPDX tag-value, turned into the JSON shape the SPDX reader walks.

use serde_json::{Map, Value};

/// Turns SPDX tag-value into the JSON shape the SPDX reader walks (only the fields it reads).
/// Hand-written: no maintained Rust crate parses SPDX 2.3 tag-value (spdx-rs is stale), and the
/// format is `Tag: value` lines with `<text>…</text>` blocks.
pub(super) fn tag_value_to_json(text: &str) -> Map<String, Value> {
    let mut doc = Map::new();
    let mut creators = Vec::new();
    let mut created = None;
    let mut packages: Vec<Map<String, Value>> = Vec::new();
    let mut relationships = Vec::new();
    let mut in_package = false;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_end_matches('\r');
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some((tag, value)) = line.split_once(':') else { continue };
        let tag = tag.trim();
        let mut value = value.trim().to_string();
        if let Some(rest) = value.strip_prefix("<text>") {
            let mut block = rest.to_string();
            while !block.contains("</text>") {
                let Some(next) = lines.next() else { break };
                block.push('\n');
                block.push_str(next);
            }
            value = block.split("</text>").next().unwrap_or_default().trim().to_string();
        }
        let set = |m: &mut Map<String, Value>, k: &str, v: String| {
            m.entry(k.to_string()).or_insert(Value::String(v));
        };
        match tag {
            "SPDXVersion" => set(&mut doc, "spdxVersion", value.clone()),
            "DocumentName" => set(&mut doc, "name", value.clone()),
            "Creator" => creators.push(Value::String(value.clone())),
            "Created" => created = Some(value.clone()),
            "Relationship" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                if let [from, kind, to] = parts.as_slice() {
                    let mut r = Map::new();
                    r.insert("spdxElementId".into(), Value::String((*from).into()));
                    r.insert("relationshipType".into(), Value::String((*kind).into()));
                    r.insert("relatedSpdxElement".into(), Value::String((*to).into()));
                    relationships.push(Value::Object(r));
                }
            }
            "PackageName" => {
                packages.push(Map::new());
                in_package = true;
                if let Some(p) = packages.last_mut() {
                    set(p, "name", value.clone());
                }
            }
            "FileName" | "SnippetSPDXID" | "LicenseID" => in_package = false,
            _ => {}
        }
        let Some(p) = packages.last_mut().filter(|_| in_package) else { continue };
        match tag {
            "SPDXID" => set(p, "SPDXID", value),
            "PackageVersion" => set(p, "versionInfo", value),
            "PackageLicenseDeclared" => set(p, "licenseDeclared", value),
            "PackageLicenseConcluded" => set(p, "licenseConcluded", value),
            "PackageSourceInfo" => set(p, "sourceInfo", value),
            "PrimaryPackagePurpose" => set(p, "primaryPackagePurpose", value),
            "ExternalRef" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                if let [category, kind, locator, ..] = parts.as_slice() {
                    let mut r = Map::new();
                    r.insert("referenceCategory".into(), Value::String((*category).into()));
                    r.insert("referenceType".into(), Value::String((*kind).into()));
                    r.insert("referenceLocator".into(), Value::String((*locator).into()));
                    if let Value::Array(refs) = p.entry("externalRefs").or_insert_with(|| Value::Array(Vec::new())) {
                        refs.push(Value::Object(r));
                    }
                }
            }
            _ => {}
        }
    }
    let mut info = Map::new();
    info.insert("creators".into(), Value::Array(creators));
    if let Some(c) = created {
        info.insert("created".into(), Value::String(c));
    }
    doc.insert("creationInfo".into(), Value::Object(info));
    doc.insert("packages".into(), Value::Array(packages.into_iter().map(Value::Object).collect()));
    doc.insert("relationships".into(), Value::Array(relationships));
    doc
}
