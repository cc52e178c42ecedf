//! `pare pull`, `pare push`, `pare copy`: an image from one location to another, referrers on request.

use anyhow::{Context, Result};
use pare_oci::{Location, PlatformChoice, Root};

use crate::ExitStatus;
use crate::args::{GlobalArgs, PlatformArg};
use crate::context::{open_options, open_source, parse_platform};
use crate::output::{Printer, human_size};

/// Copies `src` to `dst`; with `referrers`, their referrers too (both must be layouts or registries).
/// `max_size` caps what a docker-archive destination holds.
pub(crate) fn transfer(
    global: &GlobalArgs,
    printer: &Printer,
    src: &Location,
    dst: &Location,
    platform: &PlatformArg,
    max_size: u64,
    referrers: bool,
) -> Result<ExitStatus> {
    if referrers {
        // Refused before anything is read or written (the library checks again).
        for location in [src, dst] {
            if !location.holds_referrers() {
                return Err(pare_oci::Error::CannotHoldReferrers { location: location.to_string() }.into());
            }
        }
    }
    let source = open_source(global, printer, src)?;
    let root = Root::open(source).with_context(|| format!("Cannot read `{src}`"))?;
    let choice = match parse_platform(platform)? {
        Some(p) => PlatformChoice::One(p),
        None => PlatformChoice::All,
    };
    let options = pare_oci::OpenOptions { max_archive_size: Some(max_size), ..open_options(global, dst)? };
    let sink = dst.create(&options, Some(src))?;
    let progress = printer.copy_progress(&format!("Copying to {dst}"));
    let options = pare_oci::CopyOptions { platform: choice, referrers };
    let written = pare_oci::copy_with(&root, sink, &options, &progress)
        .with_context(|| format!("Cannot copy `{src}` to `{dst}`"))?;
    let (copied, skipped, bytes) = progress.finish();
    printer
        .status(&format!("Copied {src} to {dst}: {copied} blobs ({}), {skipped} already present", human_size(bytes)));
    if referrers {
        let n = written.referrers.len();
        printer.status(&format!("Copied {n} {}", if n == 1 { "referrer" } else { "referrers" }));
    }
    printer.out(written.root.digest().as_ref())?;
    Ok(ExitStatus::Success)
}
