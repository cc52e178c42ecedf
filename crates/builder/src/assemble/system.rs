//! What maintainer scripts would have made: accounts, nsswitch, os-release, /tmp, the home directory, the
//! definition's files, the CA bundle and the Java trust store.

// The assembly's imports and types are shared with its steps.
use super::tree::{Tree, blocking_ancestor};
use super::*;

/// Where update-ca-certificates finds local CAs; the definition's `[[files]]` may put some there.
pub(super) const LOCAL_CA_DIR: &str = "usr/local/share/ca-certificates/";

/// The CA certificate files as update-ca-certificates reads them: the packages'
/// `usr/share/ca-certificates/**/*.crt`, then `usr/local/share/ca-certificates/**/*.crt` from the
/// definition's files, each sorted by path.
pub(super) fn ca_files<'a>(tree: &'a Tree, files: &'a [LayerEntry]) -> Vec<(&'a str, &'a [u8])> {
    let crt = |path: &'a str, e: &'a LayerEntry| match &e.data {
        EntryData::File(FileContent::Bytes(b)) if path.ends_with(".crt") => Some((path, b.as_slice())),
        _ => None,
    };
    let packaged = tree
        .entries
        .range("usr/share/ca-certificates/".to_string()..)
        .take_while(|(p, _)| p.starts_with("usr/share/ca-certificates/"))
        .filter_map(|(p, (e, _))| crt(p, e));
    let mut local: Vec<(&str, &[u8])> =
        files.iter().filter(|e| e.path.starts_with(LOCAL_CA_DIR)).filter_map(|e| crt(&e.path, e)).collect();
    local.sort_by_key(|(p, _)| *p);
    packaged.chain(local).collect()
}

/// The CA bundle: every CA file, each ending in a newline.
pub(super) fn ca_bundle(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, b) in files {
        out.extend_from_slice(b);
        if !b.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// Whether a package links to the Java trust store (the JRE's `lib/security/cacerts` does).
pub(super) fn wants_java_cacerts(tree: &Tree) -> bool {
    let target = format!("/{JAVA_CACERTS}");
    tree.entries.values().any(|(e, _)| matches!(&e.data, EntryData::Symlink(t) if *t == target))
}

pub(super) const NSSWITCH: &str = "passwd:         files\ngroup:          files\nshadow:         files\ngshadow:        files\n\n\
hosts:          files dns\nnetworks:       files\n\nprotocols:      files\nservices:       files\nethers:         files\nrpc:            files\n";

pub(super) fn os_release(suite: &str) -> String {
    let version = pare_deb::releases::debian_version(suite).unwrap_or("");
    let id = version;
    let pretty = if version.is_empty() {
        format!("Debian GNU/Linux {suite}")
    } else {
        format!("Debian GNU/Linux {version} ({suite})")
    };
    let mut text = format!("PRETTY_NAME=\"{pretty}\"\nNAME=\"Debian GNU/Linux\"\n");
    if !id.is_empty() {
        text.push_str(&format!("VERSION_ID=\"{id}\"\nVERSION=\"{version} ({suite})\"\n"));
    }
    text.push_str(&format!(
        "VERSION_CODENAME={suite}\nID=debian\nHOME_URL=\"https://www.debian.org/\"\nSUPPORT_URL=\"https://www.debian.org/support\"\nBUG_REPORT_URL=\"https://bugs.debian.org/\"\n"
    ));
    text
}

/// What maintainer scripts would have made: accounts, nsswitch, os-release, /tmp, the home
/// directory; then the definition's own files; then the CA bundle and the Java trust store, which
/// include the CAs those files put in `/usr/local/share/ca-certificates`.
pub(super) fn system_layer(
    loaded: &Loaded,
    arch: &str,
    tree: &Tree,
    has_ca: bool,
    allow_host_paths: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<LayerEntry>, Error> {
    let d = &loaded.definition;
    let user = &d.user;
    let home = user.home_dir();
    let shell = user.shell.clone().unwrap_or_else(|| "/sbin/nologin".into());
    let mut passwd =
        String::from("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n");
    let mut group = String::from("root:x:0:\ntty:x:5:\nstaff:x:50:\nnogroup:x:65534:\n");
    if user.uid != 0 {
        passwd.push_str(&format!("{}:x:{}:{}:{}:{home}:{shell}\n", user.name, user.uid, user.gid, user.name));
    }
    if user.gid != 0 && user.gid != 65534 && user.gid != 5 && user.gid != 50 {
        group.push_str(&format!("{}:x:{}:\n", user.group_name(), user.gid));
    }
    let mut entries = vec![
        LayerEntry::file("etc/passwd", 0o644, passwd),
        LayerEntry::file("etc/group", 0o644, group),
        LayerEntry::file("etc/nsswitch.conf", 0o644, NSSWITCH),
        LayerEntry::new("tmp", EntryData::Dir, 0o1777),
        LayerEntry::dir("root", 0o700),
    ];
    if !(tree.entries.contains_key("etc/os-release") || tree.entries.contains_key("usr/lib/os-release")) {
        entries.push(LayerEntry::file("etc/os-release", 0o644, os_release(&d.suite)));
    }
    if user.uid != 0 {
        entries.push(LayerEntry::dir(&home, 0o700).owned_by(
            user.uid.into(),
            user.gid.into(),
            &user.name,
            user.group_name(),
        ));
    }
    for (i, f) in d.files.iter().enumerate() {
        let path = substitute(&f.path, arch);
        let data = match f.kind {
            FileKind::Dir => EntryData::Dir,
            FileKind::Symlink => EntryData::Symlink(substitute(f.target.as_deref().unwrap_or_default(), arch)),
            FileKind::File => match (&f.content, &f.source) {
                (Some(text), _) => EntryData::File(FileContent::Bytes(text.clone().into_bytes())),
                (None, Some(source)) => {
                    let Some(base) = &loaded.base_dir else {
                        return Err(Error::field(
                            &loaded.origin,
                            &format!("files[{i}].source"),
                            "gallery definitions cannot name host files",
                            "",
                        ));
                    };
                    let max = crate::hostfile::MAX_SOURCE;
                    let bytes = crate::hostfile::read(base, source, max, !allow_host_paths).map_err(|r| {
                        let hint = match r {
                            crate::hostfile::Refusal::Outside(_) => format!(
                                "sources must be inside the definition's directory `{}` (symlinks resolved); copy the \
                                 file there, or pass `--allow-host-paths` to read any host file",
                                base.canonicalize().unwrap_or_else(|_| base.clone()).display()
                            ),
                            _ => "name a regular file, relative to the definition's directory".into(),
                        };
                        let reason = match r {
                            crate::hostfile::Refusal::Outside(_) => {
                                format!("{}, outside the definition's directory", r.reason(source))
                            }
                            _ => r.reason(source),
                        };
                        Error::field(&loaded.origin, &format!("files[{i}].source"), reason, &hint)
                    })?;
                    EntryData::File(FileContent::Bytes(bytes))
                }
                (None, None) => EntryData::File(FileContent::Bytes(Vec::new())),
            },
        };
        let default_mode = match f.kind {
            FileKind::Dir => 0o755,
            FileKind::Symlink => 0o777,
            FileKind::File => 0o644,
        };
        let (uname, gname) = (account(f.uid, user), account(f.gid, user));
        let entry = LayerEntry::new(&path, data, f.mode.unwrap_or(default_mode)).owned_by(
            f.uid.into(),
            f.gid.into(),
            &uname,
            &gname,
        );
        let lookup = |p: &str| {
            entries.iter().find(|e| e.path == p).map(|e| &e.data).or_else(|| tree.entries.get(p).map(|(e, _)| &e.data))
        };
        if let Some(blocked) = blocking_ancestor(&entry.path, lookup) {
            return Err(Error::field(
                &loaded.origin,
                &format!("files[{i}]"),
                format!("`{path}` is under {}: `pare unpack` and runtimes do not write through it", blocked.describe()),
                &blocked.hint(&entry.path),
            ));
        }
        entries.retain(|e| e.path != entry.path);
        entries.push(entry);
    }
    if has_ca {
        // What update-ca-certificates (and its ca-certificates-java hook) would write.
        let files = ca_files(tree, &entries);
        let bundle = ca_bundle(&files);
        let java = wants_java_cacerts(tree).then(|| {
            let mut certs = Vec::new();
            for (path, pem) in &files {
                let stem = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".crt");
                let (mut found, found_warnings) = certs_from_pem(stem, pem);
                certs.append(&mut found);
                warnings.extend(found_warnings);
            }
            trust_store(&certs)
        });
        // A bundle or store among the definition's files wins.
        let defined = |path: &str| entries.iter().any(|e| e.path == path);
        let (has_bundle, has_store) = (defined(CA_BUNDLE), defined(JAVA_CACERTS));
        if !has_bundle {
            entries.push(LayerEntry::file(CA_BUNDLE, 0o644, bundle));
        }
        if let (Some(store), false) = (java, has_store) {
            entries.push(LayerEntry::file(JAVA_CACERTS, 0o644, store?));
        }
    }
    Ok(entries)
}

pub(super) fn account(id: u32, user: &crate::definition::User) -> String {
    match id {
        0 => "root".into(),
        65534 => "nobody".into(),
        id if id == user.uid => user.name.clone(),
        _ => String::new(),
    }
}
