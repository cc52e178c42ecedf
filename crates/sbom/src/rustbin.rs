//! Rust binaries built with `cargo auditable`: the zlib-compressed JSON in the `.dep-v0` section.

use std::io::Read;

use object::{Object, ObjectSection, ReadRef};
use serde::Deserialize;

/// Largest inflated `.dep-v0` JSON read (cargo-auditable itself caps it at 8 MiB).
const MAX_JSON: u64 = 8 << 20;

#[derive(Debug, Deserialize)]
struct VersionInfo {
    packages: Vec<AuditPackage>,
}

/// One crate of the dependency tree.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct AuditPackage {
    pub name: String,
    pub version: String,
    /// `crates.io`, `local`, `git`, `registry`, `other`.
    #[serde(default)]
    pub source: Option<String>,
    /// `build` or `runtime` (absent means runtime).
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub root: bool,
}

/// The crates in an executable's `.dep-v0` section. `Ok(None)`: no such section.
pub(crate) fn read<'data, R: ReadRef<'data>>(data: R) -> Result<Option<Vec<AuditPackage>>, String> {
    let Ok(file) = object::File::parse(data) else { return Ok(None) };
    let Some(section) = file.section_by_name(".dep-v0") else { return Ok(None) };
    let data = section.data().map_err(|e| format!("`.dep-v0` section unreadable: {e}"))?;
    parse_section(data).map(Some)
}

/// Inflates (capped) and parses the section's bytes.
pub(crate) fn parse_section(data: &[u8]) -> Result<Vec<AuditPackage>, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("`.dep-v0`: not zlib data: {e}"))?;
    if json.len() as u64 > MAX_JSON {
        return Err(format!("`.dep-v0` inflates past {MAX_JSON} bytes: not read"));
    }
    let info: VersionInfo = serde_json::from_slice(&json).map_err(|e| format!("`.dep-v0`: bad JSON: {e}"))?;
    Ok(info.packages)
}

pub(crate) fn purl(p: &AuditPackage) -> Option<String> {
    crate::lang::purl("cargo", None, &p.name, &p.version, &[])
}
