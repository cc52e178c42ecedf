//! What every verb needs besides its arguments: SRC and DST turned into locations and opened (the registry
//! client included), the vulnerability database opened, SBOM and VEX files read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use pare_oci::fs::Limits;
use pare_oci::{Image, Location, Platform, Root, Sink, Source};
use pare_sbom::Inventory;
use pare_vuln::report::DatabaseSummary;

use crate::args::{DbArg, DbPathArg, GlobalArgs, LimitArgs, PlatformArg};
use crate::output::Printer;

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
            crate::status::hinted(e.to_string(), "SBOM files are read by `pare scan`, `pare diff` and `pare sbom`")
        }
        e => e.into(),
    })
}

pub(crate) fn to_limits(args: &LimitArgs) -> Limits {
    Limits { max_total_size: args.max_size, max_entries: args.max_entries, max_file_size: args.max_file_size }
}

pub(crate) fn parse_platform(arg: &PlatformArg) -> Result<Option<Platform>> {
    Ok(arg.platform.as_deref().map(Platform::parse).transpose()?)
}

/// How locations are opened: the registry client when `location` is a registry reference.
pub(crate) fn open_options(global: &GlobalArgs, location: &Location) -> Result<pare_oci::OpenOptions> {
    // Only registry reads go through the blob cache.
    let (registry, blob_cache) = match location {
        Location::Registry(_) => (Some(registry_client(global)?), pare_oci::registry::BlobCache::from_env()),
        _ => (None, None),
    };
    Ok(pare_oci::OpenOptions { registry, blob_cache, ..Default::default() })
}

/// Options for reading registries other than a command's own location (the base images policy and
/// the monitor resolve): the registry client and blob cache, as for any registry location.
pub(crate) fn registry_options(global: &GlobalArgs) -> Result<pare_oci::OpenOptions> {
    Ok(pare_oci::OpenOptions {
        registry: Some(registry_client(global)?),
        blob_cache: pare_oci::registry::BlobCache::from_env(),
        ..Default::default()
    })
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

/// Where the referrers of images at `location` are kept (layouts and registries).
pub(crate) fn referrer_store(
    global: &GlobalArgs,
    location: &Location,
) -> Result<Option<pare_oci::referrers::ReferrerStore>> {
    Ok(location.referrer_store(&open_options(global, location)?)?)
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

/// The database path: `--db`, else `$PARE_VULN_DB`, else the default in the cache directory.
pub(crate) fn db_path(arg: &DbPathArg) -> PathBuf {
    arg.path.clone().unwrap_or_else(pare_vuln::db::default_path)
}

/// Opens the database, warning when it is old.
pub(crate) fn open_db(printer: &Printer, arg: &DbArg) -> Result<(pare_vuln::Database, DatabaseSummary)> {
    let path = db_path(&arg.file);
    if !path.exists() {
        return Err(crate::status::hinted(
            format!("no vulnerability database at {}", path.display()),
            "run `pare db update` (or `pare db update --from DIR` offline), or pass --db PATH",
        ));
    }
    let db = pare_vuln::Database::open(&path)?;
    let info = db.info();
    let built = info.built_at;
    let age = jiff::Timestamp::now().duration_since(built);
    if !age.is_negative() && age.unsigned_abs() > arg.max_db_age {
        printer.warn(&format!(
            "the vulnerability database {} was built {} ({} days ago); newer advisories are missing: run `pare db update`",
            path.display(),
            built.strftime("%Y-%m-%d %H:%M UTC"),
            age.as_secs() / 86400
        ));
    }
    let summary = DatabaseSummary {
        path: path.display().to_string(),
        built_at: built.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        sources: info.sources.iter().map(|s| format!("{} ({})", s.kind, s.location)).collect(),
    };
    Ok((db, summary))
}

/// What SRC names (an SBOM file, a directory, or an image), parsed before anything slow is done.
pub(crate) fn parse_src(src: &str) -> Result<Input> {
    input(src).map_err(|e| match e {
        pare_oci::Error::InvalidLocation { .. } | pare_oci::Error::InvalidReference { .. } => crate::status::hinted(
            e.to_string(),
            "SRC is an image location (oci:DIR, docker-archive:FILE, …), a directory, or an SBOM file",
        ),
        e => e.into(),
    })
}

/// The inventory of SRC: an SBOM file as read, or an image or directory cataloged.
pub(crate) fn inventory_of(
    global: &GlobalArgs,
    printer: &Printer,
    src: &str,
    platform: &PlatformArg,
    limits: &LimitArgs,
) -> Result<Inventory> {
    with_subject(global, printer, src, parse_src(src)?, platform, limits, |subject| {
        let (inventory, warnings) = subject.into_inventory()?;
        for warning in &warnings {
            printer.warn(warning);
        }
        Ok(inventory)
    })
}

/// Opens SRC as a scan subject (an image, or the inventory of an SBOM file) and hands it to `run`.
pub(crate) fn with_subject<T>(
    global: &GlobalArgs,
    printer: &Printer,
    src: &str,
    input: Input,
    platform: &PlatformArg,
    limits: &LimitArgs,
    run: impl FnOnce(pare_vuln::Subject<'_>) -> Result<T>,
) -> Result<T> {
    let location = match input {
        Input::Image(location) => location,
        Input::File(path) => {
            let read = read_sbom_file(&path)?;
            for w in &read.warnings {
                printer.warn(w);
            }
            return run(pare_vuln::Subject::Inventory(Box::new(read.inventory)));
        }
    };
    let image = open_image(global, printer, &location, platform)?;
    let cache = pare_sbom::LayerCache::from_env();
    let limits = to_limits(limits);
    run(pare_vuln::Subject::Image { image: &image, name: src, limits: &limits, cache: cache.as_ref() })
}

/// Reads a document the user names, at most one byte over `max`, so that its parser can say it is
/// too large: `/dev/zero` or an endless pipe is never read to the end.
pub(crate) fn read_document(path: &Path, max: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1).read_to_end(&mut bytes).with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes)
}

/// Reads an SBOM file (SPDX JSON or tag-value, CycloneDX JSON, pare's JSON; the format from the content).
pub(crate) fn read_sbom_file(path: &Path) -> Result<pare_sbom::ReadSbom> {
    let bytes = read_document(path, pare_sbom::MAX_SBOM_BYTES)?;
    Ok(pare_sbom::read(&bytes, &path.display().to_string())?)
}

pub(crate) fn read_vex(paths: &[PathBuf], printer: &Printer) -> Result<Vec<pare_vuln::vex::Statement>> {
    let mut statements = Vec::new();
    for path in paths {
        let bytes = read_document(path, pare_vuln::vex::MAX_DOCUMENT)?;
        let doc = pare_vuln::vex::read(&bytes, &path.display().to_string())?;
        for w in &doc.warnings {
            printer.warn(w);
        }
        statements.extend(doc.statements);
    }
    Ok(statements)
}

/// What signature verification trusts (`pare verify`, `verify-attestation`, `verify-blob`): a key, or a
/// keyless identity; either way the trusted root (the file, else Sigstore's public-good root) checks
/// the log entries and timestamps a bundle carries.
pub(crate) fn trust(args: &crate::args::TrustArgs) -> Result<pare_sign::Trust> {
    let trusted_root = match &args.trusted_root {
        Some(path) => pare_sign::TrustedRoot::from_json(&read_document(path, pare_sign::MAX_TRUSTED_ROOT_SIZE)?)
            .with_context(|| format!("Cannot read the trusted root {}", path.display()))?,
        None => pare_sign::TrustedRoot::public_good()?,
    };
    match (&args.key, &args.certificate_identity, &args.certificate_oidc_issuer) {
        (Some(path), _, _) => {
            let key = public_key(path)?;
            Ok(pare_sign::Trust::KeyAndRoot { key, trusted_root })
        }
        (None, Some(identity), Some(issuer)) => {
            Ok(pare_sign::Trust::Identity { identity: identity.clone(), issuer: issuer.clone(), trusted_root })
        }
        _ => anyhow::bail!("--key, or --certificate-identity with --certificate-oidc-issuer, is required"),
    }
}

/// The largest public key file read.
const MAX_PUBLIC_KEY_FILE: usize = 64 * 1024;

/// A public key file (PKIX PEM, as cosign.pub).
pub(crate) fn public_key(path: &Path) -> Result<pare_sign::PublicKey> {
    pare_sign::PublicKey::from_pem(&read_document(path, MAX_PUBLIC_KEY_FILE)?)
        .with_context(|| format!("Cannot read the public key {}", path.display()))
}
