//! The packages' files: one tree of entries from every `.deb`, with dpkg metadata the distroless way.

// The assembly's imports and types are shared with its steps.
use super::*;

/// The files of the installed packages, by path.
#[derive(Default)]
pub(super) struct Tree {
    pub(super) entries: BTreeMap<String, (LayerEntry, usize)>,
    /// Excluded directories kept for now because an include may need them.
    pub(super) tentative: BTreeSet<String>,
    /// Per package: name and control data, in install order.
    pub(super) packages: Vec<(String, pare_deb::DebControl)>,
    pub(super) warnings: Vec<String>,
}

impl Tree {
    pub(super) fn add_deb(&mut self, package: &LockedPackage, path: &Path, filter: &PathFilter) -> Result<(), Error> {
        let name = package.name.clone();
        let deb = DebArchive::open(path)?;
        let control = deb.control();
        let (got_name, got_version) = (control.control.get("Package"), control.control.get("Version"));
        if got_name != Some(name.as_str()) || got_version != Some(package.version.as_str()) {
            return Err(Error::Package {
                package: name,
                reason: format!("the .deb says it is {} {}", got_name.unwrap_or("?"), got_version.unwrap_or("?")),
            });
        }
        let index = self.packages.len();
        let control = deb.for_each_data_entry(|entry| -> Result<(), Error> {
            let io =
                |e: std::io::Error| Error::Package { package: name.clone(), reason: format!("reading data.tar: {e}") };
            let Some(path) = clean_path(&entry.path_bytes(), &name)? else { return Ok(()) };
            let header = entry.header();
            let kind = header.entry_type();
            // Empty numeric fields (some tar writers leave them blank) read as root and 0644/0755.
            let mode = header.mode().unwrap_or(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 }) & 0o7777;
            let uid = header.uid().unwrap_or(0);
            let gid = header.gid().unwrap_or(0);
            let uname = header.username().ok().flatten().unwrap_or(if uid == 0 { "root" } else { "" }).to_string();
            let gname = header.groupname().ok().flatten().unwrap_or(if gid == 0 { "root" } else { "" }).to_string();
            let data = match kind {
                tar::EntryType::Directory => EntryData::Dir,
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 26));
                    entry.read_to_end(&mut bytes).map_err(io)?;
                    EntryData::File(FileContent::Bytes(bytes))
                }
                tar::EntryType::Symlink => {
                    let target =
                        entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                    // What `pare unpack` refuses: dropped or written as the container resolves it.
                    if target.is_empty() || target.contains('\0') {
                        self.warnings.push(format!("{name}: skipped symlink `/{path}` with an empty target"));
                        return Ok(());
                    }
                    if pare_oci::fs::symlink_escapes(&path, &target) {
                        let clamped = clamp_target(&path, &target);
                        self.warnings.push(format!(
                            "{name}: symlink `/{path}` -> `{target}` climbs above the root; written as `{clamped}`"
                        ));
                        EntryData::Symlink(clamped)
                    } else {
                        EntryData::Symlink(target)
                    }
                }
                tar::EntryType::Link => {
                    let raw = entry.link_name_bytes().map(|b| b.into_owned()).unwrap_or_default();
                    match clean_path(&raw, &name)? {
                        Some(target) => EntryData::Hardlink(target),
                        None => return Ok(()),
                    }
                }
                other => {
                    self.warnings
                        .push(format!("{name}: skipped `/{path}`: pare does not put {other:?} entries in images"));
                    return Ok(());
                }
            };
            if !filter.keeps(&path) {
                if data == EntryData::Dir && filter.may_keep_below(&path) {
                    self.tentative.insert(path.clone());
                } else {
                    return Ok(());
                }
            }
            let entry = LayerEntry { path: path.clone(), data, mode, uid, gid, uname, gname, mtime: None };
            self.insert(entry, index);
            Ok(())
        })?;
        self.packages.push((name, control));
        Ok(())
    }

    pub(super) fn insert(&mut self, entry: LayerEntry, index: usize) {
        match self.entries.get(&entry.path) {
            // Directories are shared; the first package's metadata stays.
            Some((old, _)) if old.data == EntryData::Dir && entry.data == EntryData::Dir => {}
            Some((old, owner)) if old.data != entry.data => {
                let other = self.packages.get(*owner).map_or("?", |p| p.0.as_str());
                self.warnings
                    .push(format!("`/{}` is shipped by {other} and a later package; the later one wins", entry.path));
                self.entries.insert(entry.path.clone(), (entry, index));
            }
            _ => {
                self.entries.insert(entry.path.clone(), (entry, index));
            }
        }
    }

    /// Merged-/usr aliases, excluded directories left empty, hard links in writer order; no path
    /// under a symlink or a file (`pare unpack` refuses those).
    pub(super) fn finish(&mut self, _filter: &PathFilter) -> Result<(), Error> {
        self.merge_usr_aliases();
        for (path, (_, owner)) in &self.entries {
            let lookup = |p: &str| self.entries.get(p).map(|(e, _)| &e.data);
            if let Some(blocked) = blocking_ancestor(path, lookup) {
                let package = |i: usize| self.packages.get(i).map_or("?", |p| p.0.as_str()).to_string();
                let by = self.entries.get(&blocked.path).map_or_else(|| "?".into(), |(_, o)| package(*o));
                return Err(Error::Package {
                    package: package(*owner),
                    reason: format!("`/{path}` is under {} (shipped by {by})", blocked.describe()),
                });
            }
        }
        // Drop excluded directories that ended up holding nothing kept.
        for dir in std::mem::take(&mut self.tentative).into_iter().rev() {
            let prefix = format!("{dir}/");
            let has_child = self.entries.range(prefix.clone()..).next().is_some_and(|(p, _)| p.starts_with(&prefix));
            if !has_child {
                self.entries.remove(&dir);
            }
        }
        self.fix_hardlinks();
        Ok(())
    }

    /// When a package ships `/bin -> usr/bin` (trixie's base-files does), files that other
    /// packages ship under `/bin` are moved to `/usr/bin`, as dpkg would see them.
    pub(super) fn merge_usr_aliases(&mut self) {
        let aliases: Vec<(String, String)> = self
            .entries
            .iter()
            .filter(|(p, _)| !p.contains('/'))
            .filter_map(|(p, (e, _))| match &e.data {
                EntryData::Symlink(t) => {
                    let t = t.trim_start_matches('/');
                    (t == format!("usr/{p}")).then(|| (p.clone(), t.to_string()))
                }
                _ => None,
            })
            .collect();
        for (alias, target) in aliases {
            let prefix = format!("{alias}/");
            let moved: Vec<String> = self
                .entries
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .map(|(p, _)| p.clone())
                .collect();
            for old in moved {
                if let Some((mut entry, owner)) = self.entries.remove(&old) {
                    entry.path = format!("{target}/{}", &old[prefix.len()..]);
                    if entry.data != EntryData::Dir || !self.entries.contains_key(&entry.path) {
                        self.entries.insert(entry.path.clone(), (entry, owner));
                    }
                }
            }
            for (entry, _) in self.entries.values_mut() {
                if let EntryData::Hardlink(t) = &mut entry.data
                    && let Some(rest) = t.strip_prefix(&prefix)
                {
                    *t = format!("{target}/{rest}");
                }
            }
        }
    }

    /// A hard link must follow its target in the (sorted) tar: the first path of each group
    /// carries the content. Links to files that are not in the image are dropped.
    pub(super) fn fix_hardlinks(&mut self) {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, (entry, _)) in &self.entries {
            if let EntryData::Hardlink(target) = &entry.data {
                groups.entry(target.clone()).or_default().push(path.clone());
            }
        }
        for (target, links) in groups {
            let target_is_file =
                matches!(self.entries.get(&target), Some((e, _)) if matches!(e.data, EntryData::File(_)));
            if !target_is_file {
                for link in links {
                    self.entries.remove(&link);
                    self.warnings
                        .push(format!("dropped hard link `/{link}`: its target `/{target}` is not in the image"));
                }
                continue;
            }
            let first = links.iter().min().filter(|l| **l < target).cloned();
            if let Some(first) = first {
                let Some((target_entry, owner)) = self.entries.remove(&target) else { continue };
                let mut moved = target_entry.clone();
                moved.path = first.clone();
                self.entries.insert(first.clone(), (moved, owner));
                let mut link = target_entry;
                link.data = EntryData::Hardlink(first.clone());
                self.entries.insert(target.clone(), (link, owner));
                for other in links.iter().filter(|l| **l != first) {
                    if let Some((e, _)) = self.entries.get_mut(other) {
                        e.data = EntryData::Hardlink(first.clone());
                    }
                }
            }
        }
    }

    /// Every entry plus `/var/lib/dpkg/status.d/<pkg>` and `<pkg>.md5sums`.
    pub(super) fn into_entries(self) -> Vec<LayerEntry> {
        let mut out: Vec<LayerEntry> = Vec::new();
        for (name, control) in &self.packages {
            let mut status = Paragraph::new();
            status.set("Package", name.clone());
            status.set("Status", "install ok installed");
            for field in control.control.fields() {
                if !field.name.eq_ignore_ascii_case("Package") && !field.name.eq_ignore_ascii_case("Status") {
                    status.set(&field.name, field.value.clone());
                }
            }
            out.push(LayerEntry::file(&format!("var/lib/dpkg/status.d/{name}"), 0o644, status.to_string()));
            let sums: String = control
                .md5sums
                .iter()
                .filter(|(p, _)| self.entries.contains_key(p.trim_start_matches("./").trim_start_matches('/')))
                .map(|(p, sum)| format!("{sum}  {}\n", p.trim_start_matches("./").trim_start_matches('/')))
                .collect();
            if !sums.is_empty() {
                out.push(LayerEntry::file(&format!("var/lib/dpkg/status.d/{name}.md5sums"), 0o644, sums));
            }
        }
        out.extend(
            self.entries.into_values().map(|(e, _)| e).filter(|e| !e.path.starts_with("var/lib/dpkg/status.d/")),
        );
        out
    }
}

/// `./usr/bin/x` -> `usr/bin/x`; `None` for the root; an error for `..`.
pub(super) fn clean_path(raw: &[u8], package: &str) -> Result<Option<String>, Error> {
    let text = std::str::from_utf8(raw).map_err(|_| Error::Package {
        package: package.into(),
        reason: format!("path `{}` is not UTF-8", String::from_utf8_lossy(raw)),
    })?;
    let mut parts = Vec::new();
    for c in text.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(Error::Package {
                    package: package.into(),
                    reason: format!("path `{text}` climbs out with `..`"),
                });
            }
            c => parts.push(c),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// An ancestor of an entry that is not a directory.
pub(super) struct Blocked {
    pub(super) path: String,
    /// Its target when it is a symlink.
    pub(super) symlink: Option<String>,
}

impl Blocked {
    pub(super) fn describe(&self) -> String {
        match &self.symlink {
            Some(t) => format!("`/{}`, a symlink to `{t}`", self.path),
            None => format!("`/{}`, which is not a directory", self.path),
        }
    }

    /// Where `path` (under this ancestor) leads through the symlink.
    pub(super) fn hint(&self, path: &str) -> String {
        match &self.symlink {
            Some(t) => {
                let rest = &path[self.path.len()..];
                let base = if t.starts_with('/') {
                    t.clone()
                } else {
                    format!("/{}/{t}", self.path.rsplit_once('/').map_or("", |(p, _)| p))
                };
                format!("write the path it leads to, `{}`", pare_oci::fs::normalize(&format!("{base}{rest}")))
            }
            None => "choose a path whose parents are directories".into(),
        }
    }
}

/// The first ancestor of `path` (`a/b/c`) that `lookup` knows as something other than a directory.
pub(super) fn blocking_ancestor<'a>(path: &str, lookup: impl Fn(&str) -> Option<&'a EntryData>) -> Option<Blocked> {
    let mut end = 0;
    while let Some(pos) = path[end..].find('/') {
        let ancestor = &path[..end + pos];
        match lookup(ancestor) {
            None | Some(EntryData::Dir) => {}
            Some(EntryData::Symlink(t)) => return Some(Blocked { path: ancestor.into(), symlink: Some(t.clone()) }),
            Some(_) => return Some(Blocked { path: ancestor.into(), symlink: None }),
        }
        end += pos + 1;
    }
    None
}

/// A relative symlink target without the `..` that climb above the root (where a container's
/// root stops them anyway): `usr/x` -> `../../bin/sh` becomes `../bin/sh`.
pub(super) fn clamp_target(link: &str, target: &str) -> String {
    let mut depth = link.trim_matches('/').split('/').count().saturating_sub(1);
    let mut out: Vec<&str> = Vec::new();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if depth == 0 => {}
            ".." => {
                depth -= 1;
                out.push("..");
            }
            other => {
                depth += 1;
                out.push(other);
            }
        }
    }
    if out.is_empty() { ".".into() } else { out.join("/") }
}
