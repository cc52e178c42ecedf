//! The merged filesystem of an image, and safe extraction.
//!
//! [`FsView`] applies an image's layers bottom-up, following the OCI layer changeset rules
//! (whiteouts, opaque directories, an entry replacing what was there), into an in-memory index of
//! the final filesystem: one [`Entry`] per path, no file contents. Contents are read on demand by
//! re-streaming the layer that holds them ([`FsView::read`], [`FsView::for_each_file`]).
//!
//! [`unpack`] writes that merged filesystem to a directory without ever following a symlink.
//!
//! # Paths
//! Paths are absolute and normalised: `/usr/bin/env`, the root is `/`. Tar names are read as
//! rootfs-relative: `./etc/passwd`, `etc/passwd` and `/etc/passwd` are the same entry (like
//! containerd and umoci do). A name whose `..` climbs above the root (`../../etc/x`) is an error,
//! as in Docker, rather than being clamped to the root silently.
//!
//! # Whiteouts
//! `.wh.NAME` removes NAME and everything below it; `.wh..wh..opq` hides every lower-layer child
//! of its directory. Both apply to lower layers only: entries of the same layer stay, whatever
//! their order in the tar (OCI layer spec). Whiteout files never appear in the view. Top-level
//! AUFS metadata (`.wh..wh.aufs`, `.wh..wh.plnk/…`) is skipped with a warning, as Docker does.
//!
//! # Rules beyond the OCI spec
//! - An entry whose parent is a symlink, or a file, is an error: pare never writes through a symlink.
//!   Missing parent directories are created (mode 0755, owned by root).
//! - A hardlink must name a file that exists, in the same layer or below; it shares that file's
//!   content and metadata. A hardlink to a symlink, device or FIFO becomes a copy of it (a warning).
//! - Names that are not UTF-8 are kept with U+FFFD replacements, with a warning.

mod path;
mod read;
mod tarstream;
mod unpack;
mod view;

pub use path::{normalize, symlink_escapes};
pub(crate) use unpack::remove_tree;
pub use unpack::{UnpackOptions, UnpackStats, unpack, unpack_with};
pub use view::{FsView, LayerIndex, LayerVisitor};

/// Caps on what reading an image may cost, against decompression bombs and hostile layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Uncompressed bytes over all layers (tar headers and padding included).
    pub max_total_size: u64,
    /// Tar entries over all layers (whiteouts included).
    pub max_entries: u64,
    /// The size of one file, and of what [`FsView::read`] returns.
    pub max_file_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_total_size: 16 << 30, max_entries: 2_000_000, max_file_size: 4 << 30 }
    }
}

/// The type of a filesystem entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// Another name for a regular file; `link_target` is the path the tar named.
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

impl EntryKind {
    /// A short name for messages and listings.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symlink",
            EntryKind::Hardlink => "hardlink",
            EntryKind::CharDevice => "character device",
            EntryKind::BlockDevice => "block device",
            EntryKind::Fifo => "FIFO",
        }
    }

    /// Whether the entry has content that can be read (files and hardlinks to files).
    pub fn has_content(self) -> bool {
        matches!(self, EntryKind::File | EntryKind::Hardlink)
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One path of the merged filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Absolute, normalised: `/usr/bin/env`; the root is `/`.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits, including setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: Option<String>,
    pub gname: Option<String>,
    /// Content size for files and hardlinks; 0 for the rest.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Symlinks: the target as stored (absolute targets are rootfs-relative). Hardlinks: the
    /// normalised path of the file they link to.
    pub link_target: Option<String>,
    /// Devices: major and minor numbers.
    pub device: Option<(u32, u32)>,
    /// Index of the layer this entry comes from, 0 for the bottom layer.
    pub layer: usize,
    /// Where the content (for files and hardlinks: the file's own tar entry) is: layer and
    /// entry number within that layer's tar. `None` for directories created implicitly.
    pub(crate) origin: Option<(usize, u64)>,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }

    pub fn is_symlink(&self) -> bool {
        self.kind == EntryKind::Symlink
    }

    /// Files and hardlinks to files: what [`FsView::read`] returns content for.
    pub fn is_file(&self) -> bool {
        self.kind.has_content()
    }

    /// Where the content of a file or hardlink is: the layer and the entry's number in that
    /// layer's tar (the same on every pass over the layer). `None` for implicit directories.
    pub fn content_origin(&self) -> Option<(usize, u64)> {
        self.origin
    }

    /// The last component of the path (empty for the root).
    pub fn name(&self) -> &str {
        path::file_name(&self.path)
    }
}
