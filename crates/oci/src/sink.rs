//! Where images are written: layouts, archives, registries.

use std::io::Read;

use oci_spec::image::Descriptor;

use crate::Result;

/// A destination for image content. [`crate::copy`] writes blobs first, then manifests
/// bottom-up, then names the root, then calls [`Sink::finish`], so a sink never holds a manifest
/// whose blobs are missing.
pub trait Sink {
    fn location(&self) -> String;

    /// Whether the sink already has this blob or manifest (so copying can skip it).
    fn has(&mut self, desc: &Descriptor) -> Result<bool>;

    /// Stores a blob. The reader is verified by the caller; a sink must not keep content whose
    /// reader failed (write to a temporary name and rename after the last byte).
    fn put_blob(&mut self, desc: &Descriptor, content: &mut dyn Read) -> Result<()>;

    /// Stores a manifest or index (already verified against `desc`).
    fn put_manifest(&mut self, desc: &Descriptor, bytes: &[u8]) -> Result<()>;

    /// Names the top-level manifest or index (a tag, or the archive's reference).
    fn set_root(&mut self, desc: &Descriptor) -> Result<()>;

    /// Whether the sink can hold an index; sinks that cannot (Docker archives) get one image.
    fn accepts_index(&self) -> bool {
        true
    }

    /// Makes everything written visible (atomic where the format allows).
    fn finish(self: Box<Self>) -> Result<()>;

    /// Where referrers of what this sink holds can be attached (layouts and registries); `None`
    /// for sinks that cannot hold them (archives).
    fn referrer_store(&self) -> Option<crate::referrers::ReferrerStore> {
        None
    }

    /// A handle that stores blobs from several threads at once, for sinks that can.
    fn concurrent(&self) -> Option<&(dyn ConcurrentBlobs + Sync)> {
        None
    }
}

/// Storing blobs from several threads at once; same contract as [`Sink::put_blob`].
pub trait ConcurrentBlobs {
    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()>;

    /// Whether [`ConcurrentBlobs::link_blob`] can work (a sink on the local filesystem).
    fn links(&self) -> bool {
        false
    }

    /// Stores a blob by hard-linking a local file whose content was verified against `desc`
    /// (no second copy on disk). `Ok(false)`: it could not (another filesystem): stream it.
    fn link_blob(&self, _desc: &Descriptor, _file: &std::path::Path) -> Result<bool> {
        Ok(false)
    }
}
