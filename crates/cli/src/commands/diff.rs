//! `pare diff`: packages and vulnerabilities gained and lost between two images or SBOMs.

use anyhow::Result;
use pare_vuln::Lookup;
use pare_vuln::report::ScanOptions;

use crate::ExitStatus;
use crate::args::{DiffArgs, Format, GlobalArgs};
use crate::context::{db_path, open_db, parse_src, read_vex, with_subject};
use crate::output::Printer;

pub(crate) fn diff(global: &GlobalArgs, printer: &Printer, args: &DiffArgs) -> Result<ExitStatus> {
    let (old_input, new_input) = (parse_src(&args.old)?, parse_src(&args.new)?);
    let statements = read_vex(&args.vex, printer)?;
    let db = if db_path(&args.db.file).exists() {
        Some(open_db(printer, &args.db)?.0)
    } else {
        if !args.vex.is_empty() {
            return Err(crate::status::hinted(
                "--vex needs a vulnerability database",
                "run `pare db update` (or pass --db PATH)",
            ));
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
    Ok(ExitStatus::Success)
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
