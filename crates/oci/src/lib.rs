//! OCI images for pare.
//!
//! # Overview
//! - [`Source`] is the small core each transport implements (layout directories, OCI and Docker
//!   archives, directories, registries): the root descriptor and verified blobs.
//! - [`Root`] opens what a source points at: an [`Image`] or an [`Index`] of images. Images read
//!   their manifest when opened, their config on first use and their [`Layer`]s only when streamed.
//! - [`Sink`] is the write side; [`copy()`] moves images between any source and any sink without
//!   changing a byte of their manifests.
//! - [`Location`] parses the `oci:DIR[:TAG]`, `oci-archive:`, `docker-archive:`, `dir:` and registry
//!   forms the CLI accepts.

mod archive;
mod assemble;
mod copy;
mod digest;
mod dir;
mod error;
mod fsutil;
mod image;
mod inspect;
mod layer_writer;
mod layout;
mod location;
mod media;
mod open;
mod platform;
mod reference;
mod sink;
pub mod sweep;
mod text;

pub mod fs;
pub mod referrers;
pub mod registry;

pub use archive::{DOCKER_ARCHIVE_MAX_SIZE, DockerArchiveSink, DockerArchiveSource, OciArchiveSink, OciArchiveSource};
pub use assemble::{AssembledSource, Assembler, ImageSpec, RuntimeConfig, descriptor_json, rfc3339};
pub use copy::{Copied, CopyOptions, PlatformChoice, Progress, Quiet, copy, copy_image, copy_with};
pub use digest::{
    Digest, DigestAlgorithm, Hasher, HashingReader, HashingWriter, VerifyingReader, parse_digest, read_verified, sha256,
};
pub use dir::{entries_from_dir, image_from_dir};
pub use error::{Error, Result};
pub use fsutil::{write_atomic, write_atomic_from};
pub use image::{Image, Index, Layer, MAX_INDEX_NESTING, MAX_METADATA_SIZE, Root, Source};
pub use inspect::{HistoryReport, ImageReport, InspectImages, InspectReport, LayerReport};
pub use layer_writer::{
    EntryData, FileContent, GZIP_LEVEL, LayerEntry, LayerOptions, WrittenLayer, ZSTD_LEVEL, source_date_epoch,
    write_layer,
};
pub use layout::{
    LayoutSink, LayoutSource, REF_NAME, add_index_entry, blob_path, is_attachment_tag, read_index, set_named_entry,
};
pub use location::Location;
pub use media::{Compression, LimitedReader, ManifestKind, TarTrailerPad};
pub use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
pub use open::{OpenOptions, Opened};
pub use platform::Platform;
pub use reference::{DEFAULT_REGISTRY, Reference, valid_tag};
pub use sink::{ConcurrentBlobs, Sink};
pub use text::{error_chain, escape_control, escape_control_keep_lines, line_col, wildcard_match};

/// Media type constants.
pub mod media_types {
    pub use crate::media::*;
}

/// Serialises JSON with sorted object keys and no whitespace, so the same content always gives
/// the same bytes (and digest). oci-spec keeps annotations in a `HashMap`, whose order varies.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    // Keys are sorted here, not left to `serde_json::Map`: any crate in the build that turns on serde_json's
    // `preserve_order` feature (serde-saphyr does) makes maps keep insertion order instead, and digests
    // would then depend on which crates are linked.
    let mut value = value.clone();
    value.sort_all_objects();
    // Serialising a `Value` to a Vec cannot fail: its maps have string keys and writes to memory succeed.
    serde_json::to_vec(&value).unwrap_or_default()
}

/// Like [`canonical_json`], for any serialisable value.
pub fn to_canonical_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    let value = serde_json::to_value(value).map_err(|e| Error::Unsupported(format!("cannot serialise JSON: {e}")))?;
    Ok(canonical_json(&value))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn canonical_json_sorts_keys_whatever_order_maps_keep() {
        // Built in reverse order: with serde_json's `preserve_order` (on in workspace builds) the map keeps it.
        let mut inner = serde_json::Map::new();
        inner.insert("z".into(), 1.into());
        inner.insert("a".into(), 2.into());
        let mut outer = serde_json::Map::new();
        outer.insert("config".into(), serde_json::Value::Object(inner));
        outer.insert("Architecture".into(), "amd64".into());
        let bytes = super::canonical_json(&serde_json::Value::Object(outer));
        assert_eq!(String::from_utf8(bytes).unwrap(), r#"{"Architecture":"amd64","config":{"a":2,"z":1}}"#);
    }
}
