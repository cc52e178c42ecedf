//! The application layer (`--add SRC:DEST`) and its checks against the layers below.

// The assembly's imports and types are shared with its steps.
use super::tree::{Tree, blocking_ancestor};
use super::*;

/// The `--add` layer against the layers below: nothing under a symlink or a file.
pub(super) fn check_app_layer(
    app: &[LayerEntry],
    adds: &[AddSpec],
    tree: &Tree,
    system: &[LayerEntry],
) -> Result<(), Error> {
    for entry in app {
        let lookup = |p: &str| {
            system.iter().find(|e| e.path == p).map(|e| &e.data).or_else(|| tree.entries.get(p).map(|(e, _)| &e.data))
        };
        if let Some(blocked) = blocking_ancestor(&entry.path, lookup) {
            let add = adds.iter().find(|a| entry.path.starts_with(a.dest.trim_matches('/')));
            let spec = add.map_or_else(|| entry.path.clone(), |a| format!("{}:{}", a.source.display(), a.dest));
            return Err(Error::Add {
                spec,
                reason: format!(
                    "`/{}` is under {}: `pare unpack` and runtimes do not write through it ({})",
                    entry.path,
                    blocked.describe(),
                    blocked.hint(&entry.path)
                ),
            });
        }
    }
    Ok(())
}

/// The `--add` layer.
pub(super) fn app_layer(adds: &[AddSpec]) -> Result<Vec<LayerEntry>, Error> {
    let mut out: BTreeMap<String, LayerEntry> = BTreeMap::new();
    for add in adds {
        let spec = format!("{}:{}", add.source.display(), add.dest);
        let meta = std::fs::symlink_metadata(&add.source)
            .map_err(|e| Error::Add { spec: spec.clone(), reason: format!("cannot read SRC: {e}") })?;
        let dest = add.dest.trim_matches('/').to_string();
        if meta.is_dir() {
            let (entries, _warnings) = pare_oci::entries_from_dir(&add.source)?;
            if !dest.is_empty() {
                out.insert(dest.clone(), LayerEntry::dir(&dest, 0o755));
            }
            for mut e in entries {
                e.path = if dest.is_empty() { e.path } else { format!("{dest}/{}", e.path) };
                if let EntryData::Symlink(t) = &e.data
                    && (t.is_empty() || pare_oci::fs::symlink_escapes(&e.path, t))
                {
                    return Err(Error::Add {
                        spec,
                        reason: format!(
                            "symlink `/{}` -> `{t}` is empty or climbs above the image's root, which `pare unpack` refuses",
                            e.path
                        ),
                    });
                }
                if let EntryData::Hardlink(t) = &mut e.data
                    && !dest.is_empty()
                {
                    *t = format!("{dest}/{t}");
                }
                out.insert(e.path.clone(), e);
            }
        } else if meta.is_file() {
            let name = add.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let path = if add.dest.ends_with('/') {
                format!("{dest}/{name}").trim_start_matches('/').to_string()
            } else {
                dest
            };
            use std::os::unix::fs::PermissionsExt;
            let content = FileContent::Path { path: add.source.clone(), size: meta.len() };
            out.insert(
                path.clone(),
                LayerEntry::new(&path, EntryData::File(content), meta.permissions().mode() & 0o7777),
            );
        } else {
            return Err(Error::Add { spec, reason: "SRC is neither a regular file nor a directory".into() });
        }
    }
    Ok(out.into_values().collect())
}
