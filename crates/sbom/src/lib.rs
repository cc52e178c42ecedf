//! What ships in an image: catalogers over an image's merged filesystem ([`FsView`](pare_oci::fs::FsView)) produce an
//! [`Inventory`]; writers turn it into SPDX 2.3 JSON, CycloneDX 1.6 (or 1.5) JSON, pare's own JSON
//! or a table.
//!
//! Catalogers read every file they need in one streaming pass over the layers
//! ([`FsView::for_each_file`](pare_oci::fs::FsView::for_each_file)). Bad input (a malformed status paragraph, a file that is not text,
//! a file over the size cap) becomes a warning; the rest of the inventory is still produced.
//!
//! Output is deterministic: packages are sorted, identifiers are derived from content, and the
//! timestamp comes from the caller (`SOURCE_DATE_EPOCH`) or the image's config.

mod apk;
mod cache;
mod catalog;
mod cpe;
mod deb;
#[doc(hidden)]
pub mod fuzzing;
mod gobin;
mod golinked;
mod java;
mod lang;
mod model;
mod node;
mod python;
pub mod read;
mod rustbin;
pub mod write;

pub use cache::LayerCache;
pub use catalog::{Catalog, catalog_image, rfc3339_seconds};
pub use cpe::cpes;
pub use deb::debian_package;
pub use golinked::{GoLinked, LinkedBinaries};
pub use model::{Checksum, Ecosystem, Inventory, Location, OsRelease, Package, Subject, Tool};
pub use pare_oci::{escape_control, escape_control_keep_lines};
pub use read::{MAX_SBOM_BYTES, ReadSbom, SbomFormat, read};
pub use write::{OutputFormat, write};

/// The crate's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Oci(#[from] pare_oci::Error),
    #[error("reading `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid timestamp `{value}`: {reason}")]
    Timestamp { value: String, reason: String },
    #[error("`{location}`: {size} bytes, larger than the {max}-byte cap for SBOMs")]
    SbomTooLarge { location: String, size: usize, max: usize },
    #[error("`{location}` is not valid JSON: {reason}")]
    SbomJson { location: String, reason: String },
    #[error("`{location}`: `{field}`: {reason}")]
    SbomInvalid { location: String, field: String, reason: String, hint: String },
    /// Another error with a hint that only the place it was made knows. Shown as that error (it is
    /// also the source, so its own causes follow; the CLI prints a repeated message once).
    #[error("{error}")]
    Hinted {
        #[source]
        error: Box<Error>,
        hint: String,
    },
}

impl Error {
    /// What to do about it, when there is something: the CLI prints it after the error chain.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Oci(e) => e.hint(),
            Error::SbomTooLarge { .. } => Some("split the SBOM, or check that this is the right file".into()),
            Error::SbomJson { .. } => Some("pass an SPDX 2.x or CycloneDX JSON document".into()),
            Error::SbomInvalid { hint, .. } if !hint.is_empty() => Some(hint.clone()),
            Error::Hinted { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }

    /// This error with a hint (which replaces the variant's own).
    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        Error::Hinted { error: Box::new(self), hint: hint.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
