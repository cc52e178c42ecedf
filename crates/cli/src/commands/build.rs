//! `pare build`, `lock`, `update`, `why` and `gallery list`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use pare_build::{Event, Loaded, Lock};
use pare_deb::DownloadEvent;
use pare_oci::{Location, PlatformChoice};
use serde_json::json;

use crate::ExitStatus;
use crate::args::{BuildArgs, BuildSbomFormat, Format, GlobalArgs};
use crate::context::open_sink;
use crate::output::{Printer, human_size, short_digest};

/// Counts downloads and prints warnings; draws a spinner on a terminal.
struct Reporter<'a> {
    printer: &'a Printer,
    bar: Option<indicatif::ProgressBar>,
    /// (downloaded, bytes, cached)
    counts: Mutex<(u64, u64, u64)>,
}

impl<'a> Reporter<'a> {
    fn new(printer: &'a Printer) -> Reporter<'a> {
        let bar = printer.interactive().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Reporter { printer, bar, counts: Mutex::new((0, 0, 0)) }
    }

    fn event(&self, event: &Event<'_>) {
        let message = |m: String| {
            if let Some(bar) = &self.bar {
                bar.set_message(m);
            }
        };
        match event {
            Event::Release { suite, date } => message(format!("verified {suite} (Release of {date})")),
            Event::Index { suite, component, architecture, packages } => {
                message(format!("read {suite}/{component}/{architecture}: {packages} packages"))
            }
            Event::Resolved { architecture, packages } => {
                message(format!("resolved {architecture}: {packages} packages"))
            }
            Event::Download(DownloadEvent::Started { name, size }) => {
                message(format!("downloading {name} ({})", human_size(*size)))
            }
            Event::Download(DownloadEvent::Finished { size, .. }) => {
                if let Ok(mut c) = self.counts.lock() {
                    c.0 += 1;
                    c.1 += size;
                }
            }
            Event::Download(DownloadEvent::Cached { .. }) => {
                if let Ok(mut c) = self.counts.lock() {
                    c.2 += 1;
                }
            }
            Event::Download(_) => {}
            Event::Layer { architecture, name, size } => {
                message(format!("wrote {architecture} {name} layer ({})", human_size(*size)))
            }
            Event::Warning(w) => {
                if let Some(bar) = &self.bar {
                    bar.suspend(|| self.printer.warn(w));
                } else {
                    self.printer.warn(w);
                }
            }
        }
    }

    fn finish(&self) -> (u64, u64, u64) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.counts.lock().map(|c| *c).unwrap_or_default()
    }
}

/// The lock to build from (see [`pare_build::lock_for_build`]), warning when a definition file has no lock.
fn lock_for(
    printer: &Printer,
    loaded: &Loaded,
    reporter: &Reporter<'_>,
    ignore_lock: bool,
    only: &[String],
) -> Result<Lock> {
    let client = pare_build::client(loaded, None)?;
    let (lock, origin) = pare_build::lock_for_build(loaded, &client, ignore_lock, only, &|e| reporter.event(e))?;
    if origin == pare_build::LockOrigin::Resolved && loaded.lock_path.is_some() && !ignore_lock {
        printer.warn(&format!("{} has no lock; resolved afresh (`pare lock` pins the packages)", loaded.origin));
    }
    Ok(lock)
}

pub fn build(global: &GlobalArgs, printer: &Printer, args: &BuildArgs) -> Result<ExitStatus> {
    let started = Instant::now();
    let loaded = pare_build::load(&args.definition)?;
    let destination = Location::parse_destination(&args.to)?;
    if args.sign && !destination.holds_referrers() {
        return Err(crate::status::hinted(
            format!("`{destination}` cannot hold signatures"),
            "build --sign into a registry or an oci:DIR layout, or sign later with `pare sign`",
        ));
    }
    // The key is read (and its password asked) before anything is built.
    let signing_key = match (&args.sign, &args.key) {
        (true, Some(key)) => Some(super::key::load_signing_key(key)?),
        _ => None,
    };
    let add = args.add.iter().map(|a| a.parse()).collect::<Result<Vec<pare_build::AddSpec>, _>>()?;
    let reporter = Reporter::new(printer);
    let lock = lock_for(printer, &loaded, &reporter, args.no_lock, &args.arch)?;
    let client = pare_build::client(&loaded, None)?;
    let open = match loaded.definition.base_ref().map(|b| b.location) {
        Some(location) => crate::context::open_options(global, &location)?,
        None => pare_oci::OpenOptions::default(),
    };
    let options = pare_build::BuildOptions {
        epoch: None,
        architectures: args.arch.clone(),
        add,
        open,
        allow_host_paths: args.allow_host_paths,
        compression: args.compression.as_deref().map(str::parse).transpose().map_err(anyhow::Error::msg)?,
        compression_level: args.compression_level,
    };
    let built = pare_build::build(&loaded, &lock, &client, &options, &|e| reporter.event(e))
        .with_context(|| format!("Cannot build {}", loaded.origin))?;
    let (downloaded, bytes, cached) = reporter.finish();
    if !options.add.is_empty() && !args.no_load_check {
        check_added_programs(printer, &built, &options.add, &loaded, &client)?;
    }
    if let Some(policy) = &args.policy {
        check_policy(global, printer, &built, policy, args)?;
    }
    // Registries get the referrer by default; a layout only when asked (a second index.json entry
    // breaks tools that read a layout as one image).
    let attach = match destination {
        Location::Registry(_) => !args.no_sbom,
        Location::Layout { .. } => args.attach_sbom,
        _ => false,
    };
    let sboms = if attach || args.sbom.is_some() || signing_key.is_some() {
        build_sboms(printer, &built, &lock, args)?
    } else {
        Vec::new()
    };
    let root = built.source.open()?;
    let sink = open_sink(global, &destination, None)?;
    let written = pare_oci::copy(&root, sink, &PlatformChoice::All, &pare_oci::Quiet)
        .with_context(|| format!("Cannot write the image to `{destination}`"))?;
    let mut sbom_report = Vec::new();
    for sbom in &sboms {
        let store = if attach { crate::context::referrer_store(global, &destination)? } else { None };
        let referrer = match store {
            Some(store) => {
                let desc = store
                    .attach(&sbom.artifact)
                    .with_context(|| format!("Cannot attach the SBOM to `{destination}`"))?;
                Some(desc.digest().to_string())
            }
            None => None,
        };
        sbom_report.push(json!({
            "architecture": sbom.architecture,
            "subject": sbom.subject,
            "packages": sbom.packages,
            "file": sbom.file.as_ref().map(|f| f.display().to_string()),
            "referrer": referrer,
        }));
    }
    let signatures = match &signing_key {
        Some(key) => sign_built(global, &loaded, &lock, &built, &sboms, &destination, &written, key, args)?,
        None => Vec::new(),
    };
    let elapsed = started.elapsed().as_secs_f64();

    let images: Vec<_> = built
        .images
        .iter()
        .map(|i| {
            json!({
                "architecture": i.architecture,
                "digest": i.digest,
                "packages": i.packages,
                "pockets": lock.pocket_counts(&i.architecture).into_iter().map(|(k, v)| (k, json!(v))).collect::<serde_json::Map<_, _>>(),
                "layers": i.layers.iter().map(|l| json!({
                    "name": l.name, "digest": l.digest, "size": l.size, "contentSize": l.content, "entries": l.entries,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let report = json!({
        "definition": loaded.origin,
        "destination": destination.to_string(),
        "digest": written.digest().to_string(),
        "sourceDateEpoch": built.epoch,
        "downloaded": downloaded,
        "downloadedBytes": bytes,
        "cached": cached,
        "seconds": (elapsed * 10.0).round() / 10.0,
        "images": images,
        "sboms": sbom_report,
        "signatures": signatures,
    });
    match args.format.format {
        Format::Json => printer.json(&report)?,
        Format::Table => {
            printer.status(&format!(
                "Built {} at SOURCE_DATE_EPOCH={} in {elapsed:.1}s ({downloaded} .debs downloaded, {}; {cached} cached)",
                loaded.origin,
                built.epoch,
                human_size(bytes)
            ));
            for image in &built.images {
                let total: u64 = image.layers.iter().map(|l| l.size).sum();
                printer.status(&format!(
                    "  {}  {}  {} packages, {} compressed",
                    image.architecture,
                    short_digest(&image.digest),
                    image.packages.len(),
                    human_size(total)
                ));
                printer.status(&format!("    from: {}", lock.pocket_summary(&image.architecture)));
                for l in &image.layers {
                    if l.name == "base" {
                        printer.status(&format!("    {:<9} {:>10}  (copied as is)", l.name, human_size(l.size)));
                        continue;
                    }
                    printer.status(&format!(
                        "    {:<9} {:>10}  ({} of files, {} entries)",
                        l.name,
                        human_size(l.size),
                        human_size(l.content),
                        l.entries
                    ));
                }
            }
            for sbom in &sbom_report {
                let arch = sbom["architecture"].as_str().unwrap_or_default();
                let count = sbom["packages"].as_u64().unwrap_or_default();
                if let Some(file) = sbom["file"].as_str() {
                    printer.status(&format!("  SBOM of {arch} ({count} packages) written to {file}"));
                }
                if let Some(referrer) = sbom["referrer"].as_str() {
                    printer.status(&format!("  SBOM of {arch} attached as {}", short_digest(referrer)));
                }
            }
            for s in &signatures {
                printer.status(&format!(
                    "  {} of {} {}: {} {}",
                    s["what"].as_str().unwrap_or_default(),
                    s["architecture"].as_str().unwrap_or_default(),
                    short_digest(s["subject"].as_str().unwrap_or_default()),
                    s["format"].as_str().unwrap_or_default(),
                    s["location"].as_str().unwrap_or_default()
                ));
            }
            printer.status(&format!("Wrote {destination}"));
            printer.out(written.digest().as_ref())?;
        }
    }
    Ok(ExitStatus::Success)
}

/// `--sign`: each platform image signed, its SBOM and SLSA provenance attested (and the index
/// signed too when the build wrote one). Returns one JSON record per signature or attestation.
#[allow(clippy::too_many_arguments)]
fn sign_built(
    global: &GlobalArgs,
    loaded: &Loaded,
    lock: &Lock,
    built: &pare_build::Built,
    sboms: &[BuiltSbom],
    destination: &Location,
    root: &pare_oci::Descriptor,
    key: &pare_sign::SigningKey,
    args: &BuildArgs,
) -> Result<Vec<serde_json::Value>> {
    let Some(store) = crate::context::referrer_store(global, destination)? else {
        anyhow::bail!("`{destination}` cannot hold signatures")
    };
    let docker_reference = match destination {
        Location::Registry(reference) => format!("{}/{}", reference.registry(), reference.repository()),
        Location::Layout { name, .. } => name.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let options = pare_sign::image::SignOptions {
        bundle: args.signature_format != crate::args::SignatureFormat::Legacy,
        legacy: args.signature_format != crate::args::SignatureFormat::Bundle,
        annotations: Default::default(),
        created: pare_oci::rfc3339(built.epoch),
    };
    let sbom_type = match args.sbom_format {
        BuildSbomFormat::SpdxJson => "https://spdx.dev/Document",
        BuildSbomFormat::CyclonedxJson => "https://cyclonedx.org/bom",
    };
    let definition_sha256 = pare_build::provenance::definition_sha256(loaded)?;
    let mut out = Vec::new();
    let mut record =
        |what: &str, architecture: &str, subject: &pare_oci::Descriptor, written: Vec<pare_sign::image::Written>| {
            for w in written {
                out.push(json!({
                    "what": what,
                    "architecture": architecture,
                    "subject": subject.digest().to_string(),
                    "format": w.format,
                    "location": w.location,
                    "new": w.new,
                }));
            }
        };
    let context = || format!("Cannot sign the build in `{destination}`");
    for sbom in sboms {
        let subject = sbom.artifact.subject.clone();
        let target = pare_sign::image::Target {
            store: store.clone(),
            subject: subject.clone(),
            docker_reference: docker_reference.clone(),
        };
        record(
            "signature",
            &sbom.architecture,
            &subject,
            pare_sign::image::sign(&target, key, &options).with_context(context)?,
        );
        let document = sbom.artifact.layers.first().map(|l| l.bytes.as_slice()).unwrap_or_default();
        let predicate: serde_json::Value =
            serde_json::from_slice(document).context("the SBOM pare wrote is not JSON")?;
        let written = pare_sign::image::attest(&target, key, sbom_type, &predicate, &options).with_context(context)?;
        record("SBOM attestation", &sbom.architecture, &subject, written);
        let provenance =
            pare_build::provenance::provenance(loaded, lock, &sbom.architecture, built.epoch, &definition_sha256)?;
        let written =
            pare_sign::image::attest(&target, key, pare_build::provenance::PREDICATE_TYPE, &provenance, &options)
                .with_context(context)?;
        record("provenance attestation", &sbom.architecture, &subject, written);
    }
    // A multi-platform build: the index is signed too (what `pare verify REF` of its tag checks).
    if sboms.iter().all(|s| s.artifact.subject.digest() != root.digest()) {
        let target = pare_sign::image::Target { store, subject: root.clone(), docker_reference };
        record("signature", "index", root, pare_sign::image::sign(&target, key, &options).with_context(context)?);
    }
    Ok(out)
}

/// One platform's build-time SBOM: written to its file (when `--sbom`), and the artifact to attach.
struct BuiltSbom {
    architecture: String,
    subject: String,
    packages: usize,
    file: Option<PathBuf>,
    artifact: pare_oci::referrers::Artifact,
}

/// `FILE` for one architecture, `FILE` with `-ARCH` before the first `.` of its name for several.
fn sbom_file(file: &Path, architecture: &str, several: bool) -> PathBuf {
    if !several {
        return file.to_path_buf();
    }
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // A leading dot belongs to the stem (`.sbom.json` → `.sbom-amd64.json`).
    let split = name.char_indices().skip(1).find(|(_, c)| *c == '.').map(|(i, _)| i);
    let renamed = match split {
        Some(i) => format!("{}-{architecture}{}", &name[..i], &name[i..]),
        None => format!("{name}-{architecture}"),
    };
    file.with_file_name(renamed)
}

/// Catalogs each platform image, checks it against the lock, writes `--sbom` files and makes the artifacts.
fn build_sboms(printer: &Printer, built: &pare_build::Built, lock: &Lock, args: &BuildArgs) -> Result<Vec<BuiltSbom>> {
    let catalogs = pare_build::sbom::catalog_built(built, lock, &args.to)
        .with_context(|| format!("Cannot make the SBOM of {}", args.definition))?;
    let (format, artifact_type) = match args.sbom_format {
        BuildSbomFormat::SpdxJson => (pare_sbom::OutputFormat::SpdxJson, pare_build::sbom::SPDX_ARTIFACT_TYPE),
        BuildSbomFormat::CyclonedxJson => {
            (pare_sbom::OutputFormat::CycloneDxJson, pare_build::sbom::CYCLONEDX_ARTIFACT_TYPE)
        }
    };
    let several = catalogs.len() > 1;
    let created = pare_oci::rfc3339(built.epoch);
    let mut out = Vec::new();
    for c in catalogs {
        for w in &c.warnings {
            printer.warn(w);
        }
        let bytes = pare_sbom::write(&c.inventory, format)?;
        let file = args.sbom.as_deref().map(|f| sbom_file(f, &c.architecture, several));
        if let Some(path) = &file {
            pare_oci::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        let artifact = pare_build::sbom::sbom_artifact(bytes, artifact_type, &c.subject, &created);
        out.push(BuiltSbom {
            architecture: c.architecture,
            subject: c.subject.digest().to_string(),
            packages: c.inventory.packages.len(),
            file,
            artifact,
        });
    }
    Ok(out)
}

pub fn lock(printer: &Printer, definition: &std::path::Path, update: bool) -> Result<ExitStatus> {
    let loaded = Loaded::from_file(definition)?;
    let reporter = Reporter::new(printer);
    let client = pare_build::client(&loaded, None)?;
    let relocked = pare_build::relock(&loaded, &client, update, &|e| reporter.event(e))?;
    reporter.finish();
    if !relocked.written {
        printer.status(&format!("{} is up to date (`pare update` resolves again)", relocked.path.display()));
        return Ok(ExitStatus::Success);
    }
    for change in &relocked.changes {
        printer.status(&change.to_string());
    }
    if relocked.had_lock && relocked.changes.is_empty() {
        printer.status("No package changed");
    }
    let lock = &relocked.lock;
    let counts: Vec<String> =
        lock.architecture.iter().map(|a| format!("{} packages for {}", a.package.len(), a.name)).collect();
    printer.status(&format!("Locked {}: {}", relocked.path.display(), counts.join(", ")));
    for a in &lock.architecture {
        printer.status(&format!("  {} from: {}", a.name, lock.pocket_summary(&a.name)));
    }
    Ok(ExitStatus::Success)
}

pub fn why(printer: &Printer, definition: &str, package: &str, arch: Option<&str>) -> Result<ExitStatus> {
    let loaded = pare_build::load(definition)?;
    let reporter = Reporter::new(printer);
    let only: Vec<String> = arch.map(str::to_string).into_iter().collect();
    let lock = lock_for(printer, &loaded, &reporter, false, &only)?;
    reporter.finish();
    let arch = arch.or_else(|| loaded.definition.architectures.first().map(String::as_str)).unwrap_or("amd64");
    let Some(chain) = lock.why(arch, package) else {
        return Err(pare_build::Error::NotLocked { package: package.to_string(), file: loaded.origin.clone() }.into());
    };
    for (i, (name, relation)) in chain.iter().enumerate() {
        // Names and relations come from the archive's index: one line each, whatever they hold.
        let name = pare_oci::escape_control(name);
        let relation = relation.as_deref().map(|r| pare_oci::escape_control(r));
        let line = match relation {
            None => format!("{name} (requested)"),
            Some(rel) => format!("{}{name} ({rel})", "  ".repeat(i)),
        };
        printer.out(&line)?;
    }
    Ok(ExitStatus::Success)
}

pub fn gallery_list(printer: &Printer, format: Format) -> Result<ExitStatus> {
    let entries = pare_build::gallery::list();
    match format {
        Format::Json => printer.json(&json!(
            entries
                .iter()
                .map(|e| json!({"name": e.name, "suite": e.suite, "debug": e.debug, "description": e.description}))
                .collect::<Vec<_>>()
        ))?,
        Format::Table => {
            let mut table = comfy_table::Table::new();
            table.load_style(comfy_table::presets::NOTHING);
            table.set_header(["NAME", "DESCRIPTION"]);
            for e in &entries {
                table.add_row([format!("gallery:{}", e.name), e.description.clone()]);
            }
            printer.out(&table.to_string())?;
        }
    }
    Ok(ExitStatus::Success)
}

/// `pare build --add`: refuses to write an image in which an added program would not load.
/// "libstdc++6 ships libstdc++.so.6 (…): add it to `packages`", for each library or loader the
/// added programs miss, from the suite's signed Contents index (read only when something is missing).
fn debian_packages_for(
    printer: &Printer,
    reports: &[(String, pare_policy::LoadReport)],
    loaded: &pare_build::Loaded,
    client: &pare_deb::ArchiveClient,
) -> Vec<String> {
    let mut hints = Vec::new();
    let Some(pocket) = loaded.pockets().into_iter().next() else { return hints };
    for (architecture, report) in reports {
        // Each missing file with the directories it may be in: the loader's search path, or the
        // interpreter's own directory.
        let mut wanted: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
        for problem in report.checked.iter().flat_map(|c| &c.problems) {
            match problem {
                pare_policy::Problem::MissingLibrary { library, searched, .. } => {
                    wanted.entry(library.clone()).or_default().extend(searched.iter().cloned());
                }
                pare_policy::Problem::MissingInterpreter { interpreter } => {
                    if let Some((dir, name)) = interpreter.rsplit_once('/') {
                        wanted.entry(name.to_string()).or_default().push(dir.to_string());
                    }
                }
                _ => {}
            }
        }
        let names: std::collections::BTreeSet<String> = wanted.keys().cloned().collect();
        if names.is_empty() {
            continue;
        }
        let found =
            client.fetch_release(&pocket).and_then(|signed| client.find_files(&signed, "main", architecture, &names));
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                printer.warn(&format!(
                    "cannot look up which Debian packages ship {}: {e}",
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
        };
        for (name, dirs) in &wanted {
            // Files in the directories the loader looks in only (a debug copy elsewhere is not it);
            // with merged /usr, /lib/X is /usr/lib/X.
            let in_dirs = |path: &str| {
                let dir = format!("/{}", path.rsplit_once('/').map_or("", |(d, _)| d));
                dirs.iter().any(|d| *d == dir || format!("/usr{d}") == dir)
            };
            let shipped: Vec<&(String, Vec<String>)> =
                found.get(name).map(|v| v.iter().filter(|(path, _)| in_dirs(path)).collect()).unwrap_or_default();
            match shipped.first() {
                Some((path, packages)) => hints.push(format!(
                    "{} ships {name} (/{path}) in {}: add it to `packages`",
                    packages.join(" or "),
                    pocket.suite
                )),
                None => hints.push(format!("no package of {} main ships {name} for {architecture}", pocket.suite)),
            }
        }
    }
    hints
}

/// `--policy`: every rule a built image can answer, over each platform image, before anything
/// is written.
fn check_policy(
    global: &GlobalArgs,
    printer: &Printer,
    built: &pare_build::Built,
    path: &std::path::Path,
    args: &BuildArgs,
) -> Result<()> {
    let mut loaded = super::policy::load(printer, path, &args.db, &[])?;
    let (kept, later): (Vec<_>, Vec<_>) = loaded.policy.rules.drain(..).partition(|r| {
        !matches!(
            r.check,
            pare_policy::Check::Signature { .. }
                | pare_policy::Check::Attestations { .. }
                | pare_policy::Check::DigestPinned
        )
    });
    loaded.policy.rules = kept;
    if !later.is_empty() {
        let ids: Vec<&str> = later.iter().map(|r| r.id.as_str()).collect();
        printer.warn(&format!(
            "policy rules not checked at build time (they are about the published image): {}; run `pare policy check` on it",
            ids.join(", ")
        ));
    }
    let root = built.source.open()?;
    let images = match root {
        pare_oci::Root::Image(image) => vec![image],
        pare_oci::Root::Index(index) => {
            index.manifests().iter().map(|d| index.open(d)?.image(None)).collect::<Result<Vec<_>, _>>()?
        }
    };
    let cache = pare_sbom::LayerCache::from_env();
    let registry = crate::context::registry_options(global)?;
    let resolve = |name: &str| pare_policy::resolve_base(&registry, name);
    let cx = super::policy::context(&loaded, Some(&resolve), cache.as_ref(), pare_oci::fs::Limits::default())?;
    let mut table = String::new();
    let mut denied = false;
    for image in &images {
        let subject = format!("{} ({})", args.to, image.platform().map(|p| p.to_string()).unwrap_or_default());
        let s = pare_policy::Subject {
            reference: &subject,
            digest: image.digest(),
            image,
            referrers: None,
            namespace: None,
        };
        let evaluation = pare_policy::evaluate(&loaded.policy, &s, &cx)?;
        for w in &evaluation.warnings {
            printer.warn(w);
        }
        denied |= evaluation.verdict.denied();
        table.push_str(&super::policy::table(&evaluation.verdict));
        printer.status(&super::policy::summary(&loaded.policy, &evaluation.verdict));
    }
    if !denied {
        for line in table.lines() {
            printer.warn(line);
        }
        return Ok(());
    }
    Err(crate::status::GateFailure {
        message: format!(
            "the built image does not pass the policy {}; nothing was written:\n{}",
            path.display(),
            table.trim_end()
        ),
        hints: vec![
            "fix what each DENY line says, or check a policy exception with an owner and an expiry date".into(),
        ],
    }
    .into())
}

fn check_added_programs(
    printer: &Printer,
    built: &pare_build::Built,
    add: &[pare_build::AddSpec],
    loaded: &pare_build::Loaded,
    client: &pare_deb::ArchiveClient,
) -> Result<()> {
    let roots: Vec<String> = add.iter().map(|a| a.dest.clone()).collect();
    let reports = pare_policy::check_under(&built.source.open()?, &roots)?;
    let mut problems = Vec::new();
    let mut hints = Vec::new();
    for (architecture, report) in &reports {
        for checked in report.checked.iter().filter(|c| !c.problems.is_empty()) {
            for problem in &checked.problems {
                let line = format!("{architecture}: {}: {problem}", checked.path);
                if problem.is_fatal() {
                    problems.push(line);
                } else {
                    printer.warn(&line);
                }
                if let Some(hint) = pare_policy::gallery_hint(problem)
                    && !hints.contains(&hint)
                {
                    hints.push(hint);
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let message = format!("an added program would not load in this image:\n  {}", problems.join("\n  "));
    let mut hints: Vec<String> = hints.into_iter().map(String::from).collect();
    hints.extend(debian_packages_for(printer, &reports, loaded, client));
    hints.push(
        "add the Debian package that ships the missing file to `packages`, or build anyway with --no-load-check".into(),
    );
    Err(crate::status::GateFailure { message, hints }.into())
}

#[cfg(test)]
mod tests {
    use super::sbom_file;
    use std::path::{Path, PathBuf};

    #[test]
    fn sbom_files_per_architecture() {
        let one = |f: &str, several| sbom_file(Path::new(f), "amd64", several);
        assert_eq!(one("out/app.spdx.json", false), PathBuf::from("out/app.spdx.json"));
        assert_eq!(one("out/app.spdx.json", true), PathBuf::from("out/app-amd64.spdx.json"));
        assert_eq!(one("sbom", true), PathBuf::from("sbom-amd64"));
        assert_eq!(one(".sbom.json", true), PathBuf::from(".sbom-amd64.json"));
        assert_eq!(one("/a.b/c.cdx.json", true), PathBuf::from("/a.b/c-amd64.cdx.json"));
    }
}
