//! `pare outdated`: packages the Debian archive has newer versions of, and what updating fixes.

use anyhow::{Context, Result};
use pare_vuln::outdated::{Archive, OutdatedReport};

use crate::ExitStatus;
use crate::args::{Format, GlobalArgs, OutdatedArgs};
use crate::context::{db_path, inventory_of, open_db};
use crate::output::Printer;

/// Whether SRC names a definition rather than an image.
fn is_definition(src: &str) -> bool {
    src.starts_with("gallery:") || (src.ends_with(".toml") && std::path::Path::new(src).is_file())
}

pub(crate) fn outdated(global: &GlobalArgs, printer: &Printer, args: &OutdatedArgs) -> Result<ExitStatus> {
    let (inventory, release, pockets, components, client) = if is_definition(&args.src) {
        let loaded = pare_build::load(&args.src)?;
        let Some(lock) = pare_build::current_lock(&loaded)? else {
            if loaded.lock_path.is_none() {
                return Err(crate::status::hinted(
                    format!("{} has no lock: a gallery definition is resolved afresh at each build", loaded.origin),
                    "run `pare outdated` on the image you built from it",
                ));
            }
            return Err(crate::status::hinted(
                format!("{} has no lock to compare", loaded.origin),
                format!(
                    "run `pare lock {}` (a fresh resolution is always current), or run `pare outdated` on the built \
                     image",
                    args.src
                ),
            ));
        };
        let client = pare_build::client(&loaded, None)?;
        (
            lock.inventory(&loaded.origin),
            lock.suite.clone(),
            loaded.pockets(),
            loaded.definition.components.clone(),
            client,
        )
    } else {
        let inventory = inventory_of(global, printer, &args.src, &args.platform, &args.limits)?;
        let release = pare_vuln::outdated::debian_release(&inventory, args.suite.as_deref())?;
        let pockets =
            pare_vuln::outdated::standard_pockets(&release, args.mirror.as_deref(), args.security_mirror.as_deref());
        let keyring = match &args.keyring {
            Some(path) => pare_deb::Keyring::load(path)?,
            None => pare_deb::Keyring::debian()?,
        };
        let client = pare_deb::ArchiveClient::new(keyring, pare_deb::Cache::new(pare_deb::Cache::default_root()))?;
        let components = if args.components.is_empty() { vec!["main".to_string()] } else { args.components.clone() };
        (inventory, release, pockets, components, client)
    };
    let db_path = db_path(&args.db.file);
    let db = if args.db.file.path.is_some() || db_path.exists() {
        Some(open_db(printer, &args.db)?)
    } else {
        printer.warn(&format!(
            "no vulnerability database at {}: the vulnerabilities updates fix are not listed (run `pare db update`)",
            db_path.display()
        ));
        None
    };
    let archive = Archive { client: &client, pockets, components };
    let lookup = db.as_ref().map(|(db, _)| db as &dyn pare_vuln::Lookup);
    let mut report = pare_vuln::outdated::outdated(&inventory, &release, &archive, lookup)
        .with_context(|| format!("Cannot compare {} with the archive", args.src))?;
    report.database = db.map(|(_, summary)| summary);
    for w in &report.warnings {
        printer.warn(w);
    }
    match args.format.format {
        Format::Json => printer.json(&serde_json::to_value(&report)?)?,
        Format::Table => printer.out(&table(&report))?,
    }
    let security = report.security_updates().count();
    if report.rebuild_advised() {
        let fixes: usize = report.security_updates().map(|u| u.fixes.len()).sum();
        printer.status(&format!(
            "Rebuild advised: {security} security update{} available ({fixes} known vulnerabilit{} fixed)",
            if security == 1 { " is" } else { "s are" },
            if fixes == 1 { "y" } else { "ies" }
        ));
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}

fn table(report: &OutdatedReport) -> String {
    let pockets: Vec<&str> = report.pockets.iter().map(|p| p.suite.as_str()).collect();
    let mut out =
        format!("{}: {} Debian packages compared with {}\n", report.subject.name, report.packages, pockets.join(", "));
    if report.updates.is_empty() {
        out.push_str("Every package is at the newest version the archive publishes.\n");
    } else {
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::NOTHING);
        table.set_header(["PACKAGE", "ARCH", "INSTALLED", "AVAILABLE", "FROM", "FIXES"]);
        for u in &report.updates {
            // The worst few; `--format json` has them all.
            let fixes = match u.fixes.as_slice() {
                [] => "-".to_string(),
                all => {
                    let shown: Vec<&str> = all.iter().take(3).map(|f| f.id.as_str()).collect();
                    let more = if all.len() > 3 { format!(" +{}", all.len() - 3) } else { String::new() };
                    format!("{} ({}): {}{more}", all.len(), all[0].severity, shown.join(" "))
                }
            };
            table.add_row([
                u.package.clone(),
                u.architecture.clone(),
                u.installed.clone(),
                u.available.clone(),
                u.pocket.clone(),
                fixes,
            ]);
        }
        out.push_str(&table.to_string());
        out.push('\n');
        out.push_str(&format!("{} packages can be updated\n", report.updates.len()));
    }
    if !report.not_in_archive.is_empty() {
        out.push_str(&format!(
            "{} installed packages are in none of these pockets: {}\n",
            report.not_in_archive.len(),
            report.not_in_archive.join(", ")
        ));
    }
    out
}
