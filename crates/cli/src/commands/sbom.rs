//! `pare sbom`: catalog an image and write its SBOM, or read back the SBOM attached to it.

use std::path::Path;

use anyhow::{Context, Result};
use pare_sbom::OutputFormat;

use crate::ExitStatus;
use crate::args::{GlobalArgs, LimitArgs, PlatformArg, SbomFormat};
use crate::context::{inventory_of, open_image};
use crate::output::Printer;

pub(crate) fn sbom(
    global: &GlobalArgs,
    printer: &Printer,
    src: &str,
    format: SbomFormat,
    output: Option<&Path>,
    platform: &PlatformArg,
    limits: &LimitArgs,
) -> Result<ExitStatus> {
    // An SBOM file is read and written again in --format; an image is cataloged.
    let mut inventory = inventory_of(global, printer, src, platform, limits)?;
    if inventory.subject.digest.is_some()
        && let Some(epoch) = pare_oci::source_date_epoch()?
    {
        inventory.created = Some(pare_oci::rfc3339(epoch));
    }
    let bytes = pare_sbom::write(&inventory, output_format(format))?;
    let of = inventory.subject.digest.as_deref().unwrap_or(src);
    emit(printer, &bytes, output, &format!("{} packages of {of}", inventory.packages.len()))?;
    Ok(ExitStatus::Success)
}

/// Writes the document to `--output` (atomically, saying what was written) or to stdout.
fn emit(printer: &Printer, bytes: &[u8], output: Option<&Path>, what: &str) -> Result<()> {
    match output {
        Some(path) => {
            pare_oci::write_atomic(path, bytes).with_context(|| format!("writing {}", path.display()))?;
            printer.status(&format!("Wrote {what} to {}", path.display()));
        }
        None => printer.out_bytes(bytes)?,
    }
    Ok(())
}

fn output_format(format: SbomFormat) -> OutputFormat {
    match format {
        SbomFormat::Table => OutputFormat::Table,
        SbomFormat::Json => OutputFormat::Json,
        SbomFormat::SpdxJson => OutputFormat::SpdxJson,
        SbomFormat::CyclonedxJson => OutputFormat::CycloneDxJson,
        SbomFormat::Cyclonedx15Json => OutputFormat::CycloneDx15Json,
    }
}

/// `pare sbom SRC --attached`: the SBOM attached to the image (the newest, when several are),
/// read into an inventory and written in `format`.
pub(crate) fn attached(
    global: &GlobalArgs,
    printer: &Printer,
    src: &str,
    format: SbomFormat,
    output: Option<&Path>,
    platform: &PlatformArg,
) -> Result<ExitStatus> {
    let location = crate::context::image_location(src)?;
    let image = open_image(global, printer, &location, platform)?;
    let subject = image.digest();
    let Some(store) = crate::context::referrer_store(global, &location)? else {
        return Err(crate::status::hinted(
            format!("`{location}` cannot hold attached SBOMs"),
            "`--attached` reads oci:DIR layouts and registries; drop it to catalog the image",
        ));
    };
    let found = pare_build::sbom::attached(&store, subject)?;
    let Some(sbom) = found.last() else {
        return Err(
            pare_build::Error::NoAttachedSbom { subject: subject.to_string(), location: location.to_string() }.into()
        );
    };
    let name = format!("{src} (attached {})", sbom.manifest);
    let read = pare_sbom::read(&sbom.document, &name)?;
    for warning in &read.warnings {
        printer.warn(warning);
    }
    let bytes = pare_sbom::write(&read.inventory, output_format(format))?;
    let what =
        format!("the SBOM attached to {subject} ({}, {} packages)", sbom.manifest, read.inventory.packages.len());
    emit(printer, &bytes, output, &what)?;
    Ok(ExitStatus::Success)
}
