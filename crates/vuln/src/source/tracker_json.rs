//! The Debian Security Tracker's `/tracker/data/json`: source package → CVE → per-release status.
//! One `Advisory` per CVE (origin `DebianTracker`), with an `Affected` per package and release.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::Parsed;
use crate::error::{Error, Result};
use crate::model::{Advisory, Affected, Ecosystem, Event, Origin, Range, RangeKind, Status};

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    description: Option<String>,
    /// A map of release → `Release`; the tracker writes `[]` when there is none. Kept as a value so
    /// one odd release is one warning, not a failed file.
    #[serde(default)]
    releases: serde_json::Value,
}

#[derive(Deserialize)]
struct Release {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa: Option<String>,
    #[serde(default)]
    nodsa_reason: Option<String>,
}

pub(crate) fn parse(location: &str, bytes: &[u8], parsed: &mut Parsed) -> Result<()> {
    let data: HashMap<String, HashMap<String, Entry>> = serde_json::from_slice(bytes).map_err(|e| {
        Error::malformed(
            format!("{location}:{}:{}", e.line(), e.column()),
            format!("not the tracker's JSON (package → CVE → {{description, releases}}): {e}"),
        )
    })?;
    let mut by_cve: BTreeMap<String, Advisory> = BTreeMap::new();
    let mut packages: Vec<&String> = data.keys().collect();
    packages.sort();
    for package in packages {
        let Some(cves) = data.get(package) else { continue };
        let mut ids: Vec<&String> = cves.keys().collect();
        ids.sort();
        for id in ids {
            let Some(entry) = cves.get(id) else { continue };
            let advisory = by_cve.entry(id.clone()).or_insert_with(|| Advisory {
                id: id.clone(),
                aliases: Vec::new(),
                related: Vec::new(),
                origin: Origin::DebianTracker,
                summary: entry.description.clone().filter(|d| !d.is_empty()),
                published: None,
                modified: None,
                cvss: Vec::new(),
                severity: None,
                references: Vec::new(),
                affected: Vec::new(),
            });
            let releases = match &entry.releases {
                serde_json::Value::Object(map) => map,
                serde_json::Value::Array(a) if a.is_empty() => continue,
                serde_json::Value::Null => continue,
                other => {
                    parsed
                        .warnings
                        .push(format!("{location}: {package} {id}: `releases` is {other}, not a map; skipped"));
                    continue;
                }
            };
            for (release, r) in releases {
                let r: Release = match serde_json::from_value(r.clone()) {
                    Ok(r) => r,
                    Err(e) => {
                        parsed.warnings.push(format!("{location}: {package} {id} {release}: {e}; skipped"));
                        continue;
                    }
                };
                match affected(package, release, &r) {
                    Ok(a) => advisory.affected.push(a),
                    Err(m) => parsed.warnings.push(format!("{location}: {package} {id} {release}: {m}")),
                }
            }
        }
    }
    parsed.advisories.extend(by_cve.into_values());
    Ok(())
}

fn affected(package: &str, release: &str, r: &Release) -> Result<Affected, String> {
    let fixed = r.fixed_version.as_deref().filter(|v| !v.is_empty());
    let mut ranges = Vec::new();
    let status = match (r.status.as_deref(), fixed) {
        (_, _) if r.urgency.as_deref() == Some("end-of-life") => Status::EndOfLife,
        (Some("resolved"), Some("0")) => Status::NotAffected,
        (Some("resolved"), Some(v)) => {
            ranges.push(Range {
                kind: RangeKind::Ecosystem,
                events: vec![Event::Introduced("0".into()), Event::Fixed(v.to_string())],
            });
            Status::Fixed
        }
        (Some("resolved"), None) => return Err("status resolved without a fixed_version; skipped".into()),
        (Some("open"), _) if r.nodsa.is_some() || r.nodsa_reason.is_some() => Status::WontFix,
        (Some("open"), _) => Status::Unfixed,
        (Some("undetermined"), _) => Status::Undetermined,
        (other, _) => return Err(format!("unknown status {other:?} (expected resolved, open, undetermined); skipped")),
    };
    let note = match (r.nodsa.as_deref().filter(|s| !s.is_empty()), r.nodsa_reason.as_deref()) {
        (Some(n), Some(reason)) => Some(format!("no-dsa ({reason}): {n}")),
        (Some(n), None) => Some(format!("no-dsa: {n}")),
        (None, Some(reason)) => Some(format!("no-dsa ({reason})")),
        (None, None) => None,
    };
    Ok(Affected {
        ecosystem: Ecosystem::Debian,
        release: Some(release.to_string()),
        package: package.to_string(),
        status,
        ranges,
        versions: Vec::new(),
        urgency: r.urgency.clone().filter(|u| !u.is_empty()),
        note,
        imports: Vec::new(),
    })
}
