//! Java: `META-INF/maven/GROUP/ARTIFACT/pom.properties` inside jar, war and ear files, nested
//! archives included (to a depth cap). Every inflation is capped by bytes actually inflated,
//! never by the sizes the zip declares.

use std::io::{Cursor, Read};

/// Nested archives opened below the outer one (`a.war!lib/b.jar!c.jar` is depth 2).
pub(crate) const MAX_DEPTH: usize = 4;
/// Largest nested archive inflated into memory.
const MAX_NESTED: u64 = 64 << 20;
/// Largest `pom.properties` read.
const MAX_PROPERTIES: u64 = 1 << 20;
/// Bytes inflated in total for one outer archive and everything inside it.
const MAX_TOTAL: u64 = 256 << 20;
/// Entries looked at in one archive.
const MAX_ENTRIES: usize = 200_000;

/// One `pom.properties` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Artifact {
    pub group: String,
    pub artifact: String,
    pub version: String,
    /// `outer.jar!inner.jar!META-INF/maven/…/pom.properties`, relative to the outer archive.
    pub path: String,
}

/// Whether a path names a Java archive.
pub(crate) fn is_archive(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar", ".nar"].iter().any(|e| lower.ends_with(e))
}

/// Reads the artifacts of an archive's bytes; problems become warnings prefixed with `label`.
pub(crate) fn read(bytes: &[u8], label: &str, warnings: &mut Vec<String>) -> Vec<Artifact> {
    let mut out = Vec::new();
    let mut budget = MAX_TOTAL;
    walk(bytes, label, "", 0, &mut budget, &mut out, warnings);
    out
}

fn walk(
    bytes: &[u8],
    label: &str,
    prefix: &str,
    depth: usize,
    budget: &mut u64,
    out: &mut Vec<Artifact>,
    warnings: &mut Vec<String>,
) {
    let here = if prefix.is_empty() { label.to_string() } else { format!("{label}!{prefix}") };
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            warnings.push(format!("{here}: not a readable zip archive: {e}"));
            return;
        }
    };
    if archive.len() > MAX_ENTRIES {
        warnings.push(format!("{here}: {} entries, more than {MAX_ENTRIES}: only the first are read", archive.len()));
    }
    for index in 0..archive.len().min(MAX_ENTRIES) {
        let mut entry = match archive.by_index(index) {
            Ok(e) => e,
            Err(e) => {
                warnings.push(format!("{here}: entry {index} unreadable: {e}"));
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let name = match entry.name() {
            Ok(n) => n.into_owned(),
            Err(_) => {
                let n = String::from_utf8_lossy(entry.name_raw()).into_owned();
                warnings.push(format!("{here}!{n}: entry name is not valid text; invalid bytes replaced"));
                n
            }
        };
        let nested = is_archive(&name);
        if !nested && !is_pom_properties(&name) {
            continue;
        }
        if nested && depth >= MAX_DEPTH {
            warnings.push(format!("{here}!{name}: nested deeper than {MAX_DEPTH} archives: not opened"));
            continue;
        }
        let cap = (if nested { MAX_NESTED } else { MAX_PROPERTIES }).min(*budget);
        let mut data = Vec::new();
        let result = (&mut entry).take(cap + 1).read_to_end(&mut data);
        *budget = budget.saturating_sub(data.len() as u64);
        if let Err(e) = result {
            warnings.push(format!("{here}!{name}: cannot inflate: {e}"));
            continue;
        }
        if data.len() as u64 > cap {
            warnings.push(format!(
                "{here}!{name}: inflates past {cap} bytes (a zip bomb or an oversized entry): skipped; \
                 the rest of the archive is still read"
            ));
            if *budget == 0 {
                warnings.push(format!("{label}: {MAX_TOTAL} bytes inflated in total: stopping"));
                return;
            }
            continue;
        }
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}!{name}") };
        if nested {
            walk(&data, label, &path, depth + 1, budget, out, warnings);
        } else {
            let text = String::from_utf8_lossy(&data);
            match parse_properties(&text) {
                Some((group, artifact, version)) => out.push(Artifact { group, artifact, version, path }),
                None => warnings.push(format!("{here}!{name}: no groupId, artifactId and version: skipped")),
            }
        }
    }
}

fn is_pom_properties(name: &str) -> bool {
    name.strip_prefix("META-INF/maven/")
        .and_then(|r| r.strip_suffix("/pom.properties"))
        .is_some_and(|ga| ga.split('/').count() == 2)
}

/// `groupId`, `artifactId`, `version` from Java properties (`key=value` or `key: value`, `#` comments).
pub(crate) fn parse_properties(text: &str) -> Option<(String, String, String)> {
    let (mut g, mut a, mut v) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(['#', '!']) {
            continue;
        }
        let Some(split) = line.find(['=', ':']) else { continue };
        let (key, value) = (line[..split].trim(), line[split + 1..].trim().to_string());
        match key {
            "groupId" => g = Some(value),
            "artifactId" => a = Some(value),
            "version" => v = Some(value),
            _ => {}
        }
    }
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    Some((nonempty(g)?, nonempty(a)?, nonempty(v)?))
}

pub(crate) fn purl(a: &Artifact) -> Option<String> {
    crate::lang::purl("maven", Some(&a.group), &a.artifact, &a.version, &[])
}
