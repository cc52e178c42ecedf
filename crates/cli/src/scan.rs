//! `pare scan`, `pare diff`, `pare vex`: match inventories against the vulnerability database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use pare_sbom::Inventory;
use pare_vuln::report::{self, DatabaseSummary, Gate, ReportFormat, ScanOptions};
use pare_vuln::{Lookup, Severity};

use crate::args::{Format, GlobalArgs, LimitArgs, PlatformArg};
use crate::commands::{Input, open_image, to_limits};
use crate::output::Printer;

pub(crate) const SCAN_ABOUT: &str = "Find known vulnerabilities in an image, a directory or an SBOM.\n\n\
SRC is any image location (see `pare --help`), a directory (read as a root filesystem), or an SBOM file \
(SPDX 2.x JSON or tag-value, CycloneDX JSON, from pare, syft or trivy; detected by content). A path that \
exists is never a registry reference. Debian packages are matched by source package and \
source version in the image's release (from /etc/os-release or the SBOM's `distro`), against the Debian \
Security Tracker data and DSA/DLA advisories; other packages by name and version against OSV records.\n\n\
Findings are grouped by severity. Severity comes from CVSS where the data has a score, else from the \
distribution's urgency (labelled as such); a finding with neither is `unknown`, and `--fail-on` counts \
it as failing unless `--allow-unknown` is given. VEX statements (`--vex`, OpenVEX or CycloneDX VEX) that \
say `not_affected` or `fixed` suppress a finding: it stays in the report, marked, with the statement's \
author and justification.\n\n\
Exit status: 0 no failing findings, 1 findings at or above --fail-on remain after VEX, 2 errors.\n\n\
Examples:\n    pare db update\n    pare scan oci:./out:app\n    pare scan sbom.spdx.json --fail-on high --vex triage.openvex.json\n    \
pare scan oci:./out:app --format sarif -o pare.sarif";

#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Image location, directory, or SBOM file (SPDX JSON or tag-value, CycloneDX JSON)
    pub src: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with status 1 when open findings at or above SEVERITY remain (critical, high, medium, low)
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// With --fail-on: do not count findings of unknown severity as failing
    #[arg(long)]
    pub allow_unknown: bool,
    /// Report only findings that have a fixed version
    #[arg(long, visible_alias = "ignore-unfixed")]
    pub only_fixed: bool,
    /// Apply the statements of a VEX document (OpenVEX or CycloneDX VEX); repeatable
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// The distribution release, when the image or SBOM does not say (debian-12, bookworm, debian:13)
    #[arg(long, value_name = "DISTRO")]
    pub distro: Option<String>,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub platform: PlatformArg,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DbArg {
    /// The vulnerability database (default: $PARE_VULN_DB, else vuln.db in the cache directory)
    #[arg(long = "db", value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Warn when the database is older than this (e.g. 36h, 7d)
    #[arg(long, value_name = "AGE", default_value = "7d", value_parser = parse_age)]
    pub max_db_age: std::time::Duration,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFormat {
    /// Findings grouped by severity
    Table,
    /// pare's JSON report
    Json,
    /// SARIF 2.1.0 (GitHub code scanning)
    Sarif,
    /// CycloneDX 1.6 with vulnerabilities
    Cyclonedx,
}

fn parse_severity(value: &str) -> Result<Severity, String> {
    match value.parse::<Severity>()? {
        Severity::Unknown | Severity::Negligible => {
            Err("expected critical, high, medium or low (unknown findings fail unless --allow-unknown)".into())
        }
        s => Ok(s),
    }
}

fn parse_age(value: &str) -> Result<std::time::Duration, String> {
    let value = value.trim();
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("`{value}`: expected a number and a unit, like 7d or 36h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" | "" => n * 3600,
        "d" => n * 86400,
        "w" => n * 7 * 86400,
        _ => return Err(format!("`{value}`: unknown unit `{unit}` (s, m, h, d, w)")),
    };
    Ok(std::time::Duration::from_secs(seconds))
}

/// The database path: `--db`, else `$PARE_VULN_DB`, else the default in the cache directory.
pub(crate) fn db_path(arg: &DbArg) -> PathBuf {
    arg.path.clone().unwrap_or_else(pare_vuln::db::default_path)
}

/// Opens the database, warning when it is old.
pub(crate) fn open_db(printer: &Printer, arg: &DbArg) -> Result<(pare_vuln::Database, DatabaseSummary)> {
    let path = db_path(arg);
    if !path.exists() {
        bail!(
            "no vulnerability database at {}\nhint: run `pare db update` (or `pare db update --from DIR` offline), \
             or pass --db PATH",
            path.display()
        );
    }
    let db = pare_vuln::Database::open(&path)?;
    let info = db.info();
    let built = info.built_at;
    let age = jiff::Timestamp::now().duration_since(built);
    if !age.is_negative() && age.unsigned_abs() > arg.max_db_age {
        printer.warn(&format!(
            "the vulnerability database {} was built {} ({} days ago); newer advisories are missing: run `pare db update`",
            path.display(),
            built.strftime("%Y-%m-%d %H:%M UTC"),
            age.as_secs() / 86400
        ));
    }
    let summary = DatabaseSummary {
        path: path.display().to_string(),
        built_at: built.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        sources: info.sources.iter().map(|s| format!("{} ({})", s.kind, s.location)).collect(),
    };
    Ok((db, summary))
}

/// What SRC names (an SBOM file, a directory, or an image), parsed before anything slow is done.
fn parse_src(src: &str) -> Result<Input> {
    crate::commands::input(src).map_err(|e| match e {
        pare_oci::Error::InvalidLocation { .. } | pare_oci::Error::InvalidReference { .. } => anyhow!(
            "{e}\nhint: SRC is an image location (oci:DIR, docker-archive:FILE, …), a directory, or an SBOM file"
        ),
        e => e.into(),
    })
}

/// The inventory of SRC: an SBOM file, a directory, or an image.
pub(crate) fn inventory_of(
    global: &GlobalArgs,
    printer: &Printer,
    src: &str,
    platform: &PlatformArg,
    limits: &LimitArgs,
) -> Result<Inventory> {
    match parse_src(src)? {
        Input::File(path) => {
            let read = read_sbom_file(&path)?;
            for w in &read.warnings {
                printer.warn(w);
            }
            Ok(read.inventory)
        }
        Input::Image(location) => {
            let image = open_image(global, printer, &location, platform)?;
            let cache = pare_sbom::LayerCache::from_env();
            let (view, catalog) = pare_sbom::catalog_image(&image, &to_limits(limits), src, cache.as_ref())?;
            for warning in view.warnings().iter().chain(&catalog.warnings) {
                printer.warn(warning);
            }
            Ok(catalog.inventory)
        }
    }
}

/// Opens SRC as a scan subject (an image, or the inventory of an SBOM file) and hands it to `run`.
fn with_subject<T>(
    global: &GlobalArgs,
    printer: &Printer,
    src: &str,
    input: Input,
    platform: &PlatformArg,
    limits: &LimitArgs,
    run: impl FnOnce(pare_vuln::Subject<'_>) -> Result<T>,
) -> Result<T> {
    let location = match input {
        Input::Image(location) => location,
        Input::File(path) => {
            let read = read_sbom_file(&path)?;
            for w in &read.warnings {
                printer.warn(w);
            }
            return run(pare_vuln::Subject::Inventory(Box::new(read.inventory)));
        }
    };
    let image = open_image(global, printer, &location, platform)?;
    let cache = pare_sbom::LayerCache::from_env();
    let limits = to_limits(limits);
    run(pare_vuln::Subject::Image { image: &image, name: src, limits: &limits, cache: cache.as_ref() })
}

/// Reads an SBOM file (SPDX JSON or tag-value, CycloneDX JSON, pare's JSON; the format from the content).
pub(crate) fn read_sbom_file(path: &Path) -> Result<pare_sbom::ReadSbom> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut bytes = Vec::new();
    // One byte over the cap, so the reader can say the file is too large.
    file.take(pare_sbom::MAX_SBOM_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(pare_sbom::read(&bytes, &path.display().to_string())?)
}

fn read_vex(paths: &[PathBuf], printer: &Printer) -> Result<Vec<pare_vuln::vex::Statement>> {
    let mut statements = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).with_context(|| format!("reading VEX document {}", path.display()))?;
        let doc = pare_vuln::vex::read(&bytes, &path.display().to_string())?;
        for w in &doc.warnings {
            printer.warn(w);
        }
        statements.extend(doc.statements);
    }
    Ok(statements)
}

pub(crate) fn scan(global: &GlobalArgs, printer: &Printer, args: &ScanArgs) -> Result<ExitCode> {
    let input = parse_src(&args.src)?;
    let statements = read_vex(&args.vex, printer)?;
    let (db, summary) = open_db(printer, &args.db)?;
    let options = ScanOptions {
        matching: pare_vuln::matcher::MatchOptions { release: args.distro.clone() },
        only_fixed: args.only_fixed,
        vex: statements,
    };
    let mut report = with_subject(global, printer, &args.src, input, &args.platform, &args.limits, |subject| {
        Ok(pare_vuln::scan(subject, &db as &dyn Lookup, &options)?)
    })?;
    report.database = Some(summary);
    if report.own_vex > 0 {
        printer.status(&format!(
            "{} Go findings marked not_affected: their vulnerable code is not linked into the binaries (pare's own VEX)",
            report.own_vex
        ));
    }
    for w in &report.warnings {
        printer.warn(w);
    }
    let format = match args.format {
        ScanFormat::Table => ReportFormat::Table,
        ScanFormat::Json => ReportFormat::Json,
        ScanFormat::Sarif => ReportFormat::Sarif,
        ScanFormat::Cyclonedx => ReportFormat::CycloneDx,
    };
    let bytes = report::write(&report, format)?;
    match &args.output {
        Some(path) => {
            pare_oci::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            printer.status(&format!("Wrote {} findings to {}", report.findings.len(), path.display()));
        }
        None => printer.out_bytes(&bytes)?,
    }
    if let Some(fail_on) = args.fail_on {
        let failing = report.failing(Gate { fail_on, allow_unknown: args.allow_unknown });
        if !failing.is_empty() {
            let unknown = failing.iter().filter(|f| f.severity == Severity::Unknown).count();
            printer.status(&format!(
                "scan failed: {} open findings at or above {fail_on}{}",
                failing.len(),
                if unknown > 0 {
                    format!(" ({unknown} of unknown severity, counted as failing; --allow-unknown to accept them)")
                } else {
                    String::new()
                }
            ));
            for f in failing.iter().take(10) {
                let esc = pare_oci::escape_control;
                printer.status(&format!(
                    "  {} {} in {} {}{}",
                    f.severity,
                    esc(&f.id),
                    esc(&f.package.name),
                    esc(&f.package.version),
                    if f.fixed_versions.is_empty() {
                        String::from(", no fix yet")
                    } else {
                        format!(", fixed in {}", f.fixed_versions.join(", "))
                    }
                ));
            }
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) const DIFF_ABOUT: &str = "Compare two images (or SBOMs): packages added, removed and changed, and \
vulnerabilities gained and lost (the case for minimal bases, on your own images). Vulnerabilities are compared \
when a database exists (`pare db update`).\n\n\
Example:\n    pare diff docker-archive:debian.tar oci:./out:app";

#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    /// The old image, directory or SBOM
    pub old: String,
    /// The new image, directory or SBOM
    pub new: String,
    #[command(flatten)]
    pub format: crate::args::FormatArg,
    /// The distribution release, when an image or SBOM does not say
    #[arg(long, value_name = "DISTRO")]
    pub distro: Option<String>,
    /// Apply the statements of a VEX document to both sides, as `pare scan --vex` does; repeatable
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Compare only findings that have a fixed version
    #[arg(long, visible_alias = "ignore-unfixed")]
    pub only_fixed: bool,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub platform: PlatformArg,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub(crate) fn diff(global: &GlobalArgs, printer: &Printer, args: &DiffArgs) -> Result<ExitCode> {
    let (old_input, new_input) = (parse_src(&args.old)?, parse_src(&args.new)?);
    let statements = read_vex(&args.vex, printer)?;
    let db = if db_path(&args.db).exists() {
        Some(open_db(printer, &args.db)?.0)
    } else {
        if !args.vex.is_empty() {
            bail!("--vex needs a vulnerability database\nhint: run `pare db update` (or pass --db PATH)");
        }
        printer.warn(
            "no vulnerability database: comparing packages only (run `pare db update` to compare vulnerabilities)",
        );
        None
    };
    let options = ScanOptions {
        matching: pare_vuln::matcher::MatchOptions { release: args.distro.clone() },
        only_fixed: args.only_fixed,
        vex: statements,
    };
    let lookup = db.as_ref().map(|db| db as &dyn Lookup);
    let mut diff = with_subject(global, printer, &args.old, old_input, &args.platform, &args.limits, |old| {
        with_subject(global, printer, &args.new, new_input, &args.platform, &args.limits, |new| {
            Ok(pare_vuln::diff(old, new, lookup, &options)?)
        })
    })?;
    for w in &diff.warnings {
        printer.warn(w);
    }
    diff.old.name = args.old.clone();
    diff.new.name = args.new.clone();
    let value = serde_json::to_value(&diff)?;
    match args.format.format {
        Format::Json => printer.json(&value)?,
        Format::Table => printer.out(&diff_table(&value))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn diff_table(value: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    // Names and versions come from images and SBOMs: control characters are shown escaped.
    let s = |v: &serde_json::Value| {
        v.as_str().map(|t| pare_oci::escape_control(t).into_owned()).unwrap_or_else(|| v.to_string())
    };
    let list = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({} packages) → {} ({} packages)",
        s(&value["old"]["name"]),
        value["old"]["packages"],
        s(&value["new"]["name"]),
        value["new"]["packages"]
    );
    let packages = &value["packages"];
    for (title, key) in [("added", "added"), ("removed", "removed")] {
        let items = list(&packages[key]);
        let _ = writeln!(out, "\nPackages {title} ({})", items.len());
        for p in items {
            let _ =
                writeln!(out, "  {} {} {}", if key == "added" { "+" } else { "-" }, s(&p["name"]), s(&p["version"]));
        }
    }
    let changed = list(&packages["changed"]);
    let _ = writeln!(out, "\nPackages changed ({})", changed.len());
    for p in changed {
        let _ = writeln!(out, "  ~ {} {} → {}", s(&p["name"]), s(&p["old"]), s(&p["new"]));
    }
    match value.get("vulnerabilities").filter(|v| !v.is_null()) {
        Some(v) => {
            let _ = writeln!(out, "\nVulnerabilities: {} → {}", v["old"], v["new"]);
            for (title, key, sign) in [("gained", "gained", "+"), ("lost", "lost", "-")] {
                let items = list(&v[key]);
                let _ = writeln!(out, "\nVulnerabilities {title} ({})", items.len());
                for f in items {
                    let _ = writeln!(
                        out,
                        "  {sign} {} {} in {} {}",
                        s(&f["severity"]),
                        s(&f["id"]),
                        s(&f["package"]),
                        s(&f["version"])
                    );
                }
            }
        }
        None => {
            let _ = writeln!(out, "\nVulnerabilities: not compared (no database; run `pare db update`)");
        }
    }
    out
}

pub(crate) const VEX_ABOUT: &str = "Write a triage decision as an OpenVEX 0.2 statement.\n\n\
Creates FILE (or prints a new document) or adds the statement to an existing OpenVEX document, \
raising its version. `pare scan --vex FILE` then applies it: not_affected and fixed suppress the \
finding, which stays in the report with this statement's author and justification.\n\n\
Example:\n    pare vex --vulnerability CVE-2024-6387 --product pkg:deb/debian/openssh-client \\\n        \
--status not_affected --justification vulnerable_code_not_in_execute_path --file triage.openvex.json";

#[derive(Args, Debug, Clone)]
pub struct VexArgs {
    /// The vulnerability (CVE-…, GHSA-…)
    #[arg(long, value_name = "ID")]
    pub vulnerability: String,
    /// A product the statement is about: a package purl, or an image (pkg:oci/…@sha256:…); repeatable
    #[arg(long, value_name = "ID", required = true)]
    pub product: Vec<String>,
    /// A package inside the product the statement is about (purl); repeatable
    #[arg(long, value_name = "PURL")]
    pub subcomponent: Vec<String>,
    /// not_affected, affected, fixed or under_investigation
    #[arg(long)]
    pub status: String,
    /// Why not_affected: component_not_present, vulnerable_code_not_present,
    /// vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary,
    /// inline_mitigations_already_exist
    #[arg(long)]
    pub justification: Option<String>,
    /// Free text on why the product is not affected
    #[arg(long)]
    pub impact_statement: Option<String>,
    /// What users should do (required for affected)
    #[arg(long)]
    pub action_statement: Option<String>,
    /// Who makes the statement (default: $USER)
    #[arg(long)]
    pub author: Option<String>,
    /// The OpenVEX document to create or add to (default: print a new document)
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub(crate) fn vex(printer: &Printer, args: &VexArgs) -> Result<ExitCode> {
    let statement = pare_vuln::vex::NewStatement {
        vulnerability: args.vulnerability.clone(),
        products: args.product.clone(),
        subcomponents: args.subcomponent.clone(),
        status: args.status.clone(),
        justification: args.justification.clone(),
        impact_statement: args.impact_statement.clone(),
        action_statement: args.action_statement.clone(),
    };
    let author = args.author.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
    let now = match pare_oci::source_date_epoch()? {
        Some(seconds) => jiff::Timestamp::from_second(seconds as i64).context("SOURCE_DATE_EPOCH is out of range")?,
        None => jiff::Timestamp::now(),
    };
    let existing = match &args.file {
        Some(path) if path.exists() => {
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        _ => None,
    };
    let location = args.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let doc =
        pare_vuln::vex::add_statement(existing.as_deref().map(|b| (b, location.as_str())), &statement, &author, now)?;
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    match &args.file {
        Some(path) => {
            pare_oci::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            printer.status(&format!(
                "{} {}: {} for {}",
                path.display(),
                if existing.is_some() { "updated" } else { "written" },
                args.status,
                args.vulnerability
            ));
        }
        None => printer.out_bytes(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}
