//! `pare pull`, `pare push`, `pare copy`: an image from one location to another, referrers on request.

use anyhow::{Context, Result, bail};
use pare_oci::{Location, PlatformChoice, Root, Sink};

use crate::ExitStatus;
use crate::args::{GlobalArgs, PlatformArg};
use crate::context::{open_sink, open_source, parse_platform};
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
            if !matches!(location, Location::Layout { .. } | Location::Registry(_)) {
                bail!(
                    "`{location}` cannot hold referrers (SBOMs, signatures)\nhint: copy between oci:DIR layouts and registries to carry them, or drop --referrers"
                );
            }
        }
    }
    let source = open_source(global, printer, src)?;
    let root = Root::open(source).with_context(|| format!("Cannot read `{src}`"))?;
    let choice = match parse_platform(platform)? {
        Some(p) => PlatformChoice::One(p),
        None => PlatformChoice::All,
    };
    let sink: Box<dyn Sink> = match dst {
        Location::DockerArchive { path, name } => {
            Box::new(pare_oci::DockerArchiveSink::create(path, name.as_deref())?.with_max_size(max_size))
        }
        _ => open_sink(global, dst, Some(src))?,
    };
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
