//! `pare vex`: write a triage decision as an OpenVEX statement.

use anyhow::{Context, Result};

use crate::ExitStatus;
use crate::args::VexArgs;
use crate::output::Printer;

pub(crate) fn vex(printer: &Printer, args: &VexArgs) -> Result<ExitStatus> {
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
        Some(path) if path.exists() => Some(crate::context::read_document(path, pare_vuln::vex::MAX_DOCUMENT)?),
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
    Ok(ExitStatus::Success)
}
