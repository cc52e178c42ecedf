//! Writing the merged filesystem to a directory, safely.
//!
//! Everything is written relative to directory handles: each parent directory is opened one
//! component at a time with `O_NOFOLLOW`, and each entry is created by its single name inside it
//! (through cap-std, which also refuses to leave the directory it was given). So no symlink is ever
//! followed while writing, whatever the image or the target directory holds. The lexical checks
//! before writing (in [`FsView`] and here) give the clear messages.
//!
//! Symlink targets are written as they are and never followed. Absolute targets are rootfs-relative
//! (they mean something inside the container); relative targets that climb above the root are
//! refused.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};
use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Timestamps, Uid};

use super::path::{file_name, parent, subtree_prefix, symlink_escapes};
use super::read::open_layer;
use super::view::Change;
use super::{Entry, EntryKind, FsView, Limits};
use crate::image::Image;
use crate::{Error, Result};

/// Directory handles kept open while writing.
const MAX_OPEN_DIRS: usize = 64;

/// How to unpack.
#[derive(Clone, Debug, Default)]
pub struct UnpackOptions {
    pub limits: Limits,
    /// Unpack into a directory that already has content: the image's paths replace what is there.
    pub allow_non_empty: bool,
    /// Set owners from the image. `None`: only when running as root.
    pub preserve_owner: Option<bool>,
    /// Create character and block devices (as root). Off: they are skipped with a warning, as a
    /// rootless runtime would; FIFOs are always created.
    pub allow_devices: bool,
    /// Keep setuid and setgid bits of files. Off: they are dropped with a warning.
    pub keep_setid: bool,
}

/// What an unpack wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct UnpackStats {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Device nodes and FIFOs created.
    pub nodes: u64,
    /// Entries not written (device nodes when not root).
    pub skipped: u64,
    /// File content bytes written.
    pub bytes: u64,
    /// The view's warnings and the unpack's own.
    pub warnings: Vec<String>,
}

/// Read and write buffer of the single pass: most files are written with one `write`.
const WRITE_BUFFER: usize = 1 << 20;

/// Extracts the merged root filesystem of an image into `dir` (created if missing; it must be
/// empty).
///
/// One pass, as umoci does it: each layer is applied in order, in place (whiteouts delete,
/// opaque directories clear, later layers overwrite), while its blob digest and diff ID are
/// checked as it streams. The [`FsView`] is built alongside and decides every step, so the
/// checks are the view's. If anything fails, everything written is removed: a missing `dir` is
/// written under a temporary name beside it and renamed into place at the end, an empty one is
/// emptied again.
pub fn unpack(image: &Image, dir: &Path, limits: &Limits) -> Result<UnpackStats> {
    unpack_with(image, dir, &UnpackOptions { limits: limits.clone(), ..UnpackOptions::default() })
}

/// [`unpack`] with options. A non-empty `dir` (with [`UnpackOptions::allow_non_empty`]) cannot
/// be cleaned up after a failure, so there the image is verified whole before anything is
/// written, and each layer is read twice.
pub fn unpack_with(image: &Image, dir: &Path, options: &UnpackOptions) -> Result<UnpackStats> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => unpack_staged(image, dir, options),
        Ok(meta) if meta.is_dir() && is_empty_dir(dir)? => {
            unpack_fresh(image, dir, options).inspect_err(|_| empty_dir(dir))
        }
        _ => {
            let view = FsView::from_image(image, &options.limits)?;
            let layers = view.layers_of(image)?;
            let max = options.limits.max_total_size;
            view.unpack(|index| open_layer(&layers, index, max), dir, options)
        }
    }
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    Ok(std::fs::read_dir(dir).map_err(Error::io(dir))?.next().is_none())
}

/// Unpacks into a new directory beside `dir`, renamed to `dir` when complete.
fn unpack_staged(image: &Image, dir: &Path, options: &UnpackOptions) -> Result<UnpackStats> {
    let (Some(name), Some(parent)) = (dir.file_name(), dir.parent()) else {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        return unpack_fresh(image, dir, options).inspect_err(|_| empty_dir(dir));
    };
    let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
    std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".pare-unpack-");
    if let Some(prefix) = prefix.to_str() {
        crate::sweep::sweep(parent, |n| n.starts_with(prefix));
    }
    let staging = loop {
        let mut staged = std::ffi::OsString::from(".");
        staged.push(name);
        staged.push(format!(".pare-unpack-{:016x}", rand::random::<u64>()));
        let staging = parent.join(staged);
        match std::fs::create_dir(&staging) {
            Ok(()) => break staging,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::Io { path: staging, source: e }),
        }
    };
    let in_use = crate::sweep::hold(&staging);
    let done = unpack_fresh(image, &staging, options).and_then(|stats| {
        std::fs::rename(&staging, dir).map_err(|e| Error::UnpackTarget {
            path: dir.to_path_buf(),
            reason: format!("the unpacked tree could not be moved there from `{}`: {e}", staging.display()),
        })?;
        Ok(stats)
    });
    drop(in_use);
    if done.is_err() {
        remove_tree(&staging);
    }
    done
}

/// Removes what a failed unpack wrote into `dir`, keeping `dir`. Best effort: the error that
/// made it fail is the one to report.
fn empty_dir(dir: &Path) {
    if let Ok(listing) = std::fs::read_dir(dir) {
        for entry in listing.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => remove_tree(&entry.path()),
                _ => {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// Removes a directory tree without following symlinks (std's `remove_dir_all` does not);
/// directories without write permission (as a non-root user) are opened up first.
pub(crate) fn remove_tree(dir: &Path) {
    if std::fs::remove_dir_all(dir).is_ok() {
        return;
    }
    fn open_up(dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        if let Ok(listing) = std::fs::read_dir(dir) {
            for entry in listing.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    open_up(&entry.path());
                }
            }
        }
    }
    open_up(dir);
    let _ = std::fs::remove_dir_all(dir);
}

/// The single pass into an empty directory: each tar entry is mirrored on disk as the view
/// applies it, then directories get their final metadata.
fn unpack_fresh(image: &Image, dir: &Path, options: &UnpackOptions) -> Result<UnpackStats> {
    let root = Dir::open_ambient_dir(dir, ambient_authority()).map_err(Error::io(dir))?;
    let owners = options.preserve_owner.unwrap_or_else(|| rustix::process::geteuid().is_root());
    let mut fresh = Fresh {
        writer: Writer {
            root: Rc::new(root),
            base: dir.to_path_buf(),
            cached: HashMap::new(),
            owners,
            replace: false,
            allow_devices: options.allow_devices,
            keep_setid: options.keep_setid,
            stats: UnpackStats::default(),
        },
        buffer: vec![0; WRITE_BUFFER],
        skipped: HashSet::new(),
    };
    let view =
        FsView::from_image_with(image, &options.limits, |view, change, content| fresh.apply(view, change, content))?;
    view.check_unpackable()?;
    let mut writer = fresh.writer;
    let dirs: Vec<&Entry> = view.entries().filter(|e| e.kind == EntryKind::Dir).collect();
    for entry in dirs.into_iter().rev() {
        writer.finish_dir(entry)?;
    }
    // Counted from the result, not from what was written and later replaced.
    let mut stats = UnpackStats { warnings: view.warnings().to_vec(), ..UnpackStats::default() };
    stats.warnings.append(&mut writer.stats.warnings);
    let mut contents = HashSet::new();
    for entry in view.entries().filter(|e| e.path != "/") {
        match entry.kind {
            EntryKind::Dir => stats.dirs += 1,
            EntryKind::Symlink => stats.symlinks += 1,
            EntryKind::File | EntryKind::Hardlink => {
                // A file and its hardlinks share one content: one file, the others links.
                if entry.origin.is_none_or(|origin| contents.insert(origin)) {
                    stats.files += 1;
                    stats.bytes += entry.size;
                } else {
                    stats.hardlinks += 1;
                }
            }
            EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo => {
                if fresh.skipped.contains(&entry.path) {
                    stats.skipped += 1;
                } else {
                    stats.nodes += 1;
                }
            }
        }
    }
    tracing::debug!(dir = %dir.display(), files = stats.files, bytes = stats.bytes, "unpacked");
    Ok(stats)
}

/// Mirrors the view's changes on disk, in a directory that held nothing but what this pass wrote.
struct Fresh {
    writer: Writer,
    buffer: Vec<u8>,
    /// Device nodes in the view that were not created (not root).
    skipped: HashSet<String>,
}

impl Fresh {
    fn apply(&mut self, view: &FsView, change: Change, content: &mut dyn Read) -> Result<()> {
        match change {
            Change::None => Ok(()),
            Change::Removed { mut removed, recreated } => {
                // Deepest first; a directory that keeps entries of the current layer stays.
                removed.sort_unstable_by(|a, b| b.0.cmp(&a.0));
                for (path, kind) in &removed {
                    self.remove(path, *kind == EntryKind::Dir)?;
                }
                for path in &recreated {
                    self.make_dir(path)?;
                }
                Ok(())
            }
            Change::Put { path, replaced, parents } => {
                for dir in &parents {
                    self.make_dir(dir)?;
                }
                let Some(entry) = view.get(&path) else { return Ok(()) };
                if path == "/" {
                    return Ok(());
                }
                let same_file = entry.kind == EntryKind::Hardlink && entry.link_target.as_deref() == Some(&path);
                match replaced {
                    // A directory over a directory keeps it; a hardlink to itself keeps the file.
                    Some(EntryKind::Dir) if entry.kind == EntryKind::Dir => return Ok(()),
                    _ if same_file => return Ok(()),
                    Some(EntryKind::Dir) => self.remove_tree(&path)?,
                    Some(_) => self.remove(&path, false)?,
                    None => {}
                }
                match entry.kind {
                    EntryKind::File => self.write_file(entry, view.label(entry.layer), content),
                    EntryKind::Hardlink => {
                        let target = entry.link_target.as_deref().unwrap_or_default();
                        let from = self.writer.dir(parent(target))?;
                        let to = self.writer.dir(parent(&path))?;
                        rustix::fs::linkat(&*from, file_name(target), &*to, file_name(&path), AtFlags::empty())
                            .map_err(|e| self.writer.io_err(&path)(e.into()))
                    }
                    _ => {
                        let skipped = self.writer.stats.skipped;
                        self.writer.create(entry)?;
                        if self.writer.stats.skipped != skipped {
                            self.skipped.insert(path);
                        }
                        Ok(())
                    }
                }
            }
        }
    }

    /// Creates a directory the view made implicitly (or afresh after a whiteout): it may still be
    /// there when it kept entries of the current layer.
    fn make_dir(&mut self, path: &str) -> Result<()> {
        let dir = self.writer.dir(parent(path))?;
        match rustix::fs::mkdirat(&*dir, file_name(path), Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => Ok(()),
            Err(e) => Err(self.writer.io_err(path)(e.into())),
        }
    }

    /// Removes one path; a directory only when empty (what remains belongs to the current layer).
    fn remove(&mut self, path: &str, is_dir: bool) -> Result<()> {
        let dir = self.writer.dir(parent(path))?;
        let flags = if is_dir { AtFlags::REMOVEDIR } else { AtFlags::empty() };
        match rustix::fs::unlinkat(&*dir, file_name(path), flags) {
            Ok(()) => {
                if is_dir {
                    self.writer.cached.clear();
                }
                Ok(())
            }
            // Skipped devices were never written; kept directories hold current entries.
            Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(rustix::io::Errno::NOTEMPTY) if is_dir => Ok(()),
            Err(e) => Err(self.writer.io_err(path)(e.into())),
        }
        .map(|()| {
            self.skipped.remove(path);
        })
    }

    /// Removes a directory with everything below it (cap-std never follows a symlink doing so).
    fn remove_tree(&mut self, path: &str) -> Result<()> {
        let dir = self.writer.dir(parent(path))?;
        dir.remove_dir_all(file_name(path)).map_err(self.writer.io_err(path))?;
        self.writer.cached.clear();
        let prefix = subtree_prefix(path);
        self.skipped.retain(|p| !p.starts_with(&prefix));
        Ok(())
    }

    /// Writes a file under its own name: the directory is new, so nothing can be there
    /// (`O_EXCL`); a failure removes the whole directory.
    fn write_file(&mut self, entry: &Entry, label: &str, content: &mut dyn Read) -> Result<()> {
        let dir = self.writer.dir(parent(&entry.path))?;
        let fd = rustix::fs::openat(
            &*dir,
            file_name(&entry.path),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| self.writer.io_err(&entry.path)(e.into()))?;
        let mut file = std::fs::File::from(fd);
        let mut written: u64 = 0;
        loop {
            // Fill the buffer before writing: the stream hands out small pieces.
            let mut filled = 0;
            while filled < self.buffer.len() {
                match content.read(&mut self.buffer[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(read_error(e, &entry.path, label)),
                }
            }
            if filled == 0 {
                break;
            }
            file.write_all(&self.buffer[..filled]).map_err(|e| {
                Error::from_io(format!("writing `{}`", self.writer.host_path(&entry.path).display()), e)
            })?;
            written += filled as u64;
        }
        if written != entry.size {
            return Err(Error::Malformed {
                what: format!("file `{}`", entry.path),
                location: format!("layer `{label}`"),
                reason: format!("its content has {written} bytes, its header says {}", entry.size),
            }
            .with_hint("the layer is truncated or corrupt"));
        }
        self.writer.set_meta_fd(&file, entry, true)
    }
}

/// An error reading a file's content: the verifying readers' own errors come back as they were.
fn read_error(e: io::Error, path: &str, label: &str) -> Error {
    match e.downcast::<Error>() {
        Ok(ours) => ours,
        Err(e) => Error::Malformed {
            what: format!("content of `{path}`"),
            location: format!("layer `{label}`"),
            reason: e.to_string(),
        }
        .with_hint("the layer is truncated or corrupt"),
    }
}

impl FsView {
    /// Writes this view to `dir`, reading file contents from the layers `open` gives (by index).
    pub fn unpack<R, O>(&self, open: O, dir: &Path, options: &UnpackOptions) -> Result<UnpackStats>
    where
        R: Read,
        O: FnMut(usize) -> Result<R>,
    {
        self.check_unpackable()?;
        prepare_target(dir, options.allow_non_empty)?;
        let root = Dir::open_ambient_dir(dir, ambient_authority()).map_err(Error::io(dir))?;
        let owners = options.preserve_owner.unwrap_or_else(|| rustix::process::geteuid().is_root());
        let mut writer = Writer {
            root: Rc::new(root),
            base: dir.to_path_buf(),
            cached: HashMap::new(),
            owners,
            replace: options.allow_non_empty,
            allow_devices: options.allow_devices,
            keep_setid: options.keep_setid,
            stats: UnpackStats { warnings: self.warnings().to_vec(), ..UnpackStats::default() },
        };
        for entry in self.entries().filter(|e| e.path != "/") {
            writer.create(entry)?;
        }
        self.write_contents(&mut writer, open)?;
        // Directories last, deepest first: their mode may forbid writing, and writing in them
        // changes their mtime.
        let dirs: Vec<&Entry> = self.entries().filter(|e| e.kind == EntryKind::Dir).collect();
        for entry in dirs.into_iter().rev() {
            writer.finish_dir(entry)?;
        }
        tracing::debug!(dir = %dir.display(), files = writer.stats.files, bytes = writer.stats.bytes, "unpacked");
        Ok(writer.stats)
    }

    /// Refuses what cannot be written safely, before anything is written.
    fn check_unpackable(&self) -> Result<()> {
        for entry in self.entries() {
            if let (EntryKind::Symlink, Some(target)) = (entry.kind, &entry.link_target)
                && symlink_escapes(&entry.path, target)
            {
                return Err(Error::UnsafeEntry {
                    layer: self.label(entry.layer).to_string(),
                    path: entry.path.clone(),
                    reason: format!("symlink target `{target}` climbs above the root directory"),
                }
                .with_hint("the layer is malformed or made to point outside the directory it is unpacked into"));
            }
        }
        Ok(())
    }

    /// Writes each surviving file once, from the layer that holds its content; hardlinks to it
    /// follow.
    fn write_contents<R, O>(&self, writer: &mut Writer, open: O) -> Result<()>
    where
        R: Read,
        O: FnMut(usize) -> Result<R>,
    {
        self.for_each_content_with(
            open,
            |_| true,
            |group, content| {
                // The file's own entry goes first when it survives; the others link to it.
                let primary = group.iter().position(|e| e.kind == EntryKind::File).unwrap_or(0);
                let Some(first) = group.get(primary) else { return Ok(()) };
                writer.write_file(first, content)?;
                for (i, other) in group.iter().enumerate() {
                    if i != primary {
                        writer.hard_link(first, other)?;
                    }
                }
                Ok(())
            },
        )
    }
}

fn prepare_target(dir: &Path, allow_non_empty: bool) -> Result<()> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(dir).map_err(Error::io(dir)),
        Err(e) => Err(Error::Io { path: dir.to_path_buf(), source: e }),
        Ok(meta) if !meta.is_dir() => {
            Err(Error::UnpackTarget { path: dir.to_path_buf(), reason: "it exists and is not a directory".into() })
        }
        Ok(_) => {
            let mut listing = std::fs::read_dir(dir).map_err(Error::io(dir))?;
            if !allow_non_empty && listing.next().is_some() {
                return Err(Error::UnpackTarget { path: dir.to_path_buf(), reason: "it is not empty".into() }.with_hint(
                    "give a new or empty directory, or allow a non-empty one (its paths that the image also has are \
                     replaced)",
                ));
            }
            Ok(())
        }
    }
}

struct Writer {
    root: Rc<Dir>,
    base: PathBuf,
    /// Directories opened recently, by path.
    cached: HashMap<String, Rc<Dir>>,
    owners: bool,
    replace: bool,
    allow_devices: bool,
    keep_setid: bool,
    stats: UnpackStats,
}

impl Writer {
    /// The mode to set: the entry's, without setuid/setgid on non-directories unless kept.
    fn mode_of(&mut self, entry: &Entry) -> u32 {
        let mode = entry.mode & 0o7777;
        if self.keep_setid || entry.kind == EntryKind::Dir || mode & 0o6000 == 0 {
            return mode;
        }
        self.warn(format!(
            "dropped the setuid/setgid bits of `{}` (mode {mode:o}); --keep-setid keeps them",
            entry.path
        ));
        mode & !0o6000
    }

    fn host_path(&self, path: &str) -> PathBuf {
        self.base.join(path.trim_start_matches('/'))
    }

    fn io_err(&self, path: &str) -> impl FnOnce(io::Error) -> Error {
        let path = self.host_path(path);
        move |source| Error::Io { path, source }
    }

    /// Opens a directory of the tree one component at a time, never following a symlink, from
    /// the deepest directory already open.
    fn dir(&mut self, path: &str) -> Result<Rc<Dir>> {
        if path == "/" {
            return Ok(self.root.clone());
        }
        if let Some(dir) = self.cached.get(path) {
            return Ok(dir.clone());
        }
        let mut start = 0;
        let mut current = self.root.clone();
        let mut end = path.len();
        while let Some(slash) = path[..end].rfind('/') {
            if slash == 0 {
                break;
            }
            if let Some(dir) = self.cached.get(&path[..slash]) {
                current = dir.clone();
                start = slash;
                break;
            }
            end = slash;
        }
        for part in path[start..].split('/').filter(|p| !p.is_empty()) {
            let fd = rustix::fs::openat(
                &*current,
                part,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| self.io_err(path)(e.into()))?;
            current = Rc::new(Dir::from_std_file(std::fs::File::from(fd)));
        }
        if self.cached.len() >= MAX_OPEN_DIRS {
            self.cached.clear();
        }
        self.cached.insert(path.to_string(), current.clone());
        Ok(current)
    }

    /// In a non-empty target, clears the way for a new entry. Returns whether a directory that can
    /// be kept is already there.
    fn make_room(&self, dir: &Dir, name: &str, path: &str, for_dir: bool) -> Result<bool> {
        if !self.replace {
            return Ok(false);
        }
        match dir.symlink_metadata(name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io_err(path)(e)),
            Ok(meta) if meta.is_dir() && for_dir => Ok(true),
            Ok(meta) if meta.is_dir() => dir.remove_dir_all(name).map(|()| false).map_err(self.io_err(path)),
            Ok(_) => dir.remove_file(name).map(|()| false).map_err(self.io_err(path)),
        }
    }

    fn warn(&mut self, message: String) {
        tracing::debug!("{message}");
        self.stats.warnings.push(message);
    }

    fn owner(&mut self, entry: &Entry) -> Option<(Uid, Gid)> {
        if !self.owners {
            return None;
        }
        match (u32::try_from(entry.uid), u32::try_from(entry.gid)) {
            (Ok(uid), Ok(gid)) if uid != u32::MAX && gid != u32::MAX => {
                Some((Uid::from_raw_unchecked(uid), Gid::from_raw_unchecked(gid)))
            }
            _ => {
                self.warn(format!("`{}`: owner {}:{} cannot be set, left as is", entry.path, entry.uid, entry.gid));
                None
            }
        }
    }

    /// Creates directories, symlinks and special files; files wait for the content pass.
    fn create(&mut self, entry: &Entry) -> Result<()> {
        let (dir_path, name) = (parent(&entry.path), file_name(&entry.path));
        let dir = self.dir(dir_path)?;
        match entry.kind {
            EntryKind::Dir => {
                if !self.make_room(&dir, name, &entry.path, true)? {
                    dir.create_dir(name).map_err(self.io_err(&entry.path))?;
                }
                self.stats.dirs += 1;
            }
            EntryKind::Symlink => {
                let target = entry.link_target.as_deref().unwrap_or_default();
                self.make_room(&dir, name, &entry.path, false)?;
                dir.symlink_contents(target, name).map_err(self.io_err(&entry.path))?;
                self.set_meta_at(&dir, name, entry, false)?;
                self.stats.symlinks += 1;
            }
            EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo => {
                let (kind, dev) = match (entry.kind, entry.device) {
                    (EntryKind::Fifo, _) => (FileType::Fifo, 0),
                    (EntryKind::CharDevice, Some((major, minor))) => {
                        (FileType::CharacterDevice, rustix::fs::makedev(major, minor))
                    }
                    (_, Some((major, minor))) => (FileType::BlockDevice, rustix::fs::makedev(major, minor)),
                    (_, None) => (FileType::CharacterDevice, 0),
                };
                if kind != FileType::Fifo && !self.allow_devices {
                    self.warn(format!(
                        "skipped {} `{}`: device nodes from images are created only with --allow-devices",
                        entry.kind, entry.path
                    ));
                    self.stats.skipped += 1;
                    return Ok(());
                }
                if kind != FileType::Fifo && !rustix::process::geteuid().is_root() {
                    self.warn(format!("skipped {} `{}`: creating devices needs root", entry.kind, entry.path));
                    self.stats.skipped += 1;
                    return Ok(());
                }
                self.make_room(&dir, name, &entry.path, false)?;
                match rustix::fs::mknodat(&*dir, name, kind, Mode::from_raw_mode(entry.mode & 0o777), dev) {
                    Ok(()) => {}
                    Err(rustix::io::Errno::PERM) if kind != FileType::Fifo => {
                        self.warn(format!("skipped {} `{}`: not permitted here", entry.kind, entry.path));
                        self.stats.skipped += 1;
                        return Ok(());
                    }
                    Err(e) => return Err(self.io_err(&entry.path)(e.into())),
                }
                self.set_meta_at(&dir, name, entry, true)?;
                self.stats.nodes += 1;
            }
            EntryKind::File | EntryKind::Hardlink => {}
        }
        Ok(())
    }

    /// Owner, mode and mtime of an entry just created in `dir`, without following it.
    fn set_meta_at(&mut self, dir: &Dir, name: &str, entry: &Entry, mode: bool) -> Result<()> {
        if let Some((uid, gid)) = self.owner(entry) {
            rustix::fs::chownat(dir, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| self.io_err(&entry.path)(e.into()))?;
        }
        if mode {
            // Only special files we just created come here: chmod cannot meet a symlink.
            let mode = self.mode_of(entry);
            rustix::fs::chmodat(dir, name, Mode::from_raw_mode(mode), AtFlags::empty())
                .map_err(|e| self.io_err(&entry.path)(e.into()))?;
        }
        rustix::fs::utimensat(dir, name, &times(entry.mtime), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.io_err(&entry.path)(e.into()))?;
        Ok(())
    }

    /// Owner, then mode (chown clears setuid bits), then mtime, on an open file or directory.
    fn set_meta_fd(&mut self, fd: impl AsFd, entry: &Entry, with_time: bool) -> Result<()> {
        if let Some((uid, gid)) = self.owner(entry) {
            rustix::fs::fchown(&fd, Some(uid), Some(gid)).map_err(|e| self.io_err(&entry.path)(e.into()))?;
        }
        let mode = self.mode_of(entry);
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(|e| self.io_err(&entry.path)(e.into()))?;
        if with_time {
            rustix::fs::futimens(&fd, &times(entry.mtime)).map_err(|e| self.io_err(&entry.path)(e.into()))?;
        }
        Ok(())
    }

    /// Writes a file under a temporary name in its directory and renames it into place, so a
    /// failed unpack never leaves a partial file under the real name.
    fn write_file(&mut self, entry: &Entry, content: &mut dyn Read) -> Result<()> {
        let (dir_path, name) = (parent(&entry.path), file_name(&entry.path));
        let dir = self.dir(dir_path)?;
        self.make_room(&dir, name, &entry.path, false)?;
        let (tmp, mut file) = loop {
            let tmp = format!(".pare-tmp-{:016x}", rand::random::<u64>());
            match dir.open_with(&tmp, OpenOptions::new().write(true).create_new(true).mode(0o600)) {
                Ok(file) => break (tmp, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(self.io_err(&entry.path)(e)),
            }
        };
        let written = (|| -> Result<u64> {
            // A large buffer: one write per 256 KiB, not per 8 KiB (io::copy fills a BufWriter directly).
            let mut buffered = io::BufWriter::with_capacity(256 << 10, &mut file);
            let written = io::copy(content, &mut buffered)
                .and_then(|n| buffered.flush().map(|()| n))
                .map_err(|e| Error::from_io(format!("writing `{}`", self.host_path(&entry.path).display()), e))?;
            drop(buffered);
            if written != entry.size {
                return Err(Error::Malformed {
                    what: format!("file `{}`", entry.path),
                    location: "its layer".into(),
                    reason: format!("its content has {written} bytes, its header says {}", entry.size),
                });
            }
            file.flush().map_err(self.io_err(&entry.path))?;
            self.set_meta_fd(&file, entry, true)?;
            dir.rename(&tmp, &dir, name).map_err(self.io_err(&entry.path))?;
            Ok(written)
        })();
        match written {
            Ok(written) => {
                self.stats.files += 1;
                self.stats.bytes += written;
                Ok(())
            }
            Err(e) => {
                let _ = dir.remove_file(&tmp);
                Err(e)
            }
        }
    }

    fn hard_link(&mut self, original: &Entry, link: &Entry) -> Result<()> {
        let from = self.dir(parent(&original.path))?;
        let to = self.dir(parent(&link.path))?;
        let name = file_name(&link.path);
        self.make_room(&to, name, &link.path, false)?;
        from.hard_link(file_name(&original.path), &to, name).map_err(self.io_err(&link.path))?;
        self.stats.hardlinks += 1;
        Ok(())
    }

    fn finish_dir(&mut self, entry: &Entry) -> Result<()> {
        // Implicit directories (no tar entry) keep the time they were made.
        let with_time = entry.origin.is_some();
        if entry.path == "/" {
            if entry.origin.is_none() {
                return Ok(());
            }
            // cap-std holds directories as O_PATH handles: open the root for real to chmod it.
            let root = rustix::fs::openat(
                &*self.root,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| self.io_err("/")(e.into()))?;
            return self.set_meta_fd(&root, entry, with_time);
        }
        let dir = self.dir(parent(&entry.path))?;
        let fd = rustix::fs::openat(
            &*dir,
            file_name(&entry.path),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.io_err(&entry.path)(e.into()))?;
        self.set_meta_fd(&fd, entry, with_time)
    }
}

fn times(mtime: i64) -> Timestamps {
    let at = rustix::fs::Timespec { tv_sec: mtime, tv_nsec: 0 };
    Timestamps { last_access: at, last_modification: at }
}
