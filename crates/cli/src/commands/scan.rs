//! `pare scan`: known vulnerabilities in an image, a directory or an SBOM.

use anyhow::{Context, Result};
use pare_vuln::report::{self, Gate, ReportFormat, ScanOptions};
use pare_vuln::{Lookup, Severity};

use crate::ExitStatus;
use crate::args::{GlobalArgs, ScanArgs, ScanFormat};
use crate::context::{open_db, parse_src, read_vex, with_subject};
use crate::output::Printer;

pub(crate) fn scan(global: &GlobalArgs, printer: &Printer, args: &ScanArgs) -> Result<ExitStatus> {
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
            return Ok(ExitStatus::Failure);
        }
    }
    Ok(ExitStatus::Success)
}
