//! Building the merged filesystem index from layers, and looking paths up in it.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Bound;

use super::path::{components, join, normalize, subtree_prefix};
use super::tarstream::{Budget, RawHeader, RawKind, walk_layer};
use super::{Entry, EntryKind, Limits};
use crate::digest::Digest;
use crate::image::Image;
use crate::{Error, Result};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
const AUFS_PREFIX: &str = ".wh..wh.";
/// Symlinks followed by [`FsView::resolve`] before giving up, as Linux does.
const MAX_SYMLINKS: usize = 40;
/// Longest name, link target, user or group name accepted (Linux's PATH_MAX).
const MAX_TEXT: usize = 4096;
/// Warnings kept; more are counted.
const MAX_WARNINGS: usize = 1000;

/// What one tar entry changed in the view, for [`FsView`]'s callers that mirror it on disk.
pub(crate) enum Change {
    /// Nothing (skipped entries, PAX global headers, whiteouts of nothing).
    None,
    /// A whiteout or opaque marker removed these paths (with their kinds, in path order), then
    /// directories were created afresh for entries of the same layer below them.
    Removed { removed: Vec<(String, EntryKind)>, recreated: Vec<String> },
    /// An entry was put at `path`, after creating the missing parents `parents` (top first).
    /// `replaced` is the kind of what was there; a directory replaced by a non-directory went with
    /// everything below it.
    Put { path: String, replaced: Option<EntryKind>, parents: Vec<String> },
}

/// One layer's tar headers, as the view applied them: enough to merge the layer again without
/// reading it. This is what a per-layer cache keeps (with what its catalogers found); serialize it
/// with serde.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerIndex {
    /// `(entry number, header)` in tar order.
    entries: Vec<(u64, RawHeader)>,
    /// The tar stream lacked its end-of-archive blocks.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unterminated: bool,
}

impl LayerIndex {
    /// The number of tar entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What [`FsView::from_image_visiting`] asks and tells while it merges an image's layers.
pub trait LayerVisitor {
    /// The index of a layer from an earlier pass (a cache keyed by the layer's digest): the view
    /// applies it instead of reading the layer. `None` reads the layer.
    fn cached(&mut self, layer: usize, digest: &Digest) -> Option<LayerIndex>;

    /// A regular file of a layer being read, just merged into `view`, with its content (which
    /// the visitor may read or leave). Hardlinks are not passed: their content is their target's.
    fn file(&mut self, view: &FsView, entry: &Entry, content: &mut dyn Read) -> std::io::Result<()>;

    /// A layer was read to its end and its digests checked; `index` replays it.
    fn layer_read(&mut self, layer: usize, digest: &Digest, index: LayerIndex);
}

/// The merged filesystem of an image: every path of the final root filesystem, without contents.
#[derive(Clone, Debug)]
pub struct FsView {
    entries: BTreeMap<String, Entry>,
    warnings: Vec<String>,
    dropped_warnings: usize,
    labels: Vec<String>,
    limits: Limits,
    image: Option<Digest>,
}

impl FsView {
    fn empty(limits: &Limits) -> FsView {
        let mut entries = BTreeMap::new();
        entries.insert("/".to_string(), implicit_dir("/", 0));
        FsView {
            entries,
            warnings: Vec::new(),
            dropped_warnings: 0,
            labels: Vec::new(),
            limits: limits.clone(),
            image: None,
        }
    }

    /// Reads every layer of an image once, verifying each blob and diff ID, and merges them.
    pub fn from_image(image: &Image, limits: &Limits) -> Result<FsView> {
        FsView::from_image_with(image, limits, |_, _, _| Ok(()))
    }

    /// [`FsView::from_image`], calling `hook` after each tar entry with the view, what the entry
    /// changed and the entry's content (unread: the hook may read it). A layer's digests are
    /// checked at its end, after its entries went through the hook.
    pub(crate) fn from_image_with<H>(image: &Image, limits: &Limits, mut hook: H) -> Result<FsView>
    where
        H: FnMut(&FsView, Change, &mut dyn Read) -> Result<()>,
    {
        let layers = image.layers()?;
        let mut view = FsView::empty(limits);
        let mut budget = Budget::new(limits);
        for layer in &layers {
            let reader = layer.uncompressed(limits.max_total_size)?;
            view.apply_layer(layer.digest().as_ref(), reader, &mut budget, None, &mut hook)?;
        }
        view.image = Some(image.digest().clone());
        view.finish();
        Ok(view)
    }

    /// [`FsView::from_image`] in one pass that also feeds a visitor: layers the visitor has an
    /// index for are merged from it without being read; the others are streamed once, each
    /// file's content offered to the visitor, and their index handed back once verified.
    ///
    /// A layer's digests are checked at its end: if this returns an error, discard what the
    /// visitor learnt from the layer it failed in.
    pub fn from_image_visiting<V: LayerVisitor>(image: &Image, limits: &Limits, visitor: &mut V) -> Result<FsView> {
        let layers = image.layers()?;
        let mut view = FsView::empty(limits);
        let mut budget = Budget::new(limits);
        for (number, layer) in layers.iter().enumerate() {
            let digest = layer.digest();
            let label = digest.to_string();
            // A cached index stands for the blob only while the blob is there as the manifest says.
            if image.source().blob_present(layer.descriptor())
                && let Some(index) = visitor.cached(number, digest)
            {
                view.apply_index(&label, &index, &mut budget)?;
                continue;
            }
            let reader = layer.uncompressed(limits.max_total_size)?;
            let mut index = LayerIndex::default();
            view.apply_layer(&label, reader, &mut budget, Some(&mut index.entries), &mut |view, change, content| {
                let Change::Put { path, .. } = &change else { return Ok(()) };
                let Some(entry) = view.entries.get(path).filter(|e| e.kind == EntryKind::File) else {
                    return Ok(());
                };
                visitor.file(view, entry, content).map_err(|e| match e.downcast::<Error>() {
                    Ok(ours) => ours,
                    Err(e) => Error::Stream { context: format!("reading `{path}` in layer `{label}`"), source: e },
                })
            })?;
            index.unterminated = budget.unterminated.contains(&label);
            visitor.layer_read(number, digest, index);
        }
        view.image = Some(image.digest().clone());
        view.finish();
        Ok(view)
    }

    /// Merges a layer from its index, with the same limits as reading it.
    fn apply_index(&mut self, label: &str, index: &LayerIndex, budget: &mut Budget) -> Result<()> {
        let layer = self.labels.len();
        self.labels.push(label.to_string());
        let consumed = budget.counter();
        for (ordinal, header) in &index.entries {
            budget.count_entry(label)?;
            // Headers and data as the tar stream had them (512-byte blocks).
            let blocks = header.size.div_ceil(512).saturating_add(1).saturating_mul(512);
            let total = consumed.get().saturating_add(blocks);
            if total > self.limits.max_total_size {
                return Err(Error::LimitExceeded {
                    what: format!("the uncompressed size of the image's layers (reached in layer `{label}`)"),
                    limit: self.limits.max_total_size,
                    hint: "raise it with --max-size BYTES if this image is really that large".into(),
                });
            }
            consumed.set(total);
            self.apply_entry(label, layer, *ordinal, header.clone())?;
        }
        if index.unterminated {
            self.warn(format!(
                "layer `{label}` ends without the tar end-of-archive blocks (as umoci 0.4 writes); read as complete"
            ));
        }
        Ok(())
    }

    /// Merges uncompressed tar streams, bottom layer first, each with a label for messages
    /// (a layer digest, a file name).
    pub fn from_layers<I, R>(layers: I, limits: &Limits) -> Result<FsView>
    where
        I: IntoIterator<Item = (String, R)>,
        R: Read,
    {
        let mut view = FsView::empty(limits);
        let mut budget = Budget::new(limits);
        for (label, reader) in layers {
            view.apply_layer(&label, reader, &mut budget, None, &mut |_, _, _| Ok(()))?;
        }
        view.finish();
        Ok(view)
    }

    /// The entry at a path, without following symlinks. The path is normalised first
    /// (`usr/bin/../bin/env` is `/usr/bin/env`).
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(&normalize(path))
    }

    /// All entries, sorted by path, the root first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The number of entries, the root included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the filesystem holds nothing but its root.
    pub fn is_empty(&self) -> bool {
        self.entries.len() <= 1
    }

    /// The entries directly inside a directory, sorted by path. Symlinks are not followed:
    /// use [`FsView::resolve`] first to list `/bin` when it links to `/usr/bin`.
    pub fn children<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a Entry> + use<'a> {
        let prefix = subtree_prefix(&normalize(dir));
        Children { view: self, start: Bound::Included(prefix.clone()), prefix }
    }

    /// What `pare ls` lists at `path` (`/` when `None`): a file alone, a directory with everything below it,
    /// or, `shallow`, only its direct children; sorted by path. `location` names the image in errors.
    pub fn list(&self, path: Option<&str>, shallow: bool, location: &str) -> Result<Vec<&Entry>> {
        let path = normalize(path.unwrap_or("/"));
        let Some(entry) = self.entries.get(&path) else {
            return Err(Error::NotFound {
                what: "Path".into(),
                name: path,
                location: location.to_string(),
                hint: Some("`pare ls IMAGE` lists every path".into()),
            });
        };
        Ok(if entry.kind != EntryKind::Dir {
            vec![entry]
        } else if shallow {
            self.children(&path).collect()
        } else {
            std::iter::once(entry).chain(self.descendants(&path)).collect()
        })
    }

    /// Every entry below a directory (not the directory itself), sorted by path.
    pub fn descendants<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a Entry> + use<'a> {
        self.subtree(&normalize(dir)).map(|(_, e)| e)
    }

    /// Follows symlinks, in every component and at the end, inside the view: absolute targets
    /// start at the image's root and `..` stops there, as in a container.
    pub fn resolve(&self, path: &str) -> Result<&Entry> {
        let resolved = self.resolve_path(path, true)?;
        self.entries.get(&resolved).ok_or_else(|| self.not_found(path))
    }

    /// Like [`FsView::resolve`], but a symlink at the end is returned rather than followed.
    pub fn resolve_parent(&self, path: &str) -> Result<&Entry> {
        let resolved = self.resolve_path(path, false)?;
        self.entries.get(&resolved).ok_or_else(|| self.not_found(path))
    }

    /// Problems that did not stop the merge: names that are not UTF-8, entry types pare skips,
    /// hardlinks turned into copies.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The label of each layer, bottom first (layer digests for images).
    pub fn layer_labels(&self) -> &[String] {
        &self.labels
    }

    /// The image the view was built from, if it was built from one.
    pub fn image_digest(&self) -> Option<&Digest> {
        self.image.as_ref()
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn location(&self) -> String {
        match &self.image {
            Some(digest) => format!("the filesystem of image `{digest}`"),
            None => "the merged layers".to_string(),
        }
    }

    fn not_found(&self, path: &str) -> Error {
        Error::NotFound {
            what: "path".into(),
            name: path.to_string(),
            location: self.location(),
            hint: Some("`pare ls IMAGE DIR` lists what a directory holds".into()),
        }
    }

    fn resolve_path(&self, path: &str, follow_last: bool) -> Result<String> {
        let mut resolved: Vec<String> = Vec::new();
        let mut pending: Vec<String> = path.split('/').rev().map(str::to_string).collect();
        let mut followed = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            resolved.push(part);
            let current = join(&resolved.iter().map(String::as_str).collect::<Vec<_>>());
            let is_last = pending.iter().all(|p| p.is_empty() || p == ".");
            let Some(entry) = self.entries.get(&current) else {
                return Err(self.not_found(path));
            };
            match entry.kind {
                EntryKind::Symlink if follow_last || !is_last => {
                    followed += 1;
                    if followed > MAX_SYMLINKS {
                        return Err(Error::FsPath {
                            path: path.to_string(),
                            reason: format!("too many levels of symbolic links (more than {MAX_SYMLINKS})"),
                        });
                    }
                    resolved.pop();
                    let target = entry.link_target.as_deref().unwrap_or_default();
                    if target.starts_with('/') {
                        resolved.clear();
                    }
                    pending.extend(target.split('/').rev().map(str::to_string));
                }
                EntryKind::Dir => {}
                kind if !is_last => {
                    return Err(Error::FsPath {
                        path: path.to_string(),
                        reason: format!("`{current}` is a {kind}, not a directory"),
                    });
                }
                _ => {}
            }
        }
        Ok(join(&resolved.iter().map(String::as_str).collect::<Vec<_>>()))
    }

    pub(crate) fn label(&self, layer: usize) -> &str {
        self.labels.get(layer).map_or("?", String::as_str)
    }

    fn subtree<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a String, &'a Entry)> + use<'a> {
        let prefix = subtree_prefix(dir);
        self.entries
            .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| k.as_str() != "/")
    }

    fn warn(&mut self, message: String) {
        tracing::debug!("{message}");
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        } else {
            self.dropped_warnings += 1;
        }
    }

    fn finish(&mut self) {
        if self.dropped_warnings > 0 {
            self.warnings.push(format!("{} more warnings not shown", self.dropped_warnings));
            self.dropped_warnings = 0;
        }
    }

    /// Merges one layer's tar stream; with `record`, keeps each header for a [`LayerIndex`].
    fn apply_layer<R, H>(
        &mut self,
        label: &str,
        reader: R,
        budget: &mut Budget,
        mut record: Option<&mut Vec<(u64, RawHeader)>>,
        hook: &mut H,
    ) -> Result<()>
    where
        R: Read,
        H: FnMut(&FsView, Change, &mut dyn Read) -> Result<()>,
    {
        let layer = self.labels.len();
        self.labels.push(label.to_string());
        let before = self.entries.len();
        let consumed = budget.counter();
        walk_layer(reader, label, budget, |ordinal, entry| {
            let header = RawHeader::parse(entry).map_err(|e| {
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                match e.downcast::<Error>() {
                    Ok(ours) => ours,
                    Err(e) => Error::Malformed {
                        what: format!("tar header of entry `{name}`"),
                        location: format!("layer `{label}`"),
                        reason: e.to_string(),
                    }
                    .with_hint("the layer is not a valid tar archive, or it is corrupt"),
                }
            })?;
            // Refuse a bomb by its header, before inflating it.
            if consumed.get().saturating_add(header.size) > self.limits.max_total_size {
                return Err(Error::LimitExceeded {
                    what: format!(
                        "the uncompressed size of the image's layers (entry `{}` of {} bytes in layer `{label}`)",
                        String::from_utf8_lossy(&header.name),
                        header.size
                    ),
                    limit: self.limits.max_total_size,
                    hint: "raise it with --max-size BYTES if this image is really that large".into(),
                });
            }
            if let Some(record) = record.as_deref_mut() {
                record.push((ordinal, header.clone()));
            }
            let change = self.apply_entry(label, layer, ordinal, header)?;
            hook(self, change, entry)
        })?;
        if budget.unterminated.iter().any(|l| l == label) {
            self.warn(format!(
                "layer `{label}` ends without the tar end-of-archive blocks (as umoci 0.4 writes); read as complete"
            ));
        }
        tracing::debug!(
            layer = label,
            entries = self.entries.len(),
            added = self.entries.len() as i64 - before as i64,
            "applied layer"
        );
        Ok(())
    }

    fn apply_entry(&mut self, label: &str, layer: usize, ordinal: u64, header: RawHeader) -> Result<Change> {
        let lengths = [
            ("name", header.name.len()),
            ("link target", header.link.as_ref().map_or(0, Vec::len)),
            ("user name", header.uname.as_ref().map_or(0, Vec::len)),
            ("group name", header.gname.as_ref().map_or(0, Vec::len)),
        ];
        if let Some((what, _)) = lengths.iter().find(|(_, len)| *len > MAX_TEXT) {
            let shown: String = String::from_utf8_lossy(&header.name).chars().take(200).collect();
            return Err(Error::UnsafeEntry {
                layer: label.to_string(),
                path: shown,
                reason: format!("its {what} is longer than {MAX_TEXT} bytes"),
            });
        }
        let name = self.text(header.name, label, "entry name");
        let unsafe_entry = |reason: String| Error::UnsafeEntry { layer: label.to_string(), path: name.clone(), reason };
        if name.contains('\0') {
            return Err(unsafe_entry("its name contains a NUL byte".into()));
        }
        match header.kind {
            RawKind::Global => return Ok(Change::None),
            RawKind::Other(byte) => {
                self.warn(format!(
                    "layer `{label}`: skipped entry `{name}` of unsupported tar type `{}`",
                    char::from(byte).escape_default()
                ));
                return Ok(Change::None);
            }
            _ => {}
        }
        let parts = components(&name).ok_or_else(|| {
            unsafe_entry("its `..` components climb above the root directory".into())
                .with_hint("the layer is malformed or made to write outside the directory it is unpacked into")
        })?;

        // AUFS metadata (`.wh..wh.aufs`, `.wh..wh.plnk/…`) at the top: skipped, as Docker does.
        if parts.first().is_some_and(|first| first.starts_with(AUFS_PREFIX) && parts != [OPAQUE]) {
            self.warn(format!("layer `{label}`: skipped AUFS metadata entry `{name}`"));
            return Ok(Change::None);
        }
        if let Some((last, dirs)) = parts.split_last() {
            if let Some(bad) = dirs.iter().find(|c| c.starts_with(WHITEOUT_PREFIX)) {
                return Err(unsafe_entry(format!("a whiteout name (`{bad}`) cannot be a directory")));
            }
            if let Some(target) = last.strip_prefix(WHITEOUT_PREFIX) {
                if *last == OPAQUE {
                    return Ok(self.remove_lower(&join(dirs), false, layer));
                } else if last.starts_with(AUFS_PREFIX) {
                    self.warn(format!("layer `{label}`: skipped AUFS metadata entry `{name}`"));
                    return Ok(Change::None);
                } else if target.is_empty() || target == "." || target == ".." {
                    return Err(unsafe_entry(format!("whiteout `{last}` names no file")));
                }
                let mut victim = dirs.to_vec();
                victim.push(target);
                return Ok(self.remove_lower(&join(&victim), true, layer));
            }
        }

        let path = join(&parts);
        let uname = header.uname.map(|u| self.text(u, label, "user name"));
        let gname = header.gname.map(|g| self.text(g, label, "group name"));
        let mut entry = Entry {
            path: path.clone(),
            kind: EntryKind::File,
            mode: header.mode,
            uid: header.uid,
            gid: header.gid,
            uname,
            gname,
            size: 0,
            mtime: header.mtime,
            link_target: None,
            device: None,
            layer,
            origin: Some((layer, ordinal)),
        };
        if parts.is_empty() && header.kind != RawKind::Dir {
            return Err(unsafe_entry("only a directory can replace the root directory".into()));
        }
        match header.kind {
            RawKind::File => {
                if header.size > self.limits.max_file_size {
                    return Err(Error::LimitExceeded {
                        what: format!("file `{path}` in layer `{label}` ({} bytes)", header.size),
                        limit: self.limits.max_file_size,
                        hint: "raise it with --max-file-size BYTES if this file is really that large".into(),
                    });
                }
                entry.size = header.size;
            }
            RawKind::Dir => entry.kind = EntryKind::Dir,
            RawKind::Symlink => {
                let target = self.text(header.link.unwrap_or_default(), label, "symlink target");
                if target.is_empty() || target.contains('\0') {
                    return Err(unsafe_entry("symlink with an empty target or a NUL byte in it".into()));
                }
                entry.kind = EntryKind::Symlink;
                entry.link_target = Some(target);
            }
            RawKind::Hardlink => {
                let target = self.text(header.link.unwrap_or_default(), label, "hardlink target");
                let target_path = match components(&target) {
                    Some(parts) if !target.is_empty() && !target.contains('\0') => join(&parts),
                    _ => {
                        return Err(unsafe_entry(format!(
                            "hardlink target `{target}` is empty or climbs above the root directory"
                        )));
                    }
                };
                let Some(original) = self.entries.get(&target_path).cloned() else {
                    return Err(unsafe_entry(format!(
                        "hardlink target `{target_path}` does not exist in this layer or a lower one"
                    )));
                };
                entry = match original.kind {
                    EntryKind::Dir => {
                        return Err(unsafe_entry(format!("hardlink target `{target_path}` is a directory")));
                    }
                    EntryKind::File | EntryKind::Hardlink => Entry {
                        path: path.clone(),
                        kind: EntryKind::Hardlink,
                        link_target: Some(target_path),
                        layer,
                        ..original
                    },
                    kind => {
                        let copy = Entry { path: path.clone(), layer, ..original };
                        self.warn(format!(
                            "layer `{label}`: hardlink `{path}` to {kind} `{target_path}` is kept as a copy of it"
                        ));
                        copy
                    }
                };
            }
            RawKind::Char | RawKind::Block => {
                entry.kind = if header.kind == RawKind::Char { EntryKind::CharDevice } else { EntryKind::BlockDevice };
                entry.device = header.device;
            }
            RawKind::Fifo => entry.kind = EntryKind::Fifo,
            RawKind::Global | RawKind::Other(_) => return Ok(Change::None),
        }
        let mut parents = Vec::new();
        self.ensure_parents(&path, layer, &mut parents).map_err(unsafe_entry)?;
        let replaced = self.insert(entry);
        // Directories created for missing parents count too.
        if self.entries.len() as u64 > self.limits.max_entries {
            return Err(Error::LimitExceeded {
                what: format!("the number of paths in the merged filesystem (reached in layer `{label}`)"),
                limit: self.limits.max_entries,
                hint: "raise it with --max-entries N if the image really has that many files".into(),
            });
        }
        Ok(Change::Put { path, replaced, parents })
    }

    /// Text from a tar header; bytes that are not UTF-8 are replaced, with a warning.
    fn text(&mut self, bytes: Vec<u8>, label: &str, what: &str) -> String {
        match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                self.warn(format!("layer `{label}`: {what} `{text}` is not UTF-8; invalid bytes were replaced"));
                text
            }
        }
    }

    /// Checks that every parent of `path` is a directory, creating missing ones (added to `created`).
    fn ensure_parents(&mut self, path: &str, layer: usize, created: &mut Vec<String>) -> Result<(), String> {
        let mut from = 1;
        while let Some(pos) = path.get(from..).and_then(|rest| rest.find('/')) {
            let ancestor = &path[..from + pos];
            match self.entries.get(ancestor) {
                Some(e) if e.kind == EntryKind::Dir => {}
                Some(e) if e.kind == EntryKind::Symlink => {
                    return Err(format!(
                        "its parent `{ancestor}` is a symlink, and pare never writes through symlinks (the layer is \
                         malformed or made to write outside the directory it is unpacked into)"
                    ));
                }
                Some(e) => return Err(format!("its parent `{ancestor}` is a {}, not a directory", e.kind)),
                None => {
                    self.entries.insert(ancestor.to_string(), implicit_dir(ancestor, layer));
                    created.push(ancestor.to_string());
                }
            }
            from += pos + 1;
        }
        Ok(())
    }

    /// Puts an entry in place: a directory over a directory keeps the children; anything else
    /// replaces what was there, with everything below it. Returns the kind of what was there.
    fn insert(&mut self, entry: Entry) -> Option<EntryKind> {
        let replaced = self.entries.get(&entry.path).map(|old| old.kind);
        if replaced == Some(EntryKind::Dir) && entry.kind != EntryKind::Dir {
            let doomed: Vec<String> = self.subtree(&entry.path).map(|(k, _)| k.clone()).collect();
            for key in doomed {
                self.entries.remove(&key);
            }
        }
        self.entries.insert(entry.path.clone(), entry);
        replaced
    }

    /// Applies a whiteout (`with_self`) or an opaque marker: removes what lower layers put at and
    /// below `target`. Entries of the same layer stay, whatever their order in the tar.
    fn remove_lower(&mut self, target: &str, with_self: bool, layer: usize) -> Change {
        let mut doomed: Vec<(String, EntryKind)> = Vec::new();
        if with_self
            && target != "/"
            && let Some(e) = self.entries.get(target).filter(|e| e.layer < layer)
        {
            doomed.push((target.to_string(), e.kind));
        }
        doomed.extend(self.subtree(target).filter(|(_, e)| e.layer < layer).map(|(k, e)| (k.clone(), e.kind)));
        if doomed.is_empty() {
            return Change::None;
        }
        for (key, _) in &doomed {
            self.entries.remove(key);
        }
        // Same-layer entries below a removed directory keep a parent (created afresh).
        let survivors: Vec<String> = self.subtree(target).map(|(k, _)| k.clone()).collect();
        let mut recreated = Vec::new();
        for key in survivors {
            // Parents of survivors are directories or gone: this cannot fail.
            let _ = self.ensure_parents(&key, layer, &mut recreated);
        }
        Change::Removed { removed: doomed, recreated }
    }
}

fn implicit_dir(path: &str, layer: usize) -> Entry {
    Entry {
        path: path.to_string(),
        kind: EntryKind::Dir,
        mode: 0o755,
        uid: 0,
        gid: 0,
        uname: None,
        gname: None,
        size: 0,
        mtime: 0,
        link_target: None,
        device: None,
        layer,
        origin: None,
    }
}

/// Walks the direct children of a directory, jumping over each child's subtree.
struct Children<'a> {
    view: &'a FsView,
    prefix: String,
    start: Bound<String>,
}

impl<'a> Iterator for Children<'a> {
    type Item = &'a Entry;

    fn next(&mut self) -> Option<&'a Entry> {
        loop {
            let start = std::mem::replace(&mut self.start, Bound::Unbounded);
            let bound = match &start {
                Bound::Included(s) => Bound::Included(s.as_str()),
                Bound::Excluded(s) => Bound::Excluded(s.as_str()),
                Bound::Unbounded => return None,
            };
            let (key, entry) = self.view.entries.range::<str, _>((bound, Bound::Unbounded)).next()?;
            let rest = key.strip_prefix(self.prefix.as_str())?;
            if rest.is_empty() {
                self.start = Bound::Excluded(key.clone());
                continue;
            }
            match rest.find('/') {
                None => {
                    self.start = Bound::Excluded(key.clone());
                    return Some(entry);
                }
                // A grandchild: skip the rest of that child's subtree (`/` sorts just before `0`).
                Some(slash) => self.start = Bound::Included(format!("{}{}0", self.prefix, &rest[..slash])),
            }
        }
    }
}
