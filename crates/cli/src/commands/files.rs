//! `pare ls`, `pare cat`, `pare unpack`: the merged filesystem of an image.

use anyhow::Result;
use std::path::Path;

use pare_oci::fs::FsView;
use pare_oci::{Location, escape_control};
use serde_json::{Value, json};

use crate::ExitStatus;
use crate::args::{Format, GlobalArgs, LimitArgs, PlatformArg};
use crate::context::{open_image, to_limits};
use crate::output::{Printer, human_size};

#[allow(clippy::too_many_arguments)]
pub(crate) fn ls(
    global: &GlobalArgs,
    printer: &Printer,
    location: &Location,
    path: Option<&str>,
    shallow: bool,
    platform: &PlatformArg,
    limits: &LimitArgs,
    format: Format,
) -> Result<ExitStatus> {
    let image = open_image(global, printer, location, platform)?;
    let view = FsView::from_image(&image, &to_limits(limits))?;
    for w in view.warnings() {
        printer.warn(w);
    }
    let entries = view.list(path, shallow, &location.to_string())?;
    match format {
        Format::Json => {
            let list: Vec<Value> = entries
                .iter()
                .map(|e| {
                    json!({
                        "path": e.path, "type": format!("{:?}", e.kind).to_lowercase(), "mode": format!("{:04o}", e.mode),
                        "uid": e.uid, "gid": e.gid, "size": e.size, "linkTarget": e.link_target, "layer": e.layer,
                    })
                })
                .collect();
            printer.json(&Value::Array(list))?;
        }
        Format::Table => {
            let mut out = String::new();
            for e in entries {
                let link = e.link_target.as_deref().map(|t| format!(" -> {}", escape_control(t))).unwrap_or_default();
                out.push_str(&format!(
                    "{}{} {:>5}:{:<5} {:>10}  L{}  {}{}\n",
                    kind_char(&e.kind),
                    mode_string(e.mode),
                    e.uid,
                    e.gid,
                    e.size,
                    e.layer,
                    escape_control(&e.path),
                    link
                ));
            }
            printer.out_bytes(out.as_bytes())?;
        }
    }
    Ok(ExitStatus::Success)
}

fn kind_char(kind: &pare_oci::fs::EntryKind) -> char {
    use pare_oci::fs::EntryKind::*;
    match kind {
        Dir => 'd',
        Symlink => 'l',
        Hardlink => 'h',
        CharDevice => 'c',
        BlockDevice => 'b',
        Fifo => 'p',
        _ => '-',
    }
}

fn mode_string(mode: u32) -> String {
    let mut s = String::with_capacity(9);
    for (shift, special, special_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let exec = bits & 1 != 0;
        s.push(match (mode & special != 0, exec) {
            (true, true) => special_char,
            (true, false) => special_char.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// `pare cat`: one file of the merged filesystem, as its bytes are.
pub(crate) fn cat(
    global: &GlobalArgs,
    printer: &Printer,
    location: &Location,
    path: &str,
    platform: &PlatformArg,
    limits: &LimitArgs,
) -> Result<ExitStatus> {
    let image = open_image(global, printer, location, platform)?;
    let view = FsView::from_image(&image, &to_limits(limits))?;
    let bytes = view.read(&image, path)?;
    printer.out_bytes(&bytes)?;
    Ok(ExitStatus::Success)
}

/// What `pare unpack` may create beyond what a rootless runtime would.
pub(crate) struct UnpackFlags {
    pub allow_devices: bool,
    pub keep_setid: bool,
}

/// `pare unpack`: the merged filesystem into a directory, safely.
pub(crate) fn unpack(
    global: &GlobalArgs,
    printer: &Printer,
    location: &Location,
    dir: &Path,
    platform: &PlatformArg,
    limits: &LimitArgs,
    flags: UnpackFlags,
) -> Result<ExitStatus> {
    let image = open_image(global, printer, location, platform)?;
    let options = pare_oci::fs::UnpackOptions {
        limits: to_limits(limits),
        allow_devices: flags.allow_devices,
        keep_setid: flags.keep_setid,
        ..Default::default()
    };
    let stats = pare_oci::fs::unpack_with(&image, dir, &options)?;
    for warning in &stats.warnings {
        printer.warn(warning);
    }
    printer.status(&format!(
        "Unpacked {} files, {} directories, {} links ({}) of {} into {}",
        stats.files,
        stats.dirs,
        stats.symlinks + stats.hardlinks,
        human_size(stats.bytes),
        image.digest(),
        dir.display()
    ));
    Ok(ExitStatus::Success)
}

/// `pare ldd`: whether the image's binaries would load.
#[allow(clippy::too_many_arguments)]
pub(crate) fn ldd(
    global: &GlobalArgs,
    printer: &Printer,
    location: &Location,
    paths: &[String],
    libraries: bool,
    platform: &PlatformArg,
    limits: &LimitArgs,
    format: Format,
) -> Result<ExitStatus> {
    let image = open_image(global, printer, location, platform)?;
    let view = FsView::from_image(&image, &to_limits(limits))?;
    for w in view.warnings() {
        printer.warn(w);
    }
    let binaries = pare_policy::read_binaries(&image, &view)?;
    let report = pare_policy::check(&view, &binaries, (!paths.is_empty()).then_some(paths));
    match format {
        Format::Json => printer.json(&serde_json::to_value(&report)?)?,
        Format::Table => {
            let mut out = String::new();
            let failing = report.checked.iter().filter(|c| !c.loads()).count();
            for checked in &report.checked {
                let shown = libraries || !paths.is_empty() || !checked.loads();
                if !shown {
                    continue;
                }
                let verdict = if checked.loads() { "loads" } else { "does not load" };
                out.push_str(&format!("{} ({}): {verdict}\n", escape_control(&checked.path), checked.kind));
                if libraries || !paths.is_empty() {
                    if let Some(interp) = &checked.interpreter {
                        out.push_str(&format!("    interpreter {}\n", escape_control(interp)));
                    }
                    for (name, found) in &checked.libraries {
                        let found =
                            found.as_deref().map_or("not found".to_string(), |p| escape_control(p).into_owned());
                        out.push_str(&format!("    {} => {found}\n", escape_control(name)));
                    }
                }
                for problem in &checked.problems {
                    out.push_str(&format!("    {}\n", escape_control(&problem.to_string())));
                }
            }
            for (path, reason) in &report.not_inspected {
                out.push_str(&format!("{}: not inspected: {}\n", escape_control(path), escape_control(reason)));
            }
            let notes = report.checked.iter().filter(|c| c.loads() && !c.problems.is_empty()).count();
            out.push_str(&format!("{} ELF files checked, {failing} would not load", report.checked.len()));
            if notes > 0 && !libraries && paths.is_empty() {
                out.push_str(&format!(" ({notes} load with notes: --libraries shows them)"));
            }
            out.push('\n');
            printer.out(&out)?;
        }
    }
    Ok(if report.all_load() { ExitStatus::Success } else { ExitStatus::Failure })
}
