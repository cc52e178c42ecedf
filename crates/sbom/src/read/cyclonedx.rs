//! CycloneDX 1.4–1.7 JSON documents.

// The reader and its helpers are shared across the formats.
use super::*;

impl Reader<'_> {
    pub(super) fn cyclonedx_version(&self, doc: &Map<String, Value>) -> Result<String> {
        if str_field(doc, "bomFormat") != Some("CycloneDX") {
            return Err(invalid(
                self.location,
                "bomFormat",
                format!("expected `CycloneDX`, found {}", doc.get("bomFormat").unwrap_or(&Value::Null)),
                "pass a CycloneDX JSON document",
            ));
        }
        let version = str_field(doc, "specVersion").unwrap_or_default();
        let minor = version.strip_prefix("1.").and_then(|m| m.parse::<u32>().ok());
        if minor.is_some_and(|m| (4..=7).contains(&m)) {
            return Ok(version.to_string());
        }
        Err(invalid(
            self.location,
            "specVersion",
            format!("unsupported CycloneDX version `{version}`"),
            "pare reads CycloneDX 1.4 to 1.7 JSON",
        ))
    }

    // ---- SPDX ----

    pub(super) fn cyclonedx(&mut self, doc: &Map<String, Value>) -> Inventory {
        let metadata = doc.get("metadata").and_then(Value::as_object);
        let mut subject = Subject { name: self.location.to_string(), digest: None };
        let meta_component = metadata.and_then(|m| m.get("component")).and_then(Value::as_object);
        if let Some(c) = meta_component {
            if let Some(name) = str_field(c, "name") {
                subject.name = name.to_string();
            }
            subject.digest = str_field(c, "version").filter(|v| v.starts_with("sha256:")).map(String::from);
            // trivy names the image's digest only as `NAME@sha256:…`, for images from a registry.
            if subject.digest.is_none() {
                subject.digest = properties(c)
                    .get("aquasecurity:trivy:RepoDigest")
                    .and_then(|d| d.rsplit_once('@'))
                    .map(|(_, d)| d.to_string())
                    .filter(|d| d.starts_with("sha256:"));
            }
        }
        let tool = metadata.and_then(|m| m.get("tools")).and_then(|t| {
            // 1.5+: `{"components": [...]}`; 1.4: an array of `{vendor, name, version}`.
            let first = match t {
                Value::Object(o) => array(o, "components").first(),
                Value::Array(a) => a.first(),
                _ => None,
            }?;
            let o = first.as_object()?;
            Some(Tool {
                name: str_field(o, "name")?.to_string(),
                version: str_field(o, "version").unwrap_or_default().to_string(),
            })
        });
        let created = metadata.and_then(|m| str_field(m, "timestamp")).map(String::from);

        let mut os = None;
        let mut drafts = Vec::new();
        let mut no_purl = Vec::new();
        // Depth-first over nested components, with an explicit stack (no recursion on input).
        let mut stack: Vec<(String, &Value)> =
            array(doc, "components").iter().enumerate().rev().map(|(i, c)| (format!("components[{i}]"), c)).collect();
        let mut seen = 0usize;
        while let Some((path, c)) = stack.pop() {
            seen += 1;
            if seen > MAX_COMPONENTS {
                self.warn("components", format_args!("more than {MAX_COMPONENTS} components; the rest skipped"));
                break;
            }
            let Some(c) = c.as_object() else {
                self.warn(&path, "not an object; skipped");
                continue;
            };
            for (i, child) in array(c, "components").iter().enumerate().rev() {
                stack.push((format!("{path}.components[{i}]"), child));
            }
            let props = properties(c);
            let kind = str_field(c, "type");
            if kind == Some("operating-system") {
                if os.is_none() {
                    os = os_release(
                        str_field(c, "name"),
                        str_field(c, "version"),
                        props.get("syft:distro:versionCodename").map(String::as_str),
                        str_field(c, "description").or(props.get("syft:distro:prettyName").map(String::as_str)),
                    );
                }
                continue;
            }
            let Some(purl) = str_field(c, "purl") else {
                if !matches!(kind, Some("file" | "container")) {
                    no_purl.push(str_field(c, "name").unwrap_or(&path).to_string());
                }
                continue;
            };
            let mut draft = Draft {
                path: path.clone(),
                name: str_field(c, "name").map(String::from),
                version: str_field(c, "version").map(String::from),
                purl: Some(purl.to_string()),
                ..Draft::default()
            };
            draft.licenses = self.cyclonedx_licenses(c, &path);
            for (j, h) in array(c, "hashes").iter().enumerate() {
                let h = h.as_object();
                let alg = h.and_then(|h| str_field(h, "alg"));
                match (alg.and_then(Checksum::spdx_algorithm), h.and_then(|h| str_field(h, "content"))) {
                    (Some(algorithm), Some(value)) if is_hex(value) => draft
                        .checksums
                        .push(Checksum { algorithm: algorithm.to_string(), value: value.to_ascii_lowercase() }),
                    _ => self.warn(
                        &format!("{path}.hashes[{j}]"),
                        format_args!("`{}` is not a known `alg` with a hex `content`; ignored", alg.unwrap_or("")),
                    ),
                }
            }
            draft.download_location = array(c, "externalReferences")
                .iter()
                .filter_map(Value::as_object)
                .find(|r| str_field(r, "type") == Some("distribution"))
                .and_then(|r| str_field(r, "url"))
                .map(String::from);
            let prop = |k: &str| props.get(k).cloned();
            draft.architecture = prop("pare:package:architecture");
            draft.source_name = prop("pare:package:source-name")
                .or_else(|| prop("aquasecurity:trivy:SrcName"))
                .or_else(|| prop("syft:metadata:source"));
            draft.source_version = prop("pare:package:source-version").or_else(|| prop("syft:metadata:sourceVersion"));
            if let Some(v) = prop("aquasecurity:trivy:SrcVersion") {
                // trivy splits the Debian version: [SrcEpoch:]SrcVersion[-SrcRelease].
                let mut full = match prop("aquasecurity:trivy:SrcEpoch").filter(|e| e != "0") {
                    Some(e) => format!("{e}:{v}"),
                    None => v,
                };
                if let Some(r) = prop("aquasecurity:trivy:SrcRelease") {
                    full = format!("{full}-{r}");
                }
                draft.source_version = draft.source_version.or(Some(full));
            }
            for (key, value) in &props {
                if key == "pare:location" {
                    // `LAYER:PATH`; layers are `sha256:…`, paths start with `/`.
                    if let Some(i) = value.find(":/") {
                        draft.locations.push(Location { layer: value[..i].into(), path: value[i + 1..].into() });
                    }
                }
            }
            for n in 0.. {
                let Some(p) = props.get(&format!("syft:location:{n}:path")) else { break };
                let layer = props.get(&format!("syft:location:{n}:layerID")).cloned().unwrap_or_default();
                draft.locations.push(Location { layer, path: p.clone() });
            }
            drafts.push(draft);
        }
        if !no_purl.is_empty() {
            self.warn(
                "components[].purl",
                format_args!("{} component(s) without a purl skipped: {}", no_purl.len(), list(&no_purl)),
            );
        }
        self.finish(subject, os, drafts, tool, created, "metadata.timestamp")
    }

    fn cyclonedx_licenses(&mut self, c: &Map<String, Value>, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, l) in array(c, "licenses").iter().enumerate() {
            let Some(l) = l.as_object() else { continue };
            if let Some(expr) = str_field(l, "expression") {
                out.extend(split_and(expr));
            } else if let Some(inner) = l.get("license").and_then(Value::as_object) {
                if let Some(id) = str_field(inner, "id") {
                    out.push(id.to_string());
                } else if let Some(name) = str_field(inner, "name") {
                    out.push(license_ref(name));
                } else {
                    self.warn(&format!("{path}.licenses[{i}].license"), "neither `id` nor `name`; ignored");
                }
            }
        }
        out
    }

    // ---- shared ----
}

/// The CycloneDX `properties` as a map (the first value of each name wins).
fn properties(c: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in array(c, "properties") {
        let Some(p) = p.as_object() else { continue };
        if let (Some(k), Some(v)) = (str_field(p, "name"), str_field(p, "value")) {
            out.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
    }
    out
}
