//! "Will this binary run on this base?": the checks the dynamic loader makes before `main`, made
//! on an image's filesystem without running anything.
//!
//! For each ELF executable and shared object: its interpreter (`PT_INTERP`) is in the image; each
//! `DT_NEEDED` library resolves by the loader's search order, then the libraries those need,
//! breadth first as `ld.so` loads them; and each symbol version a loaded object needs
//! (`GLIBC_2.34`, `GLIBCXX_3.4.30`) is defined by the library that provides it. Static binaries
//! pass. Written by hand: no crate models the loader's search; `object` reads the ELF files.
//!
//! The search order is glibc's (`ld.so(8)`): `DT_RPATH` of the object and of the executable (when
//! they have no `DT_RUNPATH`), `LD_LIBRARY_PATH` from the image's environment, `DT_RUNPATH` of the
//! object, then, when the image has an `/etc/ld.so.cache`, the directories `/etc/ld.so.conf` names
//! (the cache is built from them), then the system directories `/lib/TRIPLET`, `/usr/lib/TRIPLET`,
//! `/lib`, `/usr/lib`. `$ORIGIN`, `$LIB` and `$PLATFORM` are expanded. A candidate of another ELF
//! class or machine is skipped, as the loader skips it. musl's loader (`ld-musl-*`) searches
//! `/etc/ld-musl-ARCH.path` or `/lib:/usr/local/lib:/usr/lib` and checks no versions.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;

use pare_oci::Image;
use pare_oci::fs::{Entry, EntryKind, FsView};
use serde::Serialize;

use crate::elf::{self, ElfInfo};

/// Largest ELF file read (bigger ones are reported as not inspected).
pub const MAX_ELF_SIZE: u64 = 512 << 20;
/// Largest loader configuration file read.
const MAX_CONF_SIZE: u64 = 1 << 20;

/// The ELF files and loader configuration of an image, read in one pass over its layers.
#[derive(Clone, Debug, Default)]
pub struct Binaries {
    /// ELF executables and shared objects by path (the path of the file itself, not a link).
    pub files: BTreeMap<String, ElfInfo>,
    /// Files that start like ELF but could not be read, with why.
    pub unreadable: BTreeMap<String, String>,
    /// `/etc/ld.so.conf`, `/etc/ld.so.conf.d/*` and `/etc/ld-musl-*.path` contents.
    conf: BTreeMap<String, String>,
    /// `LD_LIBRARY_PATH` of the image's configuration.
    pub ld_library_path: Vec<String>,
}

/// A problem the loader would stop at (or, for weak version needs, warn about).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The `PT_INTERP` path is not in the image.
    MissingInterpreter { interpreter: String },
    /// A `DT_NEEDED` library found nowhere on the search path.
    MissingLibrary { library: String, needed_by: String, searched: Vec<String> },
    /// A needed symbol version that the library providing it does not define.
    MissingVersion { version: String, library: String, library_path: String, needed_by: String, weak: bool },
    /// A library a shared object needs is in the image but not on the search path: the object
    /// loads only into a process that has loaded that library already (the java launcher loads
    /// `lib/server/libjvm.so` before the JDK's other libraries). Not fatal for a library.
    OffSearchPath { library: String, needed_by: String, found_at: String },
    /// The file (or a library it loads) could not be read as ELF.
    Unreadable { path: String, reason: String },
}

impl Problem {
    /// Weak version needs only warn at run time.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Problem::MissingVersion { weak: true, .. } | Problem::OffSearchPath { .. })
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::MissingInterpreter { interpreter } => {
                write!(f, "its interpreter {interpreter} is not in the image")
            }
            Problem::MissingLibrary { library, needed_by, searched } => {
                write!(f, "{library} (needed by {needed_by}) is not found in {}", searched.join(", "))
            }
            Problem::MissingVersion { version, library, library_path, needed_by, weak } => write!(
                f,
                "version {version} of {library} (needed by {needed_by}) is not defined by {library_path}{}",
                if *weak { " (weak: a warning at run time)" } else { "" }
            ),
            Problem::OffSearchPath { library, needed_by, found_at } => write!(
                f,
                "{library} (needed by {needed_by}) is at {found_at}, off the search path: it loads only into a process that loaded {library} first"
            ),
            Problem::Unreadable { path, reason } => write!(f, "{path}: {reason}"),
        }
    }
}

/// What was checked for one file.
#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    pub path: String,
    /// `static`, `executable` or `library`.
    pub kind: &'static str,
    pub interpreter: Option<String>,
    /// Every library loaded, in load order: (name asked for, path it resolved to or `None`).
    pub libraries: Vec<(String, Option<String>)>,
    pub problems: Vec<Problem>,
}

impl Checked {
    /// The loader would start it (weak version needs aside).
    pub fn loads(&self) -> bool {
        !self.problems.iter().any(Problem::is_fatal)
    }
}

/// The verdict for an image: every file checked.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    pub checked: Vec<Checked>,
    /// Files that look like ELF but were not inspected (too large, unreadable).
    pub not_inspected: Vec<(String, String)>,
}

impl LoadReport {
    pub fn all_load(&self) -> bool {
        self.checked.iter().all(Checked::loads)
    }
}

fn is_file(entry: &Entry) -> bool {
    matches!(entry.kind, EntryKind::File | EntryKind::Hardlink)
}

fn is_conf(path: &str) -> bool {
    path == "/etc/ld.so.conf"
        || path.starts_with("/etc/ld.so.conf.d/")
        || (path.starts_with("/etc/ld-musl-") && path.ends_with(".path"))
}

/// Reads every ELF file and the loader configuration of `image` in one pass over its layers.
pub fn read_binaries(image: &Image, view: &FsView) -> pare_oci::Result<Binaries> {
    let mut binaries = Binaries { ld_library_path: ld_library_path(image), ..Binaries::default() };
    let wanted = |e: &Entry| is_file(e) && (e.size >= elf::MIN_ELF_SIZE || is_conf(&e.path));
    view.for_each_file(image, wanted, |entry, reader| -> pare_oci::Result<()> {
        read_one(&mut binaries, entry, reader);
        Ok(())
    })?;
    Ok(binaries)
}

fn read_one(binaries: &mut Binaries, entry: &Entry, reader: &mut dyn Read) {
    if is_conf(&entry.path) {
        let mut text = String::new();
        if reader.take(MAX_CONF_SIZE).read_to_string(&mut text).is_ok() {
            binaries.conf.insert(entry.path.clone(), text);
        }
        return;
    }
    let mut head = [0u8; 4];
    if reader.read_exact(&mut head).is_err() || !elf::is_elf(&head) {
        return;
    }
    if entry.size > MAX_ELF_SIZE {
        binaries.unreadable.insert(entry.path.clone(), format!("{} bytes, larger than {MAX_ELF_SIZE}", entry.size));
        return;
    }
    let mut data = head.to_vec();
    if let Err(e) = reader.take(MAX_ELF_SIZE).read_to_end(&mut data) {
        binaries.unreadable.insert(entry.path.clone(), e.to_string());
        return;
    }
    match elf::parse(&data) {
        Ok(Some(info)) => {
            binaries.files.insert(entry.path.clone(), info);
        }
        Ok(None) => {}
        Err(e) => {
            binaries.unreadable.insert(entry.path.clone(), e.to_string());
        }
    }
}

fn ld_library_path(image: &Image) -> Vec<String> {
    let Ok(config) = image.config() else { return Vec::new() };
    let env = config.config().as_ref().and_then(|c| c.env().clone()).unwrap_or_default();
    env.iter()
        .filter_map(|e| e.strip_prefix("LD_LIBRARY_PATH="))
        .flat_map(|v| v.split(':'))
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// The multiarch triplet Debian's loader searches for this machine.
fn triplet(machine: u16, class: u8) -> Option<&'static str> {
    Some(match (machine, class) {
        (62, 64) => "x86_64-linux-gnu",
        (183, 64) => "aarch64-linux-gnu",
        (3, 32) => "i386-linux-gnu",
        (40, 32) => "arm-linux-gnueabihf",
        (21, 64) => "powerpc64le-linux-gnu",
        (22, 64) => "s390x-linux-gnu",
        (243, 64) => "riscv64-linux-gnu",
        (8, 32) => "mipsel-linux-gnu",
        (8, 64) => "mips64el-linux-gnuabi64",
        _ => return None,
    })
}

fn platform(machine: u16) -> &'static str {
    match machine {
        62 => "x86_64",
        183 => "aarch64",
        3 => "i686",
        40 => "v7l",
        21 => "powerpc64le",
        22 => "s390x",
        243 => "riscv64",
        _ => "",
    }
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Joins `dir` (absolute) and `name` into a normal absolute path.
fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

struct Search<'a> {
    view: &'a FsView,
    binaries: &'a Binaries,
    musl: bool,
    /// `/etc/ld.so.conf` directories when the image has a loader cache (glibc only).
    conf_dirs: &'a [String],
}

impl<'a> Search<'a> {
    /// `cache_dirs`: [`cache_dirs`] of the image, read once for all its files.
    fn new(
        view: &'a FsView,
        binaries: &'a Binaries,
        interpreter: Option<&str>,
        cache_dirs: &'a [String],
    ) -> Search<'a> {
        let musl = interpreter.is_some_and(|i| i.contains("ld-musl-"));
        Search { view, binaries, musl, conf_dirs: if musl { &[] } else { cache_dirs } }
    }

    /// Expands `$ORIGIN`, `$LIB` and `$PLATFORM` in a search path entry of `object`.
    fn expand(&self, entry: &str, object: &str, info: &ElfInfo) -> Option<String> {
        let lib = match triplet(info.machine, info.class) {
            Some(t) => format!("lib/{t}"),
            None => "lib".to_string(),
        };
        let mut out = entry.to_string();
        for (var, value) in
            [("ORIGIN", parent(object).to_string()), ("LIB", lib), ("PLATFORM", platform(info.machine).into())]
        {
            out = out.replace(&format!("${{{var}}}"), &value).replace(&format!("${var}"), &value);
        }
        // A relative entry is relative to the process's working directory: unknowable here.
        out.starts_with('/').then_some(out)
    }

    fn system_dirs(&self, info: &ElfInfo) -> Vec<String> {
        if self.musl {
            let arch_path = self.binaries.conf.iter().find(|(p, _)| p.starts_with("/etc/ld-musl-"));
            return match arch_path {
                Some((_, text)) => {
                    text.split([':', '\n']).map(str::trim).filter(|p| p.starts_with('/')).map(String::from).collect()
                }
                None => ["/lib", "/usr/local/lib", "/usr/lib"].map(String::from).to_vec(),
            };
        }
        let mut dirs = self.conf_dirs.to_vec();
        if let Some(t) = triplet(info.machine, info.class) {
            dirs.extend([format!("/lib/{t}"), format!("/usr/lib/{t}")]);
        }
        dirs.extend(["/lib".to_string(), "/usr/lib".to_string()]);
        dirs
    }

    /// The directories searched for a library `object` needs, in order.
    fn dirs(&self, object: &str, info: &ElfInfo, exe: Option<(&str, &ElfInfo)>) -> Vec<String> {
        let mut dirs = Vec::new();
        if info.runpath.is_empty() {
            dirs.extend(info.rpath.iter().filter_map(|e| self.expand(e, object, info)));
            if let Some((exe_path, exe_info)) = exe
                && exe_path != object
                && exe_info.runpath.is_empty()
            {
                dirs.extend(exe_info.rpath.iter().filter_map(|e| self.expand(e, exe_path, exe_info)));
            }
        }
        dirs.extend(self.binaries.ld_library_path.iter().filter_map(|e| self.expand(e, object, info)));
        dirs.extend(info.runpath.iter().filter_map(|e| self.expand(e, object, info)));
        dirs.extend(self.system_dirs(info));
        let mut seen = std::collections::HashSet::new();
        dirs.retain(|d| seen.insert(d.clone()));
        dirs
    }

    /// The file a library name resolves to for `object`: its real path and ELF facts.
    fn find(&self, name: &str, dirs: &[String], want: &ElfInfo) -> Option<(String, &'a ElfInfo)> {
        let candidates: Vec<String> = if name.contains('/') {
            if name.starts_with('/') { vec![name.to_string()] } else { Vec::new() }
        } else {
            dirs.iter().map(|d| join(d, name)).collect()
        };
        for candidate in candidates {
            let Ok(entry) = self.view.resolve(&candidate) else { continue };
            if !is_file(entry) {
                continue;
            }
            let real = match entry.kind {
                EntryKind::Hardlink => entry.link_target.clone().unwrap_or_else(|| entry.path.clone()),
                _ => entry.path.clone(),
            };
            let Some(found) = self.binaries.files.get(&real).or_else(|| self.binaries.files.get(&entry.path)) else {
                continue;
            };
            if found.class == want.class && found.machine == want.machine {
                return Some((real, found));
            }
        }
        None
    }
}

/// The directories glibc's loader finds through `/etc/ld.so.cache`: those `/etc/ld.so.conf` names when the
/// image has a cache (it is built from them), none when it has not.
fn cache_dirs(view: &FsView, binaries: &Binaries) -> Vec<String> {
    if view.resolve("/etc/ld.so.cache").is_ok_and(is_file) { conf_dirs(binaries) } else { Vec::new() }
}

/// The directories of `/etc/ld.so.conf`, in the order ldconfig reads them: an `include` line (globs
/// matched against the `/etc/ld.so.conf.d/` files read, sorted) stands for its files' directories, in place.
fn conf_dirs(binaries: &Binaries) -> Vec<String> {
    let mut dirs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    read_conf(binaries, "/etc/ld.so.conf", 0, &mut seen, &mut dirs);
    dirs
}

/// Deepest `include` chain followed (an image's files could nest them without end).
const MAX_INCLUDE_DEPTH: usize = 16;

fn read_conf(
    binaries: &Binaries,
    file: &str,
    depth: usize,
    seen: &mut std::collections::HashSet<String>,
    dirs: &mut Vec<String>,
) {
    if depth > MAX_INCLUDE_DEPTH || !seen.insert(file.to_string()) {
        return;
    }
    let Some(text) = binaries.conf.get(file) else { return };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pattern) = line.strip_prefix("include").map(str::trim) {
            let (dir, glob) = pattern.rsplit_once('/').unwrap_or(("/etc", pattern));
            let (prefix, suffix) = glob.split_once('*').unwrap_or((glob, ""));
            let included: Vec<&String> = binaries
                .conf
                .keys()
                .filter(|k| {
                    k.rsplit_once('/').is_some_and(|(d, n)| {
                        d == dir
                            && n.starts_with(prefix)
                            && n.ends_with(suffix)
                            && n.len() >= prefix.len() + suffix.len()
                    })
                })
                .collect();
            // `conf` is a BTreeMap: the matches come sorted, as glob(3) returns them.
            for file in included {
                read_conf(binaries, file, depth + 1, seen, dirs);
            }
        } else if line.starts_with('/') {
            dirs.push(line.to_string());
        }
    }
}

/// Checks the files at `paths` (all ELF executables and shared objects when `None`).
pub fn check(view: &FsView, binaries: &Binaries, paths: Option<&[String]>) -> LoadReport {
    let mut report = LoadReport {
        not_inspected: binaries.unreadable.iter().map(|(p, r)| (p.clone(), r.clone())).collect(),
        ..LoadReport::default()
    };
    let targets: Vec<(String, String)> = match paths {
        None => binaries.files.keys().map(|p| (p.clone(), p.clone())).collect(),
        Some(paths) => paths
            .iter()
            .map(|p| {
                let real = view.resolve(p).map(|e| e.path.clone()).unwrap_or_else(|_| p.clone());
                (p.clone(), real)
            })
            .collect(),
    };
    let cache_dirs = cache_dirs(view, binaries);
    for (asked, real) in targets {
        match binaries.files.get(&real) {
            Some(info) => report.checked.push(check_one(view, binaries, &cache_dirs, &asked, &real, info)),
            None => {
                let reason = match binaries.unreadable.get(&real) {
                    Some(reason) => reason.clone(),
                    None if view.resolve(&asked).is_err() => "no such file in the image".into(),
                    None => "not an ELF executable or shared object".into(),
                };
                report.checked.push(Checked {
                    path: asked.clone(),
                    kind: "unknown",
                    interpreter: None,
                    libraries: Vec::new(),
                    problems: vec![Problem::Unreadable { path: asked, reason }],
                });
            }
        }
    }
    report
}

fn check_one(
    view: &FsView,
    binaries: &Binaries,
    cache_dirs: &[String],
    asked: &str,
    real: &str,
    info: &ElfInfo,
) -> Checked {
    let kind = if !info.dynamic && info.interpreter.is_none() {
        "static"
    } else if info.executable {
        "executable"
    } else {
        "library"
    };
    let mut checked = Checked {
        path: asked.to_string(),
        kind,
        interpreter: info.interpreter.clone(),
        libraries: Vec::new(),
        problems: Vec::new(),
    };
    if kind == "static" {
        return checked;
    }
    let search = Search::new(view, binaries, info.interpreter.as_deref(), cache_dirs);
    // Loaded objects: real path → facts, and the names that find them (soname, name asked for).
    let mut loaded: Vec<(String, &ElfInfo)> = vec![(real.to_string(), info)];
    let mut by_name: HashMap<String, usize> = HashMap::new();
    if let Some(soname) = &info.soname {
        by_name.insert(soname.clone(), 0);
    }
    if let Some(interp) = &info.interpreter {
        match search.find(interp, &[], info) {
            Some((path, interp_info)) => {
                let index = loaded.len();
                let base = interp.rsplit('/').next().unwrap_or(interp).to_string();
                by_name.insert(base, index);
                if let Some(soname) = &interp_info.soname {
                    by_name.insert(soname.clone(), index);
                }
                loaded.push((path, interp_info));
            }
            None => {
                // Another class or machine, or not ELF, counts as missing for the kernel too.
                if view.resolve(interp).is_err() {
                    checked.problems.push(Problem::MissingInterpreter { interpreter: interp.clone() });
                } else {
                    checked.problems.push(Problem::Unreadable {
                        path: interp.clone(),
                        reason: "the interpreter is not an ELF file of this binary's class and machine".into(),
                    });
                }
                return checked;
            }
        }
    }
    let exe = info.executable.then_some((real, info));
    let mut queue: VecDeque<usize> = VecDeque::from([0]);
    while let Some(index) = queue.pop_front() {
        let (object_path, object) = (loaded[index].0.clone(), loaded[index].1);
        let dirs = search.dirs(&object_path, object, exe);
        for name in &object.needed {
            if by_name.contains_key(name) {
                continue;
            }
            match search.find(name, &dirs, object) {
                Some((path, found)) => {
                    let at = match loaded.iter().position(|(p, _)| *p == path) {
                        Some(at) => at,
                        None => {
                            loaded.push((path.clone(), found));
                            queue.push_back(loaded.len() - 1);
                            loaded.len() - 1
                        }
                    };
                    by_name.insert(name.clone(), at);
                    if let Some(soname) = &found.soname {
                        by_name.entry(soname.clone()).or_insert(at);
                    }
                    checked.libraries.push((name.clone(), Some(path)));
                }
                None => {
                    checked.libraries.push((name.clone(), None));
                    let elsewhere = (kind == "library" && !name.contains('/'))
                        .then(|| {
                            binaries.files.iter().find(|(path, other)| {
                                other.class == info.class
                                    && other.machine == info.machine
                                    && (other.soname.as_deref() == Some(name.as_str())
                                        || path.rsplit('/').next() == Some(name.as_str()))
                            })
                        })
                        .flatten();
                    if let Some((found_at, _)) = elsewhere {
                        checked.problems.push(Problem::OffSearchPath {
                            library: name.clone(),
                            needed_by: object_path.clone(),
                            found_at: found_at.clone(),
                        });
                        continue;
                    }
                    checked.problems.push(Problem::MissingLibrary {
                        library: name.clone(),
                        needed_by: object_path.clone(),
                        searched: if name.contains('/') { vec![name.clone()] } else { dirs.clone() },
                    });
                }
            }
        }
    }
    if !search.musl {
        for (object_path, object) in &loaded {
            for need in &object.version_needs {
                // A library that was not found is already a problem of its own.
                let Some(&at) = by_name.get(&need.file) else { continue };
                let (library_path, library) = &loaded[at];
                for (version, weak) in &need.versions {
                    if !library.version_defs.contains(version) {
                        checked.problems.push(Problem::MissingVersion {
                            version: version.clone(),
                            library: need.file.clone(),
                            library_path: library_path.clone(),
                            needed_by: object_path.clone(),
                            weak: *weak,
                        });
                    }
                }
            }
        }
    }
    checked
}

/// Checks every ELF file at or below `roots` (absolute paths in the image: what `pare build --add`
/// put there) in each image of `root`; one report per image, with its architecture.
pub fn check_under(root: &pare_oci::Root, roots: &[String]) -> pare_oci::Result<Vec<(String, LoadReport)>> {
    let images = match root {
        pare_oci::Root::Image(image) => vec![image.clone()],
        pare_oci::Root::Index(index) => {
            let mut images = Vec::new();
            for manifest in index.manifests() {
                if let pare_oci::Root::Image(image) = index.open(manifest)? {
                    images.push(image);
                }
            }
            images
        }
    };
    let under = |path: &str| {
        roots.iter().any(|r| {
            let r = r.trim_end_matches('/');
            r.is_empty() || path == r || path.strip_prefix(r).is_some_and(|rest| rest.starts_with('/'))
        })
    };
    let mut reports = Vec::new();
    for image in images {
        let view = FsView::from_image(&image, &pare_oci::fs::Limits::default())?;
        let binaries = read_binaries(&image, &view)?;
        let paths: Vec<String> = binaries.files.keys().filter(|p| under(p)).cloned().collect();
        let architecture = image.platform().map(|p| p.architecture).unwrap_or_default();
        reports.push((architecture, check(&view, &binaries, Some(&paths))));
    }
    Ok(reports)
}

/// A gallery image that would provide what `problem` misses, when pare knows one.
pub fn gallery_hint(problem: &Problem) -> Option<&'static str> {
    match problem {
        Problem::MissingInterpreter { interpreter } if interpreter.contains("ld-linux") => {
            Some("gallery:base (glibc) or a later gallery image provides the loader")
        }
        Problem::MissingLibrary { library, .. }
            if library.starts_with("libstdc++.so") || library.starts_with("libgcc_s.so") =>
        {
            Some("gallery:cc (libstdc++ and libgcc) provides it")
        }
        Problem::MissingLibrary { library, .. }
            if ["libc.so.6", "libm.so.6", "libssl.so.3", "libcrypto.so.3"].contains(&library.as_str()) =>
        {
            Some("gallery:base provides it")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn binaries(conf: &[(&str, &str)]) -> Binaries {
        Binaries { conf: conf.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect(), ..Binaries::default() }
    }

    #[test]
    fn ld_so_conf_includes_in_order_with_globs_and_comments() {
        let b = binaries(&[
            ("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n/opt/first # a comment\n"),
            ("/etc/ld.so.conf.d/x86_64-linux-gnu.conf", "# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n"),
            ("/etc/ld.so.conf.d/libc.conf", "/usr/local/lib\n"),
            ("/etc/ld.so.conf.d/notes.txt", "/not/read\n"),
        ]);
        assert_eq!(conf_dirs(&b), ["/usr/local/lib", "/usr/local/lib/x86_64-linux-gnu", "/opt/first"]);
        // A loop of includes ends.
        let looped = binaries(&[("/etc/ld.so.conf", "include /etc/ld.so.conf\n/a\n")]);
        assert_eq!(conf_dirs(&looped), ["/a"]);
        // A chain deeper than the cap stops there, without exhausting the stack.
        let chain: Vec<(String, String)> = (0..10_000)
            .map(|i| {
                (
                    format!("/etc/ld.so.conf.d/{i:05}.conf"),
                    format!("/d{i}\ninclude /etc/ld.so.conf.d/{:05}.conf\n", i + 1),
                )
            })
            .chain([("/etc/ld.so.conf".to_string(), "include /etc/ld.so.conf.d/00000.conf\n".to_string())])
            .collect();
        let deep = Binaries { conf: chain.into_iter().collect(), ..Binaries::default() };
        assert_eq!(conf_dirs(&deep).len(), MAX_INCLUDE_DEPTH);
    }

    #[test]
    fn search_path_tokens_expand_and_relative_entries_are_dropped() {
        let view =
            FsView::from_layers(std::iter::empty::<(String, &[u8])>(), &pare_oci::fs::Limits::default()).unwrap();
        let b = Binaries::default();
        let search = Search::new(&view, &b, Some("/lib64/ld-linux-x86-64.so.2"), &[]);
        let info = ElfInfo { class: 64, machine: 62, ..ElfInfo::default() };
        let at = "/app/bin/server";
        assert_eq!(search.expand("$ORIGIN/../lib", at, &info).as_deref(), Some("/app/bin/../lib"));
        assert_eq!(search.expand("${ORIGIN}/x:", at, &info).as_deref(), Some("/app/bin/x:"));
        assert_eq!(
            search.expand("/opt/$LIB/$PLATFORM", at, &info).as_deref(),
            Some("/opt/lib/x86_64-linux-gnu/x86_64")
        );
        assert_eq!(search.expand("lib", at, &info), None);
        assert_eq!(
            search.system_dirs(&info),
            ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"]
        );
    }
}
