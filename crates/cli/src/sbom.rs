//! `pare sbom`: catalog an image and write its SBOM.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use pare_oci::Location;
use pare_sbom::OutputFormat;

use crate::args::{GlobalArgs, LimitArgs, PlatformArg, SbomFormat};
use crate::commands::{open_image, to_limits};
use crate::output::Printer;

pub(crate) fn sbom(
    global: &GlobalArgs,
    printer: &Printer,
    src: &str,
    format: SbomFormat,
    output: Option<&Path>,
    platform: &PlatformArg,
    limits: &LimitArgs,
) -> Result<ExitCode> {
    let location = Location::parse(src)?;
    let image = open_image(global, printer, &location, platform)?;
    let cache = pare_sbom::LayerCache::from_env();
    let (view, mut catalog) = pare_sbom::catalog_image(&image, &to_limits(limits), src, cache.as_ref())?;
    for warning in view.warnings() {
        printer.warn(warning);
    }
    for warning in &catalog.warnings {
        printer.warn(warning);
    }
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        let created = pare_sbom::epoch_seconds(&epoch).context("SOURCE_DATE_EPOCH")?;
        catalog.inventory.created = Some(created);
    }
    let format = match format {
        SbomFormat::Table => OutputFormat::Table,
        SbomFormat::Json => OutputFormat::Json,
        SbomFormat::SpdxJson => OutputFormat::SpdxJson,
        SbomFormat::CyclonedxJson => OutputFormat::CycloneDxJson,
        SbomFormat::Cyclonedx15Json => OutputFormat::CycloneDx15Json,
    };
    let bytes = pare_sbom::write(&catalog.inventory, format)?;
    match output {
        Some(path) => {
            pare_oci::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            printer.status(&format!(
                "Wrote {} packages of {} to {}",
                catalog.inventory.packages.len(),
                image.digest(),
                path.display()
            ));
        }
        None => printer.out_bytes(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}
