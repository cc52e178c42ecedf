//! A scan's result and its writers: a table grouped by severity, pare's JSON, SARIF 2.1.0 and
//! CycloneDX 1.6 with `vulnerabilities` (built with `serde_json`, like pare's SBOM writers: a small
//! fixed subset of each format, stable key order).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pare_sbom::Inventory;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::matcher::{Finding, MatchOptions, Matches, match_inventory};
use crate::model::Severity;
use crate::vex::{self, Statement, Subject};
use crate::{Lookup, Result};

/// What to scan with.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    pub matching: MatchOptions,
    /// Drop findings without a fixed version (`--only-fixed`, `--ignore-unfixed`).
    pub only_fixed: bool,
    /// VEX statements to apply.
    pub vex: Vec<Statement>,
}

/// The database a scan used, as reports show it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DatabaseSummary {
    pub path: String,
    pub built_at: String,
    pub sources: Vec<String>,
}

/// Everything a scan found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub subject: pare_sbom::Subject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseSummary>,
    pub packages: usize,
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
    /// The inventory scanned (not serialized: the CycloneDX writer needs its components).
    #[serde(skip)]
    pub inventory: Option<Inventory>,
    /// Findings pare's own VEX marked `not_affected` (Go code not linked); each carries its statement.
    #[serde(skip)]
    pub own_vex: usize,
}

/// Matches `inventory`, applies the user's VEX and filters: the inventory step of [`crate::scan`], which
/// also applies pare's own VEX when it has the image.
pub fn assess(inventory: &Inventory, lookup: &dyn Lookup, options: &ScanOptions) -> Result<Report> {
    let Matches { mut findings, mut warnings, release, .. } = match_inventory(inventory, lookup, &options.matching)?;
    if options.only_fixed {
        findings.retain(Finding::has_fix);
    }
    let subject = Subject { name: Some(inventory.subject.name.clone()), digest: inventory.subject.digest.clone() };
    warnings.extend(vex::apply(&mut findings, &options.vex, &subject));
    let distro = inventory.os.as_ref().and_then(|os| os.pretty_name.clone()).or(release);
    Ok(Report {
        subject: inventory.subject.clone(),
        distro,
        database: None,
        packages: inventory.packages.len(),
        findings,
        warnings,
        inventory: Some(inventory.clone()),
        own_vex: 0,
    })
}

/// Which findings a `--fail-on` gate counts.
#[derive(Clone, Copy, Debug)]
pub struct Gate {
    pub fail_on: Severity,
    /// Without it, findings of unknown severity count as failing (fail closed).
    pub allow_unknown: bool,
}

impl Report {
    /// Findings not suppressed by VEX.
    pub fn open(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.suppressed())
    }

    /// The open findings that make the gate fail.
    pub fn failing(&self, gate: Gate) -> Vec<&Finding> {
        self.open()
            .filter(|f| if f.severity == Severity::Unknown { !gate.allow_unknown } else { f.severity >= gate.fail_on })
            .collect()
    }

    /// Open findings per severity, highest first.
    pub fn counts(&self) -> BTreeMap<std::cmp::Reverse<Severity>, usize> {
        let mut counts = BTreeMap::new();
        for f in self.open() {
            *counts.entry(std::cmp::Reverse(f.severity)).or_insert(0) += 1;
        }
        counts
    }
}

/// Output formats of a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Json,
    Sarif,
    CycloneDx,
}

/// Writes a report; JSON formats end with a newline.
pub fn write(report: &Report, format: ReportFormat) -> Result<Vec<u8>> {
    let value = match format {
        ReportFormat::Table => return Ok(table(report).into_bytes()),
        ReportFormat::Json => serde_json::to_value(report).map_err(json_error)?,
        ReportFormat::Sarif => sarif(report),
        ReportFormat::CycloneDx => cyclonedx(report)?,
    };
    let mut bytes = serde_json::to_vec_pretty(&value).map_err(json_error)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn json_error(e: serde_json::Error) -> crate::Error {
    crate::Error::malformed("report", e.to_string())
}

fn fixed_text(f: &Finding) -> String {
    if f.fixed_versions.is_empty() {
        match f.status {
            crate::Status::WontFix => "(won't fix)".into(),
            crate::Status::EndOfLife => "(end of life)".into(),
            crate::Status::Undetermined => "(undetermined)".into(),
            _ => "(no fix yet)".into(),
        }
    } else {
        f.fixed_versions.join(", ")
    }
}

/// The installed version as advisories compare it (Debian: the source version, if it differs).
fn installed_text(f: &Finding) -> String {
    match (&f.package.source_name, &f.package.source_version) {
        (Some(name), Some(version)) if *version != f.package.version => {
            format!("{} (source {name} {version})", f.package.version)
        }
        (Some(name), Some(_)) if *name != f.package.name => format!("{} ({name})", f.package.version),
        _ => f.package.version.clone(),
    }
}

fn table(report: &Report) -> String {
    // Names, versions, ids and VEX text come from images and documents: no control character is shown raw.
    let esc = |s: &str| pare_sbom::escape_control(s).into_owned();
    let mut out = String::new();
    let open: Vec<&Finding> = report.open().collect();
    let suppressed: Vec<&Finding> = report.findings.iter().filter(|f| f.suppressed()).collect();
    let _ = writeln!(
        out,
        "{}{}: {} packages, {} vulnerabilities ({} suppressed by VEX)",
        esc(&report.subject.name),
        report.distro.as_deref().map(|d| format!(" ({})", esc(d))).unwrap_or_default(),
        report.packages,
        open.len(),
        suppressed.len()
    );
    if let Some(db) = &report.database {
        let _ = writeln!(out, "database: {} (built {})", esc(&db.path), esc(&db.built_at));
    }
    for severity in
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Negligible, Severity::Unknown]
    {
        let group: Vec<&&Finding> = open.iter().filter(|f| f.severity == severity).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{} ({})", severity.as_str().to_ascii_uppercase(), group.len());
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::NOTHING);
        table.set_header(["PACKAGE", "INSTALLED", "FIXED IN", "VULNERABILITY", "STATUS", "SEVERITY FROM", "ALIASES"]);
        for f in group {
            table.add_row(
                [
                    f.package.name.clone(),
                    installed_text(f),
                    fixed_text(f),
                    f.id.clone(),
                    f.vex
                        .as_ref()
                        .map_or_else(|| f.status.to_string(), |v| format!("{} (VEX: {})", f.status, v.status)),
                    f.severity_source.label(),
                    f.aliases.join(" "),
                ]
                .map(|cell| esc(&cell)),
            );
        }
        let _ = writeln!(out, "{table}");
    }
    if !suppressed.is_empty() {
        let _ = writeln!(out, "\nSUPPRESSED BY VEX ({})", suppressed.len());
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::NOTHING);
        table.set_header([
            "PACKAGE",
            "INSTALLED",
            "VULNERABILITY",
            "SEVERITY",
            "VEX STATUS",
            "JUSTIFICATION",
            "AUTHOR",
        ]);
        for f in suppressed {
            let vex = f.vex.as_ref();
            table.add_row(
                [
                    f.package.name.clone(),
                    f.package.version.clone(),
                    f.id.clone(),
                    f.severity.to_string(),
                    vex.map(|v| v.status.clone()).unwrap_or_default(),
                    vex.and_then(|v| v.justification.clone().or_else(|| v.impact_statement.clone()))
                        .unwrap_or_default(),
                    vex.and_then(|v| v.author.clone()).unwrap_or_default(),
                ]
                .map(|cell| esc(&cell)),
            );
        }
        let _ = writeln!(out, "{table}");
    }
    if report.findings.is_empty() {
        let _ = writeln!(out, "\nNo vulnerabilities found.");
    }
    out
}

/// SARIF's `level` for a severity.
fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        _ => "note",
    }
}

/// GitHub code scanning's `security-severity` property: a CVSS-like number.
fn security_severity(f: &Finding) -> String {
    match &f.severity_source {
        crate::matcher::SeveritySource::Cvss { score, .. } => format!("{score:.1}"),
        _ => match f.severity {
            Severity::Critical => "9.5",
            Severity::High => "8.0",
            Severity::Medium => "5.5",
            Severity::Low => "2.0",
            Severity::Negligible => "0.1",
            // Unknown is ranked high on purpose: the gate fails closed on it too.
            Severity::Unknown => "7.0",
        }
        .to_string(),
    }
}

fn help_uri(id: &str) -> String {
    if id.starts_with("CVE-") || id.starts_with("TEMP-") {
        format!("https://security-tracker.debian.org/tracker/{id}")
    } else {
        format!("https://osv.dev/vulnerability/{id}")
    }
}

/// SARIF 2.1.0: one rule per vulnerability, one result per (vulnerability, package); suppressed
/// findings carry an external suppression with the VEX justification. Locations are the package's
/// file in the image (the dpkg database entry), relative, as code scanning requires.
fn sarif(report: &Report) -> Value {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for f in &report.findings {
        rules.entry(f.id.clone()).or_insert_with(|| {
            let short = f.summary.clone().unwrap_or_else(|| format!("{} in {}", f.id, f.package.name));
            json!({
                "id": f.id,
                "name": f.id.replace('-', ""),
                "shortDescription": {"text": short},
                "fullDescription": {"text": format!("{} ({})", short, f.aliases.join(", "))},
                "helpUri": help_uri(&f.id),
                "help": {"text": format!("{}: see {}", f.id, help_uri(&f.id))},
                "properties": {
                    "security-severity": security_severity(f),
                    "tags": ["security", "vulnerability", f.severity.as_str()],
                },
            })
        });
        let path = f.package.path.clone().unwrap_or_else(|| format!("{}/{}", f.package.ecosystem, f.package.name));
        let message = format!(
            "{} {} in {} {}: {}, fixed in {}",
            f.severity,
            f.id,
            f.package.name,
            installed_text(f),
            f.status,
            fixed_text(f)
        );
        let mut result = json!({
            "ruleId": f.id,
            "level": sarif_level(f.severity),
            "message": {"text": message},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": path.trim_start_matches('/')},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [{"name": f.package.purl, "kind": "package"}],
            }],
            "partialFingerprints": {"packagePurlAndVulnerability": format!("{}#{}", f.package.purl, f.id)},
            "properties": {
                "package": f.package.name,
                "installedVersion": f.package.version,
                "fixedVersions": f.fixed_versions,
                "status": f.status.as_str(),
                "aliases": f.aliases,
            },
        });
        if let Some(vex) = f.vex.as_ref().filter(|v| v.suppresses()) {
            result["suppressions"] = json!([{
                "kind": "external",
                "justification": vex.justification.clone().or_else(|| vex.impact_statement.clone())
                    .unwrap_or_else(|| vex.status.clone()),
            }]);
        }
        results.push(result);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pare",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/pare",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
            "properties": {"subject": report.subject.name, "digest": report.subject.digest},
        }],
    })
}

/// CycloneDX 1.6: the inventory's components plus `vulnerabilities` that point at them by bom-ref
/// (pare's SBOM writer uses the purl as bom-ref), with VEX decisions as `analysis`.
fn cyclonedx(report: &Report) -> Result<Value> {
    let inventory = report.inventory.clone().unwrap_or_else(|| Inventory {
        subject: report.subject.clone(),
        os: None,
        packages: Vec::new(),
        tool: pare_sbom::Tool::default(),
        created: None,
    });
    let bytes = pare_sbom::write(&inventory, pare_sbom::OutputFormat::CycloneDxJson)
        .map_err(|e| crate::Error::malformed("report", e.to_string()))?;
    let mut doc: Value = serde_json::from_slice(&bytes).map_err(json_error)?;
    let mut vulns = Vec::new();
    for f in &report.findings {
        let mut v = Map::new();
        v.insert("bom-ref".into(), json!(format!("{}#{}", f.id, f.package.purl)));
        v.insert("id".into(), json!(f.id));
        let source_url = help_uri(&f.id);
        v.insert("source".into(), json!({"name": if f.id.starts_with("CVE-") { "Debian Security Tracker" } else { "OSV" }, "url": source_url}));
        if !f.aliases.is_empty() {
            v.insert(
                "references".into(),
                Value::Array(f.aliases.iter().map(|a| json!({"id": a, "source": {"url": help_uri(a)}})).collect()),
            );
        }
        let mut rating = Map::new();
        match &f.severity_source {
            crate::matcher::SeveritySource::Cvss { version, vector, score } => {
                rating.insert("score".into(), json!(score));
                rating.insert("severity".into(), json!(cdx_severity(f.severity)));
                let method = match version.as_str() {
                    v if v.starts_with("4") => "CVSSv4",
                    v if v.starts_with("3.1") => "CVSSv31",
                    v if v.starts_with("3") => "CVSSv3",
                    _ => "CVSSv2",
                };
                rating.insert("method".into(), json!(method));
                rating.insert("vector".into(), json!(vector));
            }
            _ => {
                rating.insert("severity".into(), json!(cdx_severity(f.severity)));
                rating.insert("method".into(), json!("other"));
            }
        }
        v.insert("ratings".into(), Value::Array(vec![Value::Object(rating)]));
        if let Some(summary) = &f.summary {
            v.insert("description".into(), json!(summary));
        }
        if !f.fixed_versions.is_empty() {
            v.insert(
                "recommendation".into(),
                json!(format!("Upgrade {} to {}", f.package.name, f.fixed_versions.join(" or "))),
            );
        }
        if let Some(vex) = &f.vex {
            let mut analysis = Map::new();
            let state = match vex.status.as_str() {
                "not_affected" => "not_affected",
                "fixed" => "resolved",
                "affected" => "exploitable",
                _ => "in_triage",
            };
            analysis.insert("state".into(), json!(state));
            if let Some(j) = vex.justification.as_deref().and_then(cdx_justification) {
                analysis.insert("justification".into(), json!(j));
            }
            let detail = [
                vex.impact_statement.clone(),
                vex.action_statement.clone(),
                vex.author.clone().map(|a| format!("author: {a}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ");
            if !detail.is_empty() {
                analysis.insert("detail".into(), json!(detail));
            }
            v.insert("analysis".into(), Value::Object(analysis));
        }
        v.insert(
            "affects".into(),
            json!([{"ref": f.package.purl, "versions": [{"version": f.package.version, "status": "affected"}]}]),
        );
        vulns.push(Value::Object(v));
    }
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("vulnerabilities".into(), Value::Array(vulns));
    }
    Ok(doc)
}

fn cdx_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

/// OpenVEX justifications in CycloneDX's vocabulary (CycloneDX's own pass through).
fn cdx_justification(j: &str) -> Option<&'static str> {
    Some(match j {
        "component_not_present" | "vulnerable_code_not_present" | "code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" | "code_not_reachable" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" => "protected_by_mitigating_control",
        "inline_mitigations_already_exist" | "protected_by_mitigating_control" => "protected_by_mitigating_control",
        "requires_configuration" => "requires_configuration",
        "requires_dependency" => "requires_dependency",
        "requires_environment" => "requires_environment",
        "protected_by_compiler" => "protected_by_compiler",
        "protected_at_runtime" => "protected_at_runtime",
        "protected_at_perimeter" => "protected_at_perimeter",
        _ => return None,
    })
}
