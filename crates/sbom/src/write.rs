//! Writers: SPDX 2.3 JSON, CycloneDX 1.6 / 1.5 JSON, pare's JSON and a table.
//!
//! The SPDX and CycloneDX documents are built with `serde_json` rather than the typify-generated
//! `serde-spdx` / `serde-cyclonedx` models: pare writes a small, fixed subset of each format, the
//! generated builders cost compile time and add nothing over the schema checks in the tests (the
//! official validators: `pyspdxtools` and the CycloneDX JSON schema), and a hand-built
//! `serde_json::Map` keeps key order and output byte-for-byte stable.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::Result;
use crate::model::{Inventory, Package};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    SpdxJson,
    CycloneDxJson,
    CycloneDx15Json,
    Json,
    Table,
}

/// The creation time used when neither `SOURCE_DATE_EPOCH` nor the image gives one.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// Writes an inventory in `format`; JSON output ends with a newline.
pub fn write(inventory: &Inventory, format: OutputFormat) -> Result<Vec<u8>> {
    let value = match format {
        OutputFormat::SpdxJson => spdx(inventory),
        OutputFormat::CycloneDxJson => cyclonedx(inventory, "1.6"),
        OutputFormat::CycloneDx15Json => cyclonedx(inventory, "1.5"),
        OutputFormat::Json => serde_json::to_value(inventory)?,
        OutputFormat::Table => return Ok(table(inventory).into_bytes()),
    };
    let mut bytes = serde_json::to_vec_pretty(&value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The subject's name for documents: the digest's hex, or the name.
fn subject_hex(inventory: &Inventory) -> String {
    match &inventory.subject.digest {
        Some(d) => d.split_once(':').map(|(_, h)| h.to_string()).unwrap_or_else(|| sha256_hex(d)),
        None => sha256_hex(&inventory.subject.name),
    }
}

/// `SPDXRef-` + the name with characters SPDX does not allow replaced, + a hash of the purl.
fn spdx_id(package: &Package) -> String {
    let name: String =
        package.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    let hash = sha256_hex(&package.purl);
    format!("SPDXRef-Package-{}-{name}-{}", package.ecosystem, &hash[..16])
}

fn image_name(inventory: &Inventory) -> String {
    inventory.subject.name.clone()
}

fn spdx(inventory: &Inventory) -> Value {
    let created = inventory.created.clone().unwrap_or_else(|| EPOCH.to_string());
    let hex = subject_hex(inventory);
    let mut root = Map::new();
    root.insert("SPDXID".into(), json!("SPDXRef-Image"));
    root.insert("name".into(), json!(image_name(inventory)));
    if let Some(digest) = &inventory.subject.digest {
        root.insert("versionInfo".into(), json!(digest));
    }
    root.insert("downloadLocation".into(), json!("NOASSERTION"));
    root.insert("filesAnalyzed".into(), json!(false));
    if let Some(h) = inventory.subject.digest.as_deref().and_then(|d| d.strip_prefix("sha256:")) {
        root.insert("checksums".into(), json!([{"algorithm": "SHA256", "checksumValue": h}]));
    }
    root.insert("licenseConcluded".into(), json!("NOASSERTION"));
    root.insert("licenseDeclared".into(), json!("NOASSERTION"));
    root.insert("copyrightText".into(), json!("NOASSERTION"));
    root.insert("primaryPackagePurpose".into(), json!("CONTAINER"));
    let mut packages = vec![Value::Object(root)];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Image",
    })];
    for p in &inventory.packages {
        let id = spdx_id(p);
        let mut m = Map::new();
        m.insert("SPDXID".into(), json!(id));
        m.insert("name".into(), json!(p.name));
        m.insert("versionInfo".into(), json!(p.version));
        let location = p.download_location.as_deref().filter(|l| spdx_download_location(l));
        m.insert("downloadLocation".into(), json!(location.unwrap_or("NOASSERTION")));
        m.insert("filesAnalyzed".into(), json!(false));
        if !p.checksums.is_empty() {
            let sums: Vec<Value> =
                p.checksums.iter().map(|c| json!({"algorithm": c.algorithm, "checksumValue": c.value})).collect();
            m.insert("checksums".into(), Value::Array(sums));
        }
        if let (Some(name), Some(version)) = (&p.source_name, &p.source_version) {
            m.insert("sourceInfo".into(), json!(format!("built from source package {name} {version}")));
        }
        m.insert("licenseConcluded".into(), json!("NOASSERTION"));
        m.insert("licenseDeclared".into(), json!(p.license_expression().unwrap_or_else(|| "NOASSERTION".into())));
        m.insert("copyrightText".into(), json!("NOASSERTION"));
        m.insert("externalRefs".into(), {
            let mut refs = vec![
                json!({"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p.purl}),
            ];
            refs.extend(crate::cpe::cpes(p).into_iter().map(
                |cpe| json!({"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe}),
            ));
            Value::Array(refs)
        });
        m.insert("primaryPackagePurpose".into(), json!("LIBRARY"));
        packages.push(Value::Object(m));
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Image",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    let mut creators = vec![format!("Tool: {}-{}", inventory.tool.name, inventory.tool.version)];
    creators.push("Organization: pare".into());
    let mut doc = Map::new();
    doc.insert("spdxVersion".into(), json!("SPDX-2.3"));
    doc.insert("dataLicense".into(), json!("CC0-1.0"));
    doc.insert("SPDXID".into(), json!("SPDXRef-DOCUMENT"));
    doc.insert("name".into(), json!(image_name(inventory)));
    doc.insert("documentNamespace".into(), json!(format!("https://pare.invalid/spdx/sha256/{hex}")));
    doc.insert("creationInfo".into(), json!({"created": created, "creators": creators}));
    doc.insert("packages".into(), Value::Array(packages));
    doc.insert("relationships".into(), Value::Array(relationships));
    Value::Object(doc)
}

/// Whether `url` is a download location SPDX 2.3 accepts (its grammar, as `pyspdxtools` checks it):
/// a URL whose host is a domain name ending in a 2-5 letter label. Others (an IP address, a
/// single-label host such as `localhost`) are written as `NOASSERTION`; CycloneDX keeps them.
fn spdx_download_location(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else { return false };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https" | "ftp" | "sftp" | "ssh" | "git" | "svn") {
        return false;
    }
    if url.chars().any(char::is_whitespace) {
        return false;
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.split_once(':') {
        Some((h, port)) if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) => return false,
        None => host_port,
    };
    let labels: Vec<&str> = host.split('.').collect();
    let Some(tld) = labels.last() else { return false };
    labels.len() >= 2
        && (2..=5).contains(&tld.len())
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// A name-based UUID (version 5 layout, SHA-256 instead of SHA-1) for `serialNumber`.
fn uuid_from(text: &str) -> String {
    let h = Sha256::digest(text.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

fn cyclonedx(inventory: &Inventory, spec: &str) -> Value {
    let created = inventory.created.clone().unwrap_or_else(|| EPOCH.to_string());
    let mut component = Map::new();
    component.insert("type".into(), json!("container"));
    component.insert("bom-ref".into(), json!("image"));
    component.insert("name".into(), json!(image_name(inventory)));
    if let Some(digest) = &inventory.subject.digest {
        component.insert("version".into(), json!(digest));
        if let Some(h) = digest.strip_prefix("sha256:") {
            component.insert("hashes".into(), json!([{"alg": "SHA-256", "content": h}]));
        }
    }
    let mut components = Vec::new();
    let mut refs = Vec::new();
    for p in &inventory.packages {
        let mut c = Map::new();
        c.insert("type".into(), json!("library"));
        c.insert("bom-ref".into(), json!(p.purl));
        c.insert("name".into(), json!(p.name));
        c.insert("version".into(), json!(p.version));
        if let Some(expr) = p.license_expression() {
            c.insert("licenses".into(), json!([{"expression": expr}]));
        }
        let hashes: Vec<Value> = p
            .checksums
            .iter()
            .filter_map(|h| h.cyclonedx_algorithm().map(|alg| json!({"alg": alg, "content": h.value})))
            .collect();
        if !hashes.is_empty() {
            c.insert("hashes".into(), Value::Array(hashes));
        }
        if let Some(cpe) = crate::cpe::cpes(p).into_iter().next() {
            c.insert("cpe".into(), json!(cpe));
        }
        c.insert("purl".into(), json!(p.purl));
        if let Some(url) = &p.download_location {
            c.insert("externalReferences".into(), json!([{"type": "distribution", "url": url}]));
        }
        let mut properties = Vec::new();
        if let Some(arch) = &p.architecture {
            properties.push(json!({"name": "pare:package:architecture", "value": arch}));
        }
        if let Some(s) = &p.source_name {
            properties.push(json!({"name": "pare:package:source-name", "value": s}));
        }
        if let Some(s) = &p.source_version {
            properties.push(json!({"name": "pare:package:source-version", "value": s}));
        }
        for l in &p.locations {
            properties.push(json!({"name": "pare:location", "value": format!("{}:{}", l.layer, l.path)}));
        }
        c.insert("properties".into(), Value::Array(properties));
        components.push(Value::Object(c));
        refs.push(json!(p.purl));
    }
    let mut doc = Map::new();
    doc.insert("bomFormat".into(), json!("CycloneDX"));
    doc.insert("specVersion".into(), json!(spec));
    doc.insert("serialNumber".into(), json!(format!("urn:uuid:{}", uuid_from(&subject_hex(inventory)))));
    doc.insert("version".into(), json!(1));
    doc.insert(
        "metadata".into(),
        json!({
            "timestamp": created,
            "tools": {"components": [{"type": "application", "name": inventory.tool.name, "version": inventory.tool.version}]},
            "component": Value::Object(component),
        }),
    );
    doc.insert("components".into(), Value::Array(components));
    doc.insert("dependencies".into(), json!([{"ref": "image", "dependsOn": refs}]));
    Value::Object(doc)
}

fn table(inventory: &Inventory) -> String {
    // Names and versions come from the image or an SBOM: no control character reaches the terminal.
    let cell = |s: &str| crate::escape_control(s).into_owned();
    let rows: Vec<[String; 4]> = inventory
        .packages
        .iter()
        .map(|p| [cell(&p.name), cell(&p.version), cell(&p.ecosystem), cell(&p.licenses.join(", "))])
        .collect();
    let header = ["NAME".to_string(), "VERSION".into(), "TYPE".into(), "LICENSES".into()];
    let mut widths = header.each_ref().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_download_locations() {
        for ok in [
            "http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb",
            "https://security.debian.org:443/debian-security/pool/x.deb",
            "https://user@mirror.example.org/x",
        ] {
            assert!(spdx_download_location(ok), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:8080/pool/x.deb",
            "http://localhost/x.deb",
            "file:///srv/x.deb",
            "deb.debian.org/x",
            "http://deb.debian.org:x/y",
            "http://deb.debian.org/a b",
        ] {
            assert!(!spdx_download_location(bad), "{bad}");
        }
    }
}
