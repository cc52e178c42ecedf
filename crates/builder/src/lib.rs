//! pare's image builder: from an image definition (TOML) and its lock to a minimal OCI image made
//! of Debian packages, without running maintainer scripts.
//!
//! The path of the data: [`load`] reads a definition file or a [`gallery`] entry;
//! [`lock_definition`] verifies the archive's signed Releases, fetches the indexes and resolves
//! every architecture into a [`Lock`]; [`current_lock`] reads `DEF.lock` and refuses it when the
//! definition changed since; [`build`] downloads the locked `.deb`s (checked against the lock's
//! SHA-256, cached), writes the package layer, the system layer and the application layer, and
//! returns the image (or index) as a [`pare_oci`] source to copy anywhere.
//!
//! | module | what |
//! |---|---|
//! | [`definition`] | the definition types (documented, with a JSON schema), parsing with line:column errors, checks |
//! | [`paths`] | path excludes and includes (docs, man pages, locales out; copyright files in) |
//! | [`lock`] | `DEF.lock`: packages per architecture, Release dates, the definition checksum; diffs for `pare update` |
//! | [`mod@relock`] | which lock a build uses (the file, or a fresh resolution); `pare lock`/`update` writing `DEF.lock` |
//! | [`mod@resolve`] | Releases, indexes and the resolver, into a lock; build [`Event`]s |
//! | [`base`] | `base = "LOCATION@sha256:…"`: the pinned base image's layers and config under pare's |
//! | [`assemble`] | layers and images: package files, dpkg `status.d`, accounts, CA bundle, `--add` files |
//! | [`cacerts`] | the Java trust store (PKCS#12) from the CA certificates |
//! | [`gallery`] | the golden definitions compiled in |
//! | [`sbom`] | the build-time SBOM (catalog + lock hashes) and attaching it as an OCI referrer |

pub mod assemble;
pub mod base;
pub mod cacerts;
pub mod definition;
mod error;
pub mod gallery;
mod hostfile;
pub mod lock;
pub mod paths;
pub mod provenance;
pub mod relock;
pub mod resolve;
pub mod sbom;

use std::path::{Path, PathBuf};

pub use assemble::{AddSpec, BuildOptions, Built, ImageSummary, LayerSummary, build};
pub use base::BaseRef;
pub use definition::{Definition, LayerCompression, Loaded, json_schema};
pub use error::Error;
pub use lock::{Change, Lock, LockedPackage};
pub use relock::{LockOrigin, Relocked, lock_for_build, relock};
pub use resolve::{Event, Events, lock_definition};

/// Loads `gallery:NAME` or a definition file.
pub fn load(spec: &str) -> Result<Loaded, Error> {
    match spec.strip_prefix("gallery:") {
        Some(name) => gallery::load(name),
        None => Loaded::from_file(Path::new(spec)),
    }
}

/// An archive client for the definition: its keyring, the cache at `cache` (default
/// [`pare_deb::Cache::default_root`]).
pub fn client(loaded: &Loaded, cache: Option<PathBuf>) -> Result<pare_deb::ArchiveClient, Error> {
    let root = cache.unwrap_or_else(pare_deb::Cache::default_root);
    // Downloads of killed runs, in the cache's `<kind>/tmp` directories.
    for kind in [pare_deb::cache::DEBS, pare_deb::cache::INDEXES] {
        pare_oci::sweep::sweep(&root.join(kind).join("tmp"), |_| true);
    }
    let cache = pare_deb::Cache::new(root);
    Ok(pare_deb::ArchiveClient::new(loaded.keyring()?, cache)?)
}

/// The definition's lock when it has one: `Ok(None)` when there is no lock file; an error
/// when the lock is unreadable or was made for another version of the definition.
pub fn current_lock(loaded: &Loaded) -> Result<Option<Lock>, Error> {
    let Some(path) = &loaded.lock_path else { return Ok(None) };
    if !path.exists() {
        return Ok(None);
    }
    let lock = Lock::read(path)?;
    if lock.definition != loaded.definition.lock_checksum() {
        return Err(Error::StaleLock { lock: path.display().to_string(), definition: loaded.origin.clone() });
    }
    Ok(Some(lock))
}
