//! SPDX 2.2/2.3 documents (JSON, and tag-value turned into the same shape).

// The reader and its helpers are shared across the formats.
use super::*;

impl Reader<'_> {
    /// `field` is how the document spells it (tag-value: `SPDXVersion`).
    pub(super) fn spdx_version(&self, doc: &Map<String, Value>, field: &str) -> Result<String> {
        let version = str_field(doc, "spdxVersion").unwrap_or_default();
        if version.starts_with("SPDX-2.") {
            return Ok(version.to_string());
        }
        Err(invalid(
            self.location,
            field,
            format!("unsupported SPDX version `{version}`"),
            "pare reads SPDX 2.2 and 2.3 (`SPDX-2.3`)",
        ))
    }

    pub(super) fn spdx(&mut self, doc: &Map<String, Value>) -> Inventory {
        let packages = array(doc, "packages");
        // The described roots: DESCRIBES relationships from the document, or `documentDescribes`.
        let mut roots: BTreeSet<&str> = array(doc, "documentDescribes").iter().filter_map(Value::as_str).collect();
        for r in array(doc, "relationships") {
            let Some(r) = r.as_object() else { continue };
            let kind = str_field(r, "relationshipType");
            let (from, to) = (str_field(r, "spdxElementId"), str_field(r, "relatedSpdxElement"));
            if kind == Some("DESCRIBES") && from == Some("SPDXRef-DOCUMENT") {
                roots.extend(to);
            } else if kind == Some("DESCRIBED_BY") && to == Some("SPDXRef-DOCUMENT") {
                roots.extend(from);
            }
        }
        let mut subject = Subject { name: str_field(doc, "name").unwrap_or(self.location).to_string(), digest: None };
        let mut os = None;
        let mut drafts = Vec::new();
        let mut no_purl = Vec::new();
        for (i, p) in packages.iter().enumerate() {
            let path = format!("packages[{i}]");
            let Some(p) = p.as_object() else {
                self.warn(&path, "not an object; skipped");
                continue;
            };
            let id = str_field(p, "SPDXID").unwrap_or_default();
            let purpose = str_field(p, "primaryPackagePurpose");
            let purl = spdx_purl(p);
            if roots.contains(id) && (purl.is_none() || purpose == Some("CONTAINER")) {
                if let Some(name) = str_field(p, "name") {
                    subject.name = name.to_string();
                }
                subject.digest = str_field(p, "versionInfo").filter(|v| v.starts_with("sha256:")).map(String::from);
                continue;
            }
            if purpose == Some("OPERATING-SYSTEM") {
                os = os.or_else(|| os_release(str_field(p, "name"), str_field(p, "versionInfo"), None, None));
                continue;
            }
            let Some(purl) = purl else {
                no_purl.push(str_field(p, "name").unwrap_or(id).to_string());
                continue;
            };
            let mut draft = Draft {
                path,
                name: str_field(p, "name").map(String::from),
                version: str_field(p, "versionInfo").map(String::from),
                purl: Some(purl),
                ..Draft::default()
            };
            let declared = str_field(p, "licenseDeclared").filter(known_license);
            let concluded = str_field(p, "licenseConcluded").filter(known_license);
            if let Some(expr) = declared.or(concluded) {
                draft.licenses = split_and(expr);
            }
            if let Some((name, version)) = str_field(p, "sourceInfo").and_then(spdx_source_info) {
                draft.source_name = Some(name);
                draft.source_version = version;
            }
            draft.download_location = str_field(p, "downloadLocation")
                .filter(|l| !matches!(*l, "NOASSERTION" | "NONE" | ""))
                .map(String::from);
            for (j, c) in array(p, "checksums").iter().enumerate() {
                let c = c.as_object();
                match (c.and_then(|c| str_field(c, "algorithm")), c.and_then(|c| str_field(c, "checksumValue"))) {
                    (Some(algorithm), Some(value)) if is_hex(value) => draft
                        .checksums
                        .push(Checksum { algorithm: algorithm.to_string(), value: value.to_ascii_lowercase() }),
                    _ => self.warn(
                        &format!("{}.checksums[{j}]", draft.path),
                        "not an `algorithm` and a hex `checksumValue`; ignored",
                    ),
                }
            }
            drafts.push(draft);
        }
        if !no_purl.is_empty() {
            self.warn(
                "packages[].externalRefs",
                format_args!("{} package(s) without a purl skipped: {}", no_purl.len(), list(&no_purl)),
            );
        }
        let created =
            doc.get("creationInfo").and_then(Value::as_object).and_then(|c| str_field(c, "created")).map(String::from);
        let tool = doc
            .get("creationInfo")
            .and_then(Value::as_object)
            .map(|c| array(c, "creators"))
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .find_map(|c| c.strip_prefix("Tool:"))
            .map(|t| {
                let t = t.trim();
                match t.rsplit_once('-') {
                    Some((name, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => {
                        Tool { name: name.into(), version: version.into() }
                    }
                    _ => Tool { name: t.into(), version: String::new() },
                }
            });
        self.finish(subject, os, drafts, tool, created, "creationInfo.created")
    }

    // ---- CycloneDX ----
}

fn spdx_purl(p: &Map<String, Value>) -> Option<String> {
    array(p, "externalRefs").iter().filter_map(Value::as_object).find_map(|r| {
        (str_field(r, "referenceType") == Some("purl")).then(|| str_field(r, "referenceLocator").map(String::from))?
    })
}

/// `built from source package NAME VERSION` (pare) or `built package from: NAME VERSION` (trivy).
fn spdx_source_info(info: &str) -> Option<(String, Option<String>)> {
    let info = info.split_whitespace().collect::<Vec<_>>().join(" ");
    let rest = info
        .strip_prefix("built from source package ")
        .or_else(|| info.strip_prefix("built package from: "))
        .or_else(|| info.strip_prefix("built package from "))?;
    let mut words = rest.split_whitespace();
    let name = words.next()?.to_string();
    Some((name, words.next().map(String::from)))
}
