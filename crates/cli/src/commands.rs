//! One function per verb: parse locations, call the library, print.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::NOTHING};
use pare_oci::fs::{FsView, Limits};
use pare_oci::{Image, Location, Platform, PlatformChoice, Root, Sink, Source, escape_control};
use serde_json::{Value, json};

use crate::args::{Cli, Command, Format, GlobalArgs, LimitArgs, PlatformArg};
use crate::output::{Printer, human_size};

pub fn run(cli: Cli, printer: &Printer) -> Result<ExitCode> {
    let global = &cli.global;
    match cli.command {
        Command::Pull { reference, to, platform, max_size } => {
            let src = match Location::parse(&reference)? {
                loc @ Location::Registry(_) => loc,
                other => bail!(
                    "`{other}` is not a registry reference\nhint: use `pare copy` to copy between local locations"
                ),
            };
            transfer(global, printer, &src, &Location::parse_destination(&to)?, &platform, max_size, false)
        }
        Command::Push { src, reference, platform } => {
            let dst = match Location::parse(&reference)? {
                loc @ Location::Registry(_) => loc,
                other => {
                    bail!("`{other}` is not a registry reference\nhint: use `pare copy` to write to local locations")
                }
            };
            transfer(global, printer, &image_location(&src)?, &dst, &platform, pare_oci::DOCKER_ARCHIVE_MAX_SIZE, false)
        }
        Command::Copy { src, dst, platform, max_size, referrers } => transfer(
            global,
            printer,
            &image_location(&src)?,
            &Location::parse_destination(&dst)?,
            &platform,
            max_size,
            referrers,
        ),
        Command::Inspect { src, platform, all_platforms, format } => {
            inspect(global, printer, &image_location(&src)?, &platform, all_platforms, format.format)
        }
        Command::Ls { src, path, shallow, platform, limits, format } => {
            ls(global, printer, &image_location(&src)?, path.as_deref(), shallow, &platform, &limits, format.format)
        }
        Command::Cat { src, path, platform, limits } => {
            let image = open_image(global, printer, &image_location(&src)?, &platform)?;
            let view = FsView::from_image(&image, &to_limits(&limits))?;
            let bytes = view.read(&image, &path)?;
            printer.out_bytes(&bytes)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Build(args) => crate::build::build(global, printer, &args),
        Command::Lock { definition } => crate::build::lock(printer, &definition, false),
        Command::Update { definition } => crate::build::lock(printer, &definition, true),
        Command::Why { definition, package, arch } => {
            crate::build::why(printer, &definition, &package, arch.as_deref())
        }
        Command::Gallery { command: crate::args::GalleryCommand::List { format } } => {
            crate::build::gallery_list(printer, format.format)
        }
        Command::Db { command } => crate::db::run(printer, command),
        Command::Scan(args) => crate::scan::scan(global, printer, &args),
        Command::Diff(args) => crate::scan::diff(global, printer, &args),
        Command::Vex(args) => crate::scan::vex(printer, &args),
        Command::Outdated(args) => crate::outdated::outdated(global, printer, &args),
        Command::Sbom { src, format, output, platform, limits, attached } => {
            if attached {
                return crate::sbom::attached(global, printer, &src, format, output.as_deref(), &platform);
            }
            crate::sbom::sbom(global, printer, &src, format, output.as_deref(), &platform, &limits)
        }
        Command::Unpack { src, dir, platform, limits, allow_devices, keep_setid } => {
            let image = open_image(global, printer, &image_location(&src)?, &platform)?;
            let options = pare_oci::fs::UnpackOptions {
                limits: to_limits(&limits),
                allow_devices,
                keep_setid,
                ..Default::default()
            };
            let stats = pare_oci::fs::unpack_with(&image, &dir, &options)?;
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
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What a SRC argument names: an image, or a file that is not one (an SBOM, for the verbs that read them).
pub(crate) enum Input {
    Image(Location),
    File(std::path::PathBuf),
}

/// The one parser of SRC arguments: an existing path is read by its content, never as a registry
/// reference, and a missing one that looks like a file is "no such file" (see `Location::parse_source`).
pub(crate) fn input(src: &str) -> Result<Input, pare_oci::Error> {
    match Location::parse_source(src) {
        Ok(location) => Ok(Input::Image(location)),
        Err(pare_oci::Error::NotAnImage { path, .. }) => Ok(Input::File(path)),
        Err(e) => Err(e),
    }
}

/// SRC of the verbs that read only images.
pub(crate) fn image_location(src: &str) -> Result<Location> {
    Location::parse_source(src).map_err(|e| match e {
        pare_oci::Error::NotAnImage { .. } => {
            anyhow::anyhow!("{e}\nhint: SBOM files are read by `pare scan`, `pare diff` and `pare sbom`")
        }
        e => e.into(),
    })
}

pub(crate) fn to_limits(args: &LimitArgs) -> Limits {
    Limits { max_total_size: args.max_size, max_entries: args.max_entries, max_file_size: args.max_file_size }
}

fn parse_platform(arg: &PlatformArg) -> Result<Option<Platform>> {
    Ok(arg.platform.as_deref().map(Platform::parse).transpose()?)
}

/// How locations are opened: the registry client when `location` is a registry reference.
pub(crate) fn open_options(global: &GlobalArgs, location: &Location) -> Result<pare_oci::OpenOptions> {
    let registry = match location {
        Location::Registry(_) => Some(registry_client(global)?),
        _ => None,
    };
    Ok(pare_oci::OpenOptions { registry, blob_cache: pare_oci::registry::BlobCache::from_env(), ..Default::default() })
}

/// Opens any location as a source.
pub fn open_source(global: &GlobalArgs, printer: &Printer, location: &Location) -> Result<Arc<dyn Source>> {
    let opened = location.open(&open_options(global, location)?)?;
    for w in &opened.warnings {
        printer.warn(w);
    }
    Ok(opened.source)
}

pub(crate) fn open_sink(global: &GlobalArgs, location: &Location, from: Option<&Location>) -> Result<Box<dyn Sink>> {
    Ok(location.create(&open_options(global, location)?, from)?)
}

pub(crate) fn open_image(
    global: &GlobalArgs,
    printer: &Printer,
    location: &Location,
    platform: &PlatformArg,
) -> Result<Image> {
    let source = open_source(global, printer, location)?;
    let root = Root::open(source)?;
    Ok(root.image(parse_platform(platform)?.as_ref())?)
}

/// Copies `src` to `dst`; with `referrers`, their referrers too (both must be layouts or registries).
/// `max_size` caps what a docker-archive destination holds.
fn transfer(
    global: &GlobalArgs,
    printer: &Printer,
    src: &Location,
    dst: &Location,
    platform: &PlatformArg,
    max_size: u64,
    referrers: bool,
) -> Result<ExitCode> {
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
    Ok(ExitCode::SUCCESS)
}

/// Where `location` keeps referrers: a layout or a registry repository; `None` for archives and directories.
pub(crate) fn referrer_store(
    global: &GlobalArgs,
    location: &Location,
) -> Result<Option<pare_oci::referrers::ReferrerStore>> {
    Ok(match location {
        Location::Layout { path, .. } => Some(pare_oci::referrers::ReferrerStore::Layout(path.clone())),
        Location::Registry(reference) => Some(pare_oci::referrers::ReferrerStore::Registry {
            client: registry_client(global)?,
            repository: reference.clone(),
        }),
        _ => None,
    })
}

fn inspect(
    global: &GlobalArgs,
    printer: &Printer,
    location: &Location,
    platform: &PlatformArg,
    all_platforms: bool,
    format: Format,
) -> Result<ExitCode> {
    let source = open_source(global, printer, location)?;
    let root = Root::open(source)?;
    let which = match (parse_platform(platform)?, all_platforms) {
        (Some(p), _) => pare_oci::InspectImages::Platform(p),
        (None, true) => pare_oci::InspectImages::All,
        (None, false) => pare_oci::InspectImages::Default,
    };
    let report = serde_json::to_value(pare_oci::InspectReport::of(&root, &location.to_string(), &which)?)?;
    match format {
        Format::Json => printer.json(&report)?,
        Format::Table => printer.out(&inspect_table(&report))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect_table(report: &Value) -> String {
    // Every value comes from the image: control characters and line breaks are shown escaped.
    let s = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) if s.is_empty() => "-".to_string(),
        Value::String(s) => escape_control(s).into_owned(),
        Value::Array(a) if a.is_empty() => "-".to_string(),
        other => other.to_string(),
    };
    let mut out = String::new();
    let mut head = Table::new();
    head.load_style(NOTHING);
    head.add_row(vec!["Image".to_string(), s(&report["location"])]);
    head.add_row(vec!["Digest".to_string(), s(&report["digest"])]);
    head.add_row(vec!["Media type".to_string(), s(&report["mediaType"])]);
    if let Some(p) = report["platforms"].as_array() {
        head.add_row(vec!["Platforms".to_string(), p.iter().map(s).collect::<Vec<_>>().join(", ")]);
    }
    out.push_str(&head.to_string());
    out.push('\n');
    for image in report["images"].as_array().into_iter().flatten() {
        out.push('\n');
        let mut t = Table::new();
        t.load_style(NOTHING);
        t.add_row(vec!["Platform".to_string(), s(&image["platform"])]);
        t.add_row(vec!["Manifest".to_string(), s(&image["manifestDigest"])]);
        t.add_row(vec!["Config".to_string(), s(&image["configDigest"])]);
        t.add_row(vec!["Created".to_string(), s(&image["created"])]);
        t.add_row(vec!["User".to_string(), s(&image["user"])]);
        t.add_row(vec!["Entrypoint".to_string(), s(&image["entrypoint"])]);
        t.add_row(vec!["Cmd".to_string(), s(&image["cmd"])]);
        t.add_row(vec!["WorkingDir".to_string(), s(&image["workingDir"])]);
        let env: Vec<String> = image["env"].as_array().into_iter().flatten().map(s).collect();
        t.add_row(vec!["Env".to_string(), if env.is_empty() { "-".into() } else { env.join("\n") }]);
        let labels: Vec<String> = image["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{}={}", escape_control(k), s(v)))
            .collect();
        t.add_row(vec!["Labels".to_string(), if labels.is_empty() { "-".into() } else { labels.join("\n") }]);
        out.push_str(&t.to_string());
        out.push('\n');
        let layers = image["layers"].as_array().cloned().unwrap_or_default();
        out.push_str(&format!(
            "\nLayers ({}, {} compressed)\n",
            layers.len(),
            human_size(image["totalSize"].as_u64().unwrap_or(0))
        ));
        let mut lt = Table::new();
        lt.load_style(NOTHING);
        lt.set_header(vec!["#", "DIGEST", "SIZE", "MEDIA TYPE"]);
        for (i, l) in layers.iter().enumerate() {
            lt.add_row(vec![
                i.to_string(),
                s(&l["digest"]),
                human_size(l["size"].as_u64().unwrap_or(0)),
                s(&l["mediaType"]),
            ]);
        }
        out.push_str(&lt.to_string());
        out.push('\n');
        let history = image["history"].as_array().cloned().unwrap_or_default();
        if !history.is_empty() {
            out.push_str("\nHistory\n");
            let mut ht = Table::new();
            ht.load_style(NOTHING);
            ht.set_header(vec!["CREATED", "CREATED BY", "EMPTY"]);
            for h in &history {
                let by = s(&h["createdBy"]);
                let by = if by.chars().count() > 80 {
                    format!("{}…", by.chars().take(79).collect::<String>())
                } else {
                    by
                };
                ht.add_row(vec![
                    s(&h["created"]),
                    by,
                    if h["emptyLayer"] == json!(true) { "yes".into() } else { String::new() },
                ]);
            }
            out.push_str(&ht.to_string());
            out.push('\n');
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn ls(
    global: &GlobalArgs,
    printer: &Printer,
    location: &Location,
    path: Option<&str>,
    shallow: bool,
    platform: &PlatformArg,
    limits: &LimitArgs,
    format: Format,
) -> Result<ExitCode> {
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
    Ok(ExitCode::SUCCESS)
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

/// One registry client per process, so tokens and learned schemes are shared by every request.
pub(crate) fn registry_client(global: &GlobalArgs) -> Result<pare_oci::registry::Client> {
    static CLIENT: std::sync::OnceLock<pare_oci::registry::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let config = pare_oci::registry::ClientConfig {
        insecure: global.insecure,
        stall_timeout: std::time::Duration::from_secs(global.stall_timeout),
        ..Default::default()
    };
    let client = pare_oci::registry::Client::new(config)?;
    Ok(CLIENT.get_or_init(|| client).clone())
}
