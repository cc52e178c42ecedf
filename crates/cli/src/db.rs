//! `pare db update|status`: build the local vulnerability database and show what is in it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pare_vuln::db::{self, DbInfo, Progress};
use pare_vuln::{Database, SourceSpec};

use crate::args::{Format, FormatArg};
use crate::output::{Printer, human_size};

/// Warnings shown per source; the rest are counted.
const SHOWN_WARNINGS: usize = 10;

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Build the vulnerability database from the tracker, the DSA/DLA lists, OSV and CVE records
    #[command(long_about = "Build the local vulnerability database. Every source is read first; the new \
database is written into a temporary file beside the old one and renamed over it only when complete, so a \
failed download or an interrupted update leaves the previous database working.\n\n\
Without --source or --from the official endpoints are read: the Debian Security Tracker's JSON, its \
DSA and DLA lists, and osv.dev's PyPI, Go and crates.io archives. With either flag, exactly the sources \
given are read.\n\n\
KINDS\n    tracker-json   https://security-tracker.debian.org/tracker/data/json\n    \
dsa-list, dla-list   the tracker's data/DSA/list and data/DLA/list\n    \
osv            an OSV record (JSON or YAML), a directory of them, or a zip archive (osv.dev's all.zip)\n    \
cve            CVE JSON 5 or NVD API 2.0 records (their CVSS scores)\n\n\
Examples:\n    pare db update\n    pare db update --from ./DSA-list --from ./osv-go/ --from ./PyPI-all.zip\n    \
pare db update --source dsa-list=https://mirror.example/DSA/list --db ./vuln.db")]
    Update(UpdateArgs),
    /// Show when the database was built, from which sources, and what it holds
    #[command(long_about = "Show the database's build time, schema, each source (kind, location, records, \
SHA-256 of what was read, warnings) and advisories per origin and ecosystem.\n\nExample:\n    \
pare db status --format json")]
    Status {
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DbArg {
    /// Database file (default: $PARE_VULN_DB, else vuln.db in the pare cache directory)
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Read a source from a URL, as KIND=URL (repeatable; kinds: tracker-json, dsa-list, dla-list, osv, cve)
    #[arg(long, value_name = "KIND=URL")]
    pub source: Vec<String>,
    /// Import a local file or directory, its kind detected from the content (repeatable)
    #[arg(long, value_name = "FILE|DIR")]
    pub from: Vec<PathBuf>,
    /// Largest download accepted per source, in bytes or with a K, M or G suffix (powers of 1024)
    #[arg(long, value_name = "SIZE", env = "PARE_DB_MAX_DOWNLOAD", default_value = "1G", value_parser = parse_size)]
    pub max_download: u64,
    #[command(flatten)]
    pub format: FormatArg,
}

/// `123`, `64K`, `512M`, `2G` (also `512MiB`, `2GB`: powers of 1024 either way).
fn parse_size(value: &str) -> Result<u64, String> {
    let v = value.trim();
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(digits);
    let number: u64 = number.parse().map_err(|_| format!("`{value}` is not a size (e.g. 512M, 2G)"))?;
    let shift = match unit.trim().to_ascii_uppercase().trim_end_matches('B').trim_end_matches('I') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("`{value}`: unknown unit `{unit}` (use K, M, G or T)")),
    };
    number.checked_mul(1 << shift).filter(|n| *n > 0).ok_or_else(|| format!("`{value}` is out of range"))
}

fn db_path(arg: &DbArg) -> PathBuf {
    arg.db.clone().unwrap_or_else(db::default_path)
}

pub(crate) fn run(printer: &Printer, command: DbCommand) -> Result<ExitCode> {
    match command {
        DbCommand::Update(args) => update(printer, &args),
        DbCommand::Status { db, format } => {
            let path = db_path(&db);
            let database = Database::open(&path)?;
            show(printer, database.info(), format.format)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn update(printer: &Printer, args: &UpdateArgs) -> Result<ExitCode> {
    let path = db_path(&args.db);
    let mut sources = args.source.iter().map(|s| SourceSpec::parse(s)).collect::<Result<Vec<_>, _>>()?;
    sources.extend(args.from.iter().map(|p| SourceSpec::local(p)));
    if sources.is_empty() {
        sources = SourceSpec::defaults();
    }
    let mut bar: Option<ProgressBar> = None;
    let mut on_progress = |p: Progress<'_>| match p {
        Progress::Download { url, done, total } => {
            if !printer.interactive() {
                return;
            }
            let b = bar.get_or_insert_with(|| {
                let b = ProgressBar::new(total.unwrap_or(0));
                let style = ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                b.set_style(style);
                b.set_message(url.to_string());
                b
            });
            if let Some(t) = total {
                b.set_length(t);
            }
            b.set_position(done);
        }
        Progress::Read { location, kinds, records, warnings } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            printer.status(&format!(
                "Read {location}: {} ({records} records, {} warnings)",
                if kinds.is_empty() { "nothing recognised".to_string() } else { kinds.join(" + ") },
                warnings.len()
            ));
            for w in warnings.iter().take(SHOWN_WARNINGS) {
                printer.warn(w);
            }
            if warnings.len() > SHOWN_WARNINGS {
                printer.warn(&format!("… and {} more warnings for {location}", warnings.len() - SHOWN_WARNINGS));
            }
        }
        Progress::Writing { advisories } => {
            printer.status(&format!("Writing {advisories} advisories to {}", path.display()));
        }
    };
    let options = db::UpdateOptions { max_download: args.max_download };
    let info = db::update_with(&path, &sources, &options, &mut on_progress)
        .with_context(|| format!("updating {} (the previous database, if any, is unchanged)", path.display()))?;
    if args.format.format == Format::Json {
        show(printer, &info, Format::Json)?;
    } else {
        let total: u64 = info.sources.iter().map(|s| s.records).sum();
        printer.status(&format!("Built {} from {} sources ({total} records)", path.display(), info.sources.len()));
    }
    Ok(ExitCode::SUCCESS)
}

fn show(printer: &Printer, info: &DbInfo, format: Format) -> Result<()> {
    match format {
        Format::Json => printer.json(&serde_json::to_value(info)?),
        Format::Table => Ok(printer.out(&table(info))?),
    }
}

fn table(info: &DbInfo) -> String {
    let mut out = format!(
        "Database: {}\nSHA-256:  {} (checked)\nBuilt:    {} (schema {})\nCVSS:     {} scores\n\n",
        info.path.display(),
        info.file_sha256,
        info.built_at,
        info.schema,
        info.cvss_scores
    );
    let mut sources = comfy_table::Table::new();
    sources.load_style(comfy_table::presets::NOTHING);
    sources.set_header(["KIND", "LOCATION", "RECORDS", "SIZE", "WARNINGS", "SHA256"]);
    for s in &info.sources {
        sources.add_row([
            s.kind.clone(),
            pare_oci::escape_control(&s.location).into_owned(),
            s.records.to_string(),
            human_size(s.bytes),
            s.warnings.to_string(),
            s.sha256.chars().take(16).collect(),
        ]);
    }
    let mut counts = comfy_table::Table::new();
    counts.load_style(comfy_table::presets::NOTHING);
    counts.set_header(["ORIGIN", "ECOSYSTEM", "ADVISORIES"]);
    for c in &info.counts {
        let origin = serde_json::to_value(c.origin).ok().and_then(|v| v.as_str().map(str::to_string));
        counts.add_row([
            origin.unwrap_or_default(),
            c.ecosystem.map(|e| e.to_string()).unwrap_or_else(|| "(none)".into()),
            c.advisories.to_string(),
        ]);
    }
    out.push_str(&format!("{sources}\n\n{counts}"));
    out
}
