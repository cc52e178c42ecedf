//! `dir:PATH`: a directory on the host read as a one-layer image (a rootfs, or files to ship).

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use crate::assemble::{AssembledSource, Assembler, ImageSpec, RuntimeConfig};
use crate::layer_writer::{EntryData, FileContent, LayerEntry, LayerOptions, source_date_epoch};
use crate::media::Compression;
use crate::platform::Platform;
use crate::{Error, Result};

/// Reads a directory tree into layer entries, sorted, owned by root, without following symlinks.
/// Hard links within the tree stay hard links. Sockets, FIFOs and devices are skipped and returned
/// as warnings.
pub fn entries_from_dir(root: &Path) -> Result<(Vec<LayerEntry>, Vec<String>)> {
    let meta = std::fs::symlink_metadata(root).map_err(Error::io(root))?;
    if !meta.is_dir() {
        return Err(Error::InvalidLocation {
            value: format!("dir:{}", root.display()),
            reason: "it is not a directory".into(),
        });
    }
    // (entry, inode key for files with several links)
    let mut found: Vec<(LayerEntry, Option<(u64, u64)>)> = Vec::new();
    let mut warnings = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() { root.to_path_buf() } else { root.join(&rel) };
        let children: Vec<_> = std::fs::read_dir(&dir)
            .map_err(Error::io(&dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(Error::io(&dir))?;
        for name in children {
            let Some(name) = name.to_str().map(str::to_string) else {
                warnings.push(format!("skipped `{}`: its name is not UTF-8", dir.join(&name).display()));
                continue;
            };
            let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let full = root.join(&path);
            let meta = std::fs::symlink_metadata(&full).map_err(Error::io(&full))?;
            let ft = meta.file_type();
            let (data, mode, inode) = if ft.is_dir() {
                stack.push(path.clone());
                (EntryData::Dir, meta.permissions().mode() & 0o7777, None)
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&full).map_err(Error::io(&full))?;
                (EntryData::Symlink(target.to_string_lossy().into_owned()), 0o777, None)
            } else if ft.is_file() {
                let inode = (meta.nlink() > 1).then_some((meta.dev(), meta.ino()));
                let content = FileContent::Path { path: full.clone(), size: meta.len() };
                (EntryData::File(content), meta.permissions().mode() & 0o7777, inode)
            } else {
                warnings.push(format!(
                    "skipped `{}`: pare does not put sockets, FIFOs or device nodes in layers",
                    full.display()
                ));
                continue;
            };
            found.push((LayerEntry::new(&path, data, mode), inode));
        }
    }
    // A hard link must come after its target in the tar, and the writer sorts by path: the first
    // path of each inode in that order carries the content, the others link to it.
    found.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let mut first_path: HashMap<(u64, u64), String> = HashMap::new();
    let entries = found
        .into_iter()
        .map(|(mut entry, inode)| {
            if let Some(key) = inode {
                match first_path.get(&key) {
                    Some(first) => entry.data = EntryData::Hardlink(first.clone()),
                    None => {
                        first_path.insert(key, entry.path.clone());
                    }
                }
            }
            entry
        })
        .collect();
    Ok((entries, warnings))
}

/// Builds a one-layer image of a directory for this machine's platform.
pub fn image_from_dir(root: &Path, runtime: RuntimeConfig) -> Result<(Arc<AssembledSource>, Vec<String>)> {
    let (entries, warnings) = entries_from_dir(root)?;
    let created = source_date_epoch()?.unwrap_or(0);
    let mut assembler = Assembler::new()?;
    let layer =
        assembler.add_layer(entries, &LayerOptions { mtime: created, compression: Compression::Gzip, level: None })?;
    let spec = ImageSpec { platform: Platform::host(), runtime, created, annotations: Default::default() };
    let desc = assembler.add_image(&spec, &[layer])?;
    Ok((assembler.finish(&desc)?, warnings))
}
