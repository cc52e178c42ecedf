//! Helpers the language and Alpine catalogers share: purls, SPDX license checks, packages.

use crate::model::{Location, Package};

/// A purl `pkg:TYPE/[NAMESPACE/]NAME@VERSION?QUALIFIERS`, or `None` when packageurl refuses a part.
pub(crate) fn purl(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> Option<String> {
    let mut purl = packageurl::PackageUrl::new(ty, name).ok()?;
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        purl.with_namespace(ns).ok()?;
    }
    if !version.is_empty() {
        purl.with_version(version).ok()?;
    }
    for (k, v) in qualifiers {
        if !v.is_empty() {
            purl.add_qualifier(*k, *v).ok()?;
        }
    }
    Some(purl.to_string())
}

/// A declared license as an SPDX expression, or `NOASSERTION` when it is not one. Never guessed.
pub(crate) fn spdx_license(value: Option<&str>) -> String {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if spdx::Expression::parse(v).is_ok() => v.to_string(),
        _ => "NOASSERTION".into(),
    }
}

/// A package found by a language cataloger at one location.
pub(crate) fn package(
    ecosystem: &str,
    name: &str,
    version: &str,
    purl: String,
    license: String,
    location: Location,
) -> Package {
    Package {
        ecosystem: ecosystem.into(),
        name: name.into(),
        version: version.into(),
        source_name: None,
        source_version: None,
        architecture: None,
        purl,
        licenses: vec![license],
        files: Vec::new(),
        locations: vec![location],
        checksums: Vec::new(),
        download_location: None,
    }
}

/// Text from bytes; invalid UTF-8 is replaced, with a warning naming the path.
pub(crate) fn text(bytes: Vec<u8>, path: &str, warnings: &mut Vec<String>) -> String {
    match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            warnings.push(format!("{path}: not UTF-8 text; invalid bytes replaced"));
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    }
}
