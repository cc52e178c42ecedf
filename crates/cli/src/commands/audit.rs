//! `pare audit`: a Dockerfile's findings, the gallery base for its final stage, and with
//! `--image` the drift between the base it names and the base an image was built on.

use anyhow::{Context, Result};
use pare_oci::Root;
use pare_policy::dockerfile::{self, CODES};

use crate::ExitStatus;
use crate::args::{AuditArgs, AuditFormat, GlobalArgs};
use crate::context::{image_location, open_source, parse_platform};
use crate::output::Printer;

pub(crate) fn audit(global: &GlobalArgs, printer: &Printer, args: &AuditArgs) -> Result<ExitStatus> {
    let shown = args.path.display().to_string();
    let bytes = read_capped(&args.path).with_context(|| format!("Cannot read the Dockerfile `{shown}`"))?;
    let mut audit = dockerfile::audit(&shown, &bytes)?;

    let drift = match &args.image {
        None => None,
        Some(image_src) => {
            let named = audit.final_base().cloned().ok_or_else(|| {
                crate::status::hinted(
                    format!("the final stage of `{shown}` names its base with a variable that has no value"),
                    "give the base with --base LOCATION",
                )
            })?;
            let base_src = args.base.clone().unwrap_or_else(|| named.written.clone());
            let platform = parse_platform(&args.platform)?;
            // The root's digest (an index's for a multi-platform base) and the platform's image.
            let open = |src: &str| -> Result<(String, pare_oci::Image)> {
                let location = image_location(src)?;
                let root = Root::open(open_source(global, printer, &location)?)
                    .with_context(|| format!("Cannot read `{location}`"))?;
                let digest = root.descriptor().digest().to_string();
                Ok((digest, root.image(platform.as_ref())?))
            };
            let (base_digest, base) = open(&base_src).with_context(|| format!("Cannot read the base `{base_src}`"))?;
            let (_, image) = open(image_src)?;
            Some(dockerfile::drift(&mut audit, &base, &base_digest, &image)?)
        }
    };

    match args.format {
        AuditFormat::Json => {
            let mut value = serde_json::to_value(&audit)?;
            value["drift"] = serde_json::to_value(&drift)?;
            printer.json(&value)?;
        }
        AuditFormat::Sarif => {
            let rules: Vec<pare_policy::RuleInfo> = CODES
                .iter()
                .map(|c| pare_policy::RuleInfo { id: c.code.into(), description: c.title.into(), action: c.action })
                .collect();
            let help = "https://example.invalid/pare/docs/audit.md";
            printer.json(&pare_policy::verdict::sarif(std::slice::from_ref(&audit.verdict), &rules, &shown, help))?;
        }
        AuditFormat::Table => {
            let mut out = String::new();
            for f in &audit.verdict.failures {
                let (line, column) = f.location.map_or((0, 0), |l| (l.line, l.column));
                out.push_str(&format!(
                    "{} {:<4} {}:{line}:{column}: {} (fix: {})\n",
                    f.rule,
                    f.action,
                    pare_oci::escape_control(&shown),
                    pare_oci::escape_control(&f.message),
                    pare_oci::escape_control(&f.fix)
                ));
            }
            if let Some(d) = &drift {
                out.push_str(&format!(
                    "\nDrift: image {} against base {} ({}): {} of its {} layers match",
                    d.image, d.named_base, d.base_digest, d.matching_layers, d.base_layers
                ));
                for (k, v) in &d.annotations {
                    out.push_str(&format!("\n  {k}: {}", pare_oci::escape_control(v)));
                }
                out.push('\n');
            }
            if let Some(s) = &audit.suggestion {
                out.push_str(&format!(
                    "\nSuggested final stage on gallery:{} ({}):\n\n{}",
                    s.gallery,
                    s.reason,
                    pare_oci::escape_control_keep_lines(&s.dockerfile)
                ));
            }
            if !out.is_empty() {
                printer.out(&out)?;
            }
        }
    }
    let denials = audit.verdict.denials().count();
    let warnings = audit.verdict.warnings().count();
    if denials > 0 {
        printer.failure(&format!("{shown}: {denials} denied, {warnings} warnings"));
        return Ok(ExitStatus::Failure);
    }
    printer.status(&format!("{shown}: no denials, {warnings} warnings"));
    Ok(ExitStatus::Success)
}

/// The file's bytes, refusing one larger than the audit reads (a device or a huge file is not a
/// Dockerfile).
fn read_capped(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(dockerfile::MAX_DOCKERFILE_SIZE as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}
