//! OSV records (<https://ossf.github.io/osv-schema/>): JSON, PyPA's YAML, and zip archives of either
//! (osv.dev's `<Ecosystem>/all.zip`). `affected` entries of ecosystems pare does not know are skipped
//! and counted; a record left with none is skipped (counted the same way).

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use super::Parsed;
use crate::error::{Error, Result};
use crate::model::{
    Advisory, Affected, Ecosystem, Event, GoImport, Origin, Range, RangeKind, Severity, Status, debian_codename,
};

/// Largest single record read out of a zip (the biggest real ones are a few MB).
const MAX_RECORD: u64 = 64 << 20;

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    related: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    severity: Option<Vec<SeverityEntry>>,
    #[serde(default)]
    affected: Option<Vec<AffectedEntry>>,
    #[serde(default)]
    references: Option<Vec<Reference>>,
    #[serde(default)]
    database_specific: Option<DatabaseSpecific>,
}

#[derive(Deserialize)]
struct SeverityEntry {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct DatabaseSpecific {
    #[serde(default)]
    severity: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct AffectedEntry {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    ranges: Option<Vec<RangeEntry>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    /// Free-form per ecosystem; only Go's `imports` is read (leniently).
    #[serde(default)]
    ecosystem_specific: Option<serde_json::Value>,
}

/// Go's `ecosystem_specific.imports`: `[{path, symbols?}]`. Entries that do not have that shape
/// are left out, and then the whole list is (a partial list would claim too much).
fn go_imports(value: Option<&serde_json::Value>) -> Vec<GoImport> {
    let Some(list) = value.and_then(|v| v.get("imports")).and_then(serde_json::Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in list {
        let Some(path) = entry.get("path").and_then(serde_json::Value::as_str).filter(|p| !p.is_empty()) else {
            return Vec::new();
        };
        let symbols = match entry.get("symbols") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => {
                let names: Vec<String> = items.iter().filter_map(|s| s.as_str().map(str::to_string)).collect();
                if names.len() != items.len() {
                    return Vec::new();
                }
                names
            }
            Some(_) => return Vec::new(),
        };
        out.push(GoImport { path: path.to_string(), symbols });
    }
    out
}

#[derive(Deserialize)]
struct Package {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RangeEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<BTreeMap<String, String>>,
}

/// One record, JSON or YAML (told apart by the first non-blank byte).
pub(crate) fn parse_record(location: &str, bytes: &[u8], parsed: &mut Parsed) -> Result<()> {
    let record = decode(location, bytes)?;
    convert(location, record, parsed)
}

fn decode(location: &str, bytes: &[u8]) -> Result<Record> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'{') {
        serde_json::from_slice(bytes).map_err(|e| {
            Error::malformed(format!("{location}:{}:{}", e.line(), e.column()), format!("not an OSV record: {e}"))
        })
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Error::malformed(location, format!("not UTF-8 at byte {}", e.valid_up_to())))?;
        serde_saphyr::from_str(text).map_err(|e| Error::malformed(location, format!("not an OSV YAML record: {e}")))
    }
}

/// Every `.json`/`.yaml` member of a zip archive; a member that does not parse is a warning.
pub(crate) fn parse_zip(location: &str, bytes: &[u8], parsed: &mut Parsed) -> Result<()> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::malformed(location, format!("not a readable zip archive: {e}")))?;
    for i in 0..archive.len() {
        let mut member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                parsed.warnings.push(format!("{location}: member {i}: {e}; skipped"));
                continue;
            }
        };
        let name = match member.name() {
            Ok(n) => n.to_string(),
            Err(e) => {
                parsed.warnings.push(format!("{location}: member {i}: unreadable name: {e}; skipped"));
                continue;
            }
        };
        let at = format!("{location}!{name}");
        if member.is_dir() || !(name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        if member.size() > MAX_RECORD {
            parsed.warnings.push(format!("{at}: {} bytes, over the {MAX_RECORD} byte cap; skipped", member.size()));
            continue;
        }
        let mut data = Vec::new();
        if let Err(e) = (&mut member).take(MAX_RECORD).read_to_end(&mut data) {
            parsed.warnings.push(format!("{at}: {e}; skipped"));
            continue;
        }
        if let Err(e) = parse_record(&at, &data, parsed) {
            parsed.warnings.push(format!("skipped: {e}"));
        }
    }
    Ok(())
}

fn convert(location: &str, r: Record, parsed: &mut Parsed) -> Result<()> {
    if r.id.trim().is_empty() {
        return Err(Error::malformed(location, "OSV record with an empty `id`"));
    }
    if r.withdrawn.is_some() {
        parsed.warnings.push(format!("{location}: {} is withdrawn; skipped", r.id));
        return Ok(());
    }
    let mut cvss = Vec::new();
    for s in r.severity.unwrap_or_default() {
        if !s.kind.starts_with("CVSS_V") {
            continue;
        }
        if s.kind == "CVSS_V2" {
            continue; // v2 vectors carry no score here and the `cvss` crate does not score them.
        }
        match super::cvss::score(&s.score) {
            Ok(c) => cvss.push(c),
            Err(m) => parsed.warnings.push(format!("{location}: {}: severity: {m}; ignored", r.id)),
        }
    }
    let severity = r
        .database_specific
        .and_then(|d| d.severity)
        .and_then(|v| v.as_str().map(str::to_string))
        .and_then(|s| s.parse::<Severity>().ok());
    let mut affected = Vec::new();
    let entries = r.affected.unwrap_or_default();
    let had_entries = !entries.is_empty();
    for (n, a) in entries.into_iter().enumerate() {
        let Some(package) = a.package else {
            parsed.warnings.push(format!("{location}: {}: affected[{n}] has no package; skipped", r.id));
            continue;
        };
        let (base, suffix) = match package.ecosystem.split_once(':') {
            Some((b, s)) => (b, Some(s)),
            None => (package.ecosystem.as_str(), None),
        };
        let Ok(ecosystem) = base.parse::<Ecosystem>() else {
            *parsed.unknown_ecosystems.entry(base.to_string()).or_default() += 1;
            continue;
        };
        let release = suffix.filter(|s| !s.is_empty()).map(|s| match ecosystem {
            Ecosystem::Debian => debian_codename(s).map(str::to_string).unwrap_or_else(|| s.to_string()),
            _ => s.to_string(),
        });
        let imports = if ecosystem == Ecosystem::Go { go_imports(a.ecosystem_specific.as_ref()) } else { Vec::new() };
        let mut ranges = Vec::new();
        let mut fixed = false;
        for range in a.ranges.unwrap_or_default() {
            let kind = match range.kind.as_str() {
                "ECOSYSTEM" => RangeKind::Ecosystem,
                "SEMVER" => RangeKind::Semver,
                "GIT" => RangeKind::Git,
                other => {
                    parsed.warnings.push(format!("{location}: {}: range type `{other}` unknown; ignored", r.id));
                    continue;
                }
            };
            let mut events = Vec::new();
            for event in range.events {
                for (k, v) in event {
                    events.push(match k.as_str() {
                        "introduced" => Event::Introduced(v),
                        "fixed" => {
                            fixed |= kind != RangeKind::Git;
                            Event::Fixed(v)
                        }
                        "last_affected" => Event::LastAffected(v),
                        "limit" => Event::Limit(v),
                        other => {
                            parsed.warnings.push(format!("{location}: {}: event `{other}` unknown; ignored", r.id));
                            continue;
                        }
                    });
                }
            }
            ranges.push(Range { kind, events });
        }
        affected.push(Affected {
            ecosystem,
            release,
            package: package.name,
            status: if fixed { Status::Fixed } else { Status::Unfixed },
            ranges,
            versions: a.versions.unwrap_or_default(),
            urgency: None,
            note: None,
            imports,
        });
    }
    if affected.is_empty() && had_entries {
        // Every entry was of an unknown ecosystem (counted) or had no package (warned).
        return Ok(());
    }
    let mut aliases = r.aliases.unwrap_or_default();
    aliases.retain(|a| *a != r.id);
    // Scores are known under the record's id and under each CVE it aliases.
    for id in std::iter::once(&r.id).chain(aliases.iter().filter(|a| a.starts_with("CVE-"))) {
        for c in &cvss {
            parsed.cvss.push((id.clone(), c.clone()));
        }
    }
    parsed.advisories.push(Advisory {
        id: r.id,
        aliases,
        related: r.related.unwrap_or_default(),
        origin: Origin::Osv,
        summary: r.summary.filter(|s| !s.is_empty()),
        published: r.published,
        modified: r.modified,
        cvss: cvss.clone(),
        severity,
        references: r.references.unwrap_or_default().into_iter().filter_map(|x| x.url).collect(),
        affected,
    });
    Ok(())
}
