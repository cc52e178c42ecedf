//! `pare db update|status`: build the local vulnerability database and show what is in it.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pare_vuln::db::{self, DbInfo, Progress};
use pare_vuln::{Database, SourceSpec};

use crate::ExitStatus;
use crate::args::{DbCommand, Format, UpdateArgs};
use crate::context::db_path;
use crate::output::{Printer, human_size};

/// Warnings shown per source; the rest are counted.
const SHOWN_WARNINGS: usize = 10;

pub(crate) fn run(printer: &Printer, command: DbCommand) -> Result<ExitStatus> {
    match command {
        DbCommand::Update(args) => update(printer, &args),
        DbCommand::Status { db, format } => {
            let path = db_path(&db);
            let database = Database::open(&path)?;
            show(printer, database.info(), format.format)?;
            Ok(ExitStatus::Success)
        }
    }
}

fn update(printer: &Printer, args: &UpdateArgs) -> Result<ExitStatus> {
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
    Ok(ExitStatus::Success)
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
