//! The merged filesystem view and safe extraction: OCI changeset rules, reads, and the bad-input
//! corpus (each a clear error, nothing written outside the target).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common_fs;

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use common_fs::*;
use pare_oci::fs::{EntryKind, FsView, Limits, UnpackOptions, unpack, unpack_with};
use pare_oci::{Error, media_types, sha256};

fn view(layers: &[Vec<u8>]) -> FsView {
    try_view(layers).unwrap()
}

fn try_view(layers: &[Vec<u8>]) -> pare_oci::Result<FsView> {
    let labeled = layers.iter().enumerate().map(|(i, t)| (format!("layer{i}"), &t[..]));
    FsView::from_layers(labeled, &Limits::default())
}

fn paths(view: &FsView) -> Vec<&str> {
    view.entries().map(|e| e.path.as_str()).collect()
}

fn read(view: &FsView, layers: &[Vec<u8>], path: &str) -> pare_oci::Result<String> {
    let bytes = view.read_with(path, |i| Ok(&layers[i][..]))?;
    Ok(String::from_utf8(bytes).unwrap())
}

// ---- OCI changeset rules ------------------------------------------------------------------

#[test]
fn whiteout_removes_a_file() {
    let layers = [tar(&[dir("a/"), file("a/x", "x"), file("a/y", "y")]), tar(&[dir("a/"), file("a/.wh.x", "")])];
    let v = view(&layers);
    assert_eq!(paths(&v), ["/", "/a", "/a/y"]);
    assert_eq!(v.get("/a").unwrap().layer, 1);
}

#[test]
fn whiteout_removes_a_directory_and_everything_below() {
    let layers = [
        tar(&[dir("a/"), dir("a/b/"), dir("a/b/c/"), file("a/b/c/f", "f"), file("a/bb", "keep")]),
        tar(&[file("a/.wh.b", "")]),
    ];
    let v = view(&layers);
    assert_eq!(paths(&v), ["/", "/a", "/a/bb"]);
}

#[test]
fn opaque_directory_hides_lower_children_but_keeps_its_own_layer() {
    let lower = tar(&[dir("a/"), file("a/old", "1"), dir("a/sub/"), file("a/sub/deep", "2"), file("b", "b")]);
    // The marker after the new entries, and before them: the same result (OCI layer spec).
    for upper in [
        tar(&[dir("a/"), file("a/new", "3"), dir("a/sub/"), file("a/sub/fresh", "4"), file("a/.wh..wh..opq", "")]),
        tar(&[dir("a/"), file("a/.wh..wh..opq", ""), file("a/new", "3"), dir("a/sub/"), file("a/sub/fresh", "4")]),
    ] {
        let layers = [lower.clone(), upper];
        let v = view(&layers);
        assert_eq!(paths(&v), ["/", "/a", "/a/new", "/a/sub", "/a/sub/fresh", "/b"]);
        assert_eq!(read(&v, &layers, "/a/sub/fresh").unwrap(), "4");
    }
}

#[test]
fn opaque_marker_without_directory_entry_and_missing_parents() {
    let layers = [
        tar(&[dir("a/"), dir("a/d/"), file("a/d/old", "1")]),
        // No `a/d/` entry in the upper layer: a/d is kept as a directory for a/d/e/new.
        tar(&[file("a/d/e/new", "n"), file("a/.wh..wh..opq", "")]),
    ];
    let v = view(&layers);
    assert_eq!(paths(&v), ["/", "/a", "/a/d", "/a/d/e", "/a/d/e/new"]);
    assert!(v.get("/a/d").unwrap().is_dir());
}

#[test]
fn whiteout_then_re_add() {
    // Same layer, either order: the whiteout applies to lower layers only.
    for upper in [tar(&[file(".wh.x", ""), file("x", "new")]), tar(&[file("x", "new"), file(".wh.x", "")])] {
        let layers = [tar(&[file("x", "old")]), upper];
        let v = view(&layers);
        assert_eq!(read(&v, &layers, "/x").unwrap(), "new");
        assert_eq!(v.get("x").unwrap().layer, 1);
    }
    // Removed in one layer, back in the next.
    let layers = [tar(&[dir("d/"), file("d/f", "1")]), tar(&[file(".wh.d", "")]), tar(&[dir("d/"), file("d/g", "2")])];
    let v = view(&layers);
    assert_eq!(paths(&v), ["/", "/d", "/d/g"]);
}

#[test]
fn whiteout_in_same_layer_keeps_same_layer_file() {
    let layers = [tar(&[dir("a/"), file("a/x", "x"), file("a/.wh.x", "")])];
    let v = view(&layers);
    assert_eq!(paths(&v), ["/", "/a", "/a/x"]);
}

#[test]
fn directory_replaced_by_file_and_back() {
    let layers = [
        tar(&[dir("a/"), file("a/x", "x"), file("f", "file")]),
        tar(&[file("a", "now a file"), dir("f/"), file("f/inner", "i")]),
    ];
    let v = view(&layers);
    assert_eq!(paths(&v), ["/", "/a", "/f", "/f/inner"]);
    assert_eq!(v.get("/a").unwrap().kind, EntryKind::File);
    assert_eq!(read(&v, &layers, "/a").unwrap(), "now a file");
}

#[test]
fn directory_over_directory_keeps_children_and_takes_attributes() {
    let layers = [tar(&[dir("d/").mode(0o700), file("d/f", "f")]), tar(&[dir("d/").mode(0o750).owner(5, 6)])];
    let v = view(&layers);
    let d = v.get("/d").unwrap();
    assert_eq!((d.mode, d.uid, d.gid, d.layer), (0o750, 5, 6, 1));
    assert!(v.get("/d/f").is_some());
}

#[test]
fn names_are_normalised_and_rootfs_relative() {
    let layers =
        [tar(&[dir("./"), file("./etc/passwd", "p"), file("/etc/group", "g"), file("usr//bin/../lib/x", "x")])];
    let v = view(&layers);
    assert_eq!(paths(&v), ["/", "/etc", "/etc/group", "/etc/passwd", "/usr", "/usr/lib", "/usr/lib/x"]);
    // Parents created for entries without their own directory entry.
    let usr = v.get("/usr").unwrap();
    assert_eq!((usr.kind, usr.mode), (EntryKind::Dir, 0o755));
    assert!(v.get("etc/../etc/passwd").is_some());
}

#[test]
fn children_lists_direct_entries_only() {
    let layers = [tar(&[
        dir("a/"),
        dir("a/b/"),
        file("a/b/c", ""),
        file("a/b-c", ""),
        file("a/b0", ""),
        dir("a/b/d/"),
        file("a/b/d/e", ""),
        file("a/z", ""),
        file("ab", ""),
    ])];
    let v = view(&layers);
    let kids: Vec<&str> = v.children("/a").map(|e| e.path.as_str()).collect();
    assert_eq!(kids, ["/a/b", "/a/b-c", "/a/b0", "/a/z"]);
    let top: Vec<&str> = v.children("/").map(|e| e.path.as_str()).collect();
    assert_eq!(top, ["/a", "/ab"]);
    assert_eq!(v.children("/a/z").count(), 0);
    assert_eq!(v.descendants("/a/b").count(), 3);
}

#[test]
fn hardlinks_share_content_and_survive_their_target() {
    let layers = [
        tar(&[dir("bin/"), file("bin/a", "hello").mode(0o755), hardlink("bin/b", "bin/a"), hardlink("c", "./bin/b")]),
        tar(&[file("bin/.wh.a", "")]),
    ];
    let v = view(&layers);
    let b = v.get("/bin/b").unwrap();
    assert_eq!((b.kind, b.size, b.mode), (EntryKind::Hardlink, 5, 0o755));
    assert_eq!(b.link_target.as_deref(), Some("/bin/a"));
    assert!(v.get("/bin/a").is_none());
    assert_eq!(read(&v, &layers, "/bin/b").unwrap(), "hello");
    assert_eq!(read(&v, &layers, "/c").unwrap(), "hello");
}

#[test]
fn hardlink_across_layers() {
    let layers = [tar(&[file("data", "lower")]), tar(&[hardlink("copy", "data")])];
    let v = view(&layers);
    assert_eq!(v.get("/copy").unwrap().layer, 1);
    assert_eq!(read(&v, &layers, "copy").unwrap(), "lower");
}

#[test]
fn symlinks_resolve_inside_the_view() {
    let layers = [tar(&[
        dir("usr/"),
        dir("usr/share/"),
        file("usr/share/x", "content"),
        dir("etc/"),
        symlink("etc/rel", "../usr/share/x"),
        symlink("etc/abs", "/usr/share/x"),
        symlink("etc/dirlink", "../usr"),
        symlink("etc/climb", "../../../../usr/share/x"),
        symlink("loop1", "loop2"),
        symlink("loop2", "loop1"),
        symlink("dangling", "/nowhere"),
    ])];
    let v = view(&layers);
    for path in ["/etc/rel", "/etc/abs", "/etc/dirlink/share/x", "/etc/climb"] {
        assert_eq!(v.resolve(path).unwrap().path, "/usr/share/x", "{path}");
        assert_eq!(read(&v, &layers, path).unwrap(), "content");
    }
    assert_eq!(v.resolve_parent("/etc/abs").unwrap().kind, EntryKind::Symlink);
    let err = v.resolve("/loop1").unwrap_err();
    assert!(matches!(err, Error::FsPath { .. }), "{err}");
    assert!(err.to_string().contains("too many levels"), "{err}");
    assert!(matches!(v.resolve("/dangling"), Err(Error::NotFound { .. })));
    let err = read(&v, &layers, "/usr").unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
    let err = v.resolve("/usr/share/x/below").unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
fn for_each_file_streams_each_layer_once() {
    let layers = [tar(&[file("a", "1"), file("b", "2"), hardlink("c", "a")]), tar(&[file("b", "3"), file("d", "4")])];
    let v = view(&layers);
    let mut opened = Vec::new();
    let mut seen = Vec::new();
    v.for_each_file_with(
        |i| {
            opened.push(i);
            Ok(&layers[i][..])
        },
        |e| e.path != "/d",
        |e, r| {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            seen.push((e.path.clone(), s));
            Ok::<(), Error>(())
        },
    )
    .unwrap();
    assert_eq!(opened, [0, 1]);
    seen.sort();
    assert_eq!(seen, [("/a".into(), "1".into()), ("/b".into(), "3".into()), ("/c".into(), "1".to_string())]);
}

#[test]
fn special_files_and_unsupported_types() {
    let layers = [tar(&[chardev("dev/null", 1, 3), fifo("run/fifo"), entry_raw("weird", b'V')])];
    let v = view(&layers);
    let null = v.get("/dev/null").unwrap();
    assert_eq!((null.kind, null.device), (EntryKind::CharDevice, Some((1, 3))));
    assert_eq!(v.get("/run/fifo").unwrap().kind, EntryKind::Fifo);
    assert!(v.get("/weird").is_none());
    assert!(v.warnings().iter().any(|w| w.contains("weird")), "{:?}", v.warnings());
}

fn entry_raw(name: &str, kind: u8) -> E {
    E { kind: Kind::Raw(kind), ..file(name, "") }
}

#[test]
fn long_names_and_pax_records() {
    let long = format!("{}/file", "d".repeat(150));
    let mut builder = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o600);
    h.set_cksum();
    builder.append_data(&mut h, &long, &b"long"[..]).unwrap();
    // A PAX header giving names and ids.
    let pax = [("path", "pax/name"), ("uname", "alice"), ("gname", "staff"), ("uid", "4000000"), ("mtime", "12.5")];
    builder.append_pax_extensions(pax.iter().map(|(k, v)| (*k, v.as_bytes()))).unwrap();
    let (h, data) = common_fs::header(&file("short", "pax"));
    builder.append(&h, &data[..]).unwrap();
    let layers = [builder.into_inner().unwrap()];
    let v = view(&layers);
    assert_eq!(read(&v, &layers, &long).unwrap(), "long");
    let e = v.get("/pax/name").unwrap();
    assert_eq!((e.uname.as_deref(), e.gname.as_deref(), e.uid, e.mtime), (Some("alice"), Some("staff"), 4_000_000, 12));
    assert_eq!(read(&v, &layers, "/pax/name").unwrap(), "pax");
}

// ---- Images: reading and unpacking --------------------------------------------------------

fn sample_layers() -> Vec<Vec<u8>> {
    vec![
        tar(&[
            dir("./"),
            dir("bin/"),
            file("bin/tool", "#!/bin/sh\necho hi\n").mode(0o4755).owner(0, 0),
            hardlink("bin/tool2", "bin/tool"),
            dir("etc/").mode(0o755).mtime(1_000_000),
            file("etc/os-release", "ID=test\n").mtime(1_234_567),
            file("etc/gone", "x"),
            dir("var/"),
            dir("var/lib/"),
            file("var/lib/old", "old"),
            symlink("etc/alt", "../bin/tool"),
            symlink("etc/abs", "/etc/os-release"),
            dir("home/").owner(1000, 1000),
            file("home/secret", "s").mode(0o600).owner(1000, 1000),
            dir("ro/").mode(0o555),
            file("ro/f", "ro"),
            fifo("run/pipe"),
        ]),
        tar(&[
            file("etc/.wh.gone", ""),
            dir("var/"),
            file("var/.wh..wh..opq", ""),
            file("var/new", "new"),
            file("etc/os-release", "ID=test2\n"),
        ]),
    ]
}

#[test]
fn view_and_read_from_an_image() {
    let (_layout, image) = image_of(&sample_layers());
    let v = FsView::from_image(&image, &Limits::default()).unwrap();
    assert_eq!(v.image_digest(), Some(image.digest()));
    assert_eq!(v.layer_labels().len(), 2);
    assert_eq!(v.layer_labels()[0], image.layers().unwrap()[0].digest().to_string());
    assert!(v.get("/etc/gone").is_none());
    assert!(v.get("/var/lib").is_none());
    assert_eq!(v.read(&image, "/etc/os-release").unwrap(), b"ID=test2\n");
    assert_eq!(v.read(&image, "/etc/abs").unwrap(), b"ID=test2\n");
    assert_eq!(v.read(&image, "/etc/alt").unwrap(), b"#!/bin/sh\necho hi\n");
    assert_eq!(v.read(&image, "/bin/tool2").unwrap(), b"#!/bin/sh\necho hi\n");
    let mut count = 0;
    v.for_each_file(
        &image,
        |e| e.path.starts_with("/etc"),
        |_, r| {
            count += 1;
            std::io::copy(r, &mut std::io::sink())
                .map(|_| ())
                .map_err(|e| Error::Stream { context: "test".into(), source: e })
        },
    )
    .unwrap();
    assert_eq!(count, 1);
    let small = Limits { max_file_size: 4, ..Limits::default() };
    let v = FsView::from_image(&image, &Limits { max_file_size: 100, ..small }).unwrap();
    assert!(v.read(&image, "/etc/os-release").is_ok());
}

#[test]
fn unpack_writes_the_merged_filesystem() {
    let (_layout, image) = image_of(&sample_layers());
    let sandbox = Sandbox::new();
    let out = sandbox.out();
    let stats = unpack(&image, &out, &Limits::default()).unwrap();
    assert_eq!(stats.hardlinks, 1);
    assert_eq!(stats.symlinks, 2);
    assert_eq!(stats.nodes, 1);
    sandbox.assert_untouched();

    let mut listing = Vec::new();
    for entry in walk(&out) {
        listing.push(entry.strip_prefix(&out).unwrap().to_string_lossy().into_owned());
    }
    listing.sort();
    assert_eq!(
        listing,
        [
            "bin",
            "bin/tool",
            "bin/tool2",
            "etc",
            "etc/abs",
            "etc/alt",
            "etc/os-release",
            "home",
            "home/secret",
            "ro",
            "ro/f",
            "run",
            "run/pipe",
            "var",
            "var/new"
        ]
    );
    assert_eq!(std::fs::read_to_string(out.join("etc/os-release")).unwrap(), "ID=test2\n");
    let tool = std::fs::metadata(out.join("bin/tool")).unwrap();
    let tool2 = std::fs::metadata(out.join("bin/tool2")).unwrap();
    assert_eq!(tool.ino(), tool2.ino(), "hardlink kept");
    // setuid is dropped by default (UnpackOptions::keep_setid keeps it).
    assert_eq!(tool.permissions().mode() & 0o7777, 0o755);
    assert_eq!(std::fs::read_link(out.join("etc/abs")).unwrap().to_str(), Some("/etc/os-release"));
    assert_eq!(std::fs::read_link(out.join("etc/alt")).unwrap().to_str(), Some("../bin/tool"));
    assert_eq!(std::fs::metadata(out.join("etc")).unwrap().mtime(), 1_000_000);
    assert_eq!(std::fs::symlink_metadata(out.join("etc/alt")).unwrap().mtime(), 1_700_000_000);
    assert_eq!(std::fs::metadata(out.join("ro")).unwrap().permissions().mode() & 0o777, 0o555);
    assert!(std::fs::symlink_metadata(out.join("run/pipe")).unwrap().file_type().is_fifo());
    let secret = std::fs::metadata(out.join("home/secret")).unwrap();
    if rustix_is_root() {
        assert_eq!((secret.uid(), secret.gid()), (1000, 1000));
    }
    assert_eq!(secret.permissions().mode() & 0o777, 0o600);
    // No temporary or whiteout files left.
    assert!(listing.iter().all(|p| !p.contains(".pare-tmp-") && !p.contains(".wh.")));
}

fn rustix_is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

#[test]
fn unpack_hardlink_whose_target_was_removed_is_a_file() {
    let layers = [tar(&[file("a", "content"), hardlink("b", "a"), hardlink("c", "a")]), tar(&[file(".wh.a", "")])];
    let (_layout, image) = image_of(&layers);
    let sandbox = Sandbox::new();
    let stats = unpack(&image, &sandbox.out(), &Limits::default()).unwrap();
    assert_eq!((stats.files, stats.hardlinks), (1, 1));
    let b = std::fs::metadata(sandbox.out().join("b")).unwrap();
    let c = std::fs::metadata(sandbox.out().join("c")).unwrap();
    assert_eq!(b.ino(), c.ino());
    assert_eq!(std::fs::read_to_string(sandbox.out().join("c")).unwrap(), "content");
    assert!(!sandbox.out().join("a").exists());
}

#[test]
fn unpack_skips_device_nodes_unless_allowed() {
    let layers = [tar(&[chardev("dev/null", 1, 3), fifo("run/fifo")])];
    let (_layout, image) = image_of(&layers);
    // By default (as a rootless runtime would): skipped with a warning naming the option, even as root.
    let sandbox = Sandbox::new();
    let stats = unpack(&image, &sandbox.out(), &Limits::default()).unwrap();
    assert_eq!((stats.skipped, stats.nodes), (1, 1), "{stats:?}");
    assert!(std::fs::symlink_metadata(sandbox.out().join("dev/null")).is_err());
    assert!(std::fs::symlink_metadata(sandbox.out().join("run/fifo")).unwrap().file_type().is_fifo());
    assert!(stats.warnings.iter().any(|w| w.contains("/dev/null") && w.contains("--allow-devices")), "{stats:?}");

    // Allowed: created when root, else skipped because creating devices needs root.
    let sandbox = Sandbox::new();
    let options = UnpackOptions { allow_devices: true, ..UnpackOptions::default() };
    let stats = unpack_with(&image, &sandbox.out(), &options).unwrap();
    if rustix::process::geteuid().is_root() {
        assert_eq!(stats.nodes, 2, "{stats:?}");
        let meta = std::fs::symlink_metadata(sandbox.out().join("dev/null")).unwrap();
        assert!(meta.file_type().is_char_device());
        assert_eq!(meta.rdev(), rustix_makedev(1, 3));
    } else {
        assert_eq!(stats.skipped, 1);
        assert!(stats.warnings.iter().any(|w| w.contains("/dev/null") && w.contains("root")));
    }
}

#[test]
fn unpack_drops_setuid_and_setgid_bits_unless_kept() {
    let layers =
        [tar(&[file("bin/su", "x").mode(0o4755), file("bin/wall", "y").mode(0o2755), dir("shared/").mode(0o2775)])];
    let (_layout, image) = image_of(&layers);
    let mode = |root: &std::path::Path, p: &str| std::fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o7777;
    let sandbox = Sandbox::new();
    let stats = unpack(&image, &sandbox.out(), &Limits::default()).unwrap();
    assert_eq!(mode(&sandbox.out(), "bin/su"), 0o755);
    assert_eq!(mode(&sandbox.out(), "bin/wall"), 0o755);
    // Directories keep setgid (it only makes new entries inherit the group).
    assert_eq!(mode(&sandbox.out(), "shared"), 0o2775);
    assert!(stats.warnings.iter().any(|w| w.contains("/bin/su") && w.contains("--keep-setid")), "{stats:?}");

    let sandbox = Sandbox::new();
    let options = UnpackOptions { keep_setid: true, ..UnpackOptions::default() };
    unpack_with(&image, &sandbox.out(), &options).unwrap();
    assert_eq!(mode(&sandbox.out(), "bin/su"), 0o4755);
    assert_eq!(mode(&sandbox.out(), "bin/wall"), 0o2755);
}

fn rustix_makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfffff000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffffff00) << 12) | (minor & 0xff)
}

#[test]
fn unpack_refuses_a_non_empty_directory_unless_asked() {
    let (_layout, image) = image_of(&[tar(&[dir("etc/"), file("etc/passwd", "root:x:0:0")])]);
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.out()).unwrap();
    // A symlink already in the target, pointing at the sentinel: it must be replaced, not followed.
    std::os::unix::fs::symlink("../sentinel", sandbox.out().join("etc")).unwrap();
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    assert!(matches!(err.root(), Error::UnpackTarget { .. }), "{err}");
    assert!(err.to_string().contains("not empty"), "{err}");

    let options = UnpackOptions { allow_non_empty: true, ..UnpackOptions::default() };
    unpack_with(&image, &sandbox.out(), &options).unwrap();
    sandbox.assert_untouched();
    assert!(std::fs::symlink_metadata(sandbox.out().join("etc")).unwrap().is_dir());
    assert_eq!(std::fs::read_to_string(sandbox.out().join("etc/passwd")).unwrap(), "root:x:0:0");
}

#[test]
fn unpack_into_existing_file_is_refused() {
    let (_layout, image) = image_of(&[tar(&[file("a", "a")])]);
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.out(), "i am a file").unwrap();
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

// ---- Bad input corpus ---------------------------------------------------------------------

/// Unpacks and expects an error, with nothing written anywhere.
fn refused(layers: &[Vec<u8>]) -> Error {
    let (_layout, image) = image_of(layers);
    let sandbox = Sandbox::new();
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    sandbox.assert_nothing_written();
    err
}

fn assert_unsafe(err: &Error, path: &str, words: &str) {
    match err.root() {
        Error::UnsafeEntry { layer, path: p, reason } => {
            assert!(layer.starts_with("sha256:"), "{err}");
            assert_eq!(p, path, "{err}");
            assert!(reason.contains(words), "{err}");
        }
        other => panic!("expected UnsafeEntry, got {other}"),
    }
}

#[test]
fn bad_path_traversal() {
    for name in ["../sentinel/evil", "a/../../sentinel/evil", "./../sentinel/evil", "/../sentinel/evil"] {
        let err = refused(&[tar(&[raw_name(name.as_bytes(), "pwned")])]);
        assert_unsafe(&err, name, "climb above the root");
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn absolute_paths_are_rootfs_relative() {
    let (_layout, image) = image_of(&[tar(&[raw_name(b"/etc/passwd", "root:x:0:0")])]);
    let sandbox = Sandbox::new();
    unpack(&image, &sandbox.out(), &Limits::default()).unwrap();
    sandbox.assert_untouched();
    assert_eq!(std::fs::read_to_string(sandbox.out().join("etc/passwd")).unwrap(), "root:x:0:0");
}

#[test]
fn bad_symlink_escape() {
    // A symlink out, then a file written through it.
    let err = refused(&[tar(&[symlink("link", "../sentinel"), file("link/evil", "pwned")])]);
    assert_unsafe(&err, "link/evil", "is a symlink");
    // The symlink in one layer, the write through it in the next.
    let err = refused(&[tar(&[symlink("link", "../../sentinel")]), tar(&[file("link/evil", "pwned")])]);
    assert_unsafe(&err, "link/evil", "is a symlink");
    // The symlink alone: fine in a view (resolution stops at the root), refused by unpack.
    let layers = [tar(&[symlink("link", "../../../sentinel/keep.txt")])];
    assert!(try_view(&layers).is_ok());
    let err = refused(&layers);
    assert_unsafe(&err, "/link", "climbs above the root");
}

#[test]
fn bad_hardlink_escape() {
    let err = refused(&[tar(&[hardlink("evil", "../sentinel/keep.txt")])]);
    assert_unsafe(&err, "evil", "climbs above the root");
    let err = refused(&[tar(&[hardlink("evil", "/etc/shadow")])]);
    assert_unsafe(&err, "evil", "does not exist");
    let err = refused(&[tar(&[dir("d/"), hardlink("evil", "d")])]);
    assert_unsafe(&err, "evil", "is a directory");
    // Through a symlinked directory: the link target is looked up as a tar member, not followed.
    let err = refused(&[tar(&[symlink("s", "/"), hardlink("evil", "s/etc/passwd")])]);
    assert_unsafe(&err, "evil", "does not exist");
}

#[test]
fn bad_symlinked_parent_directory() {
    let sandbox = Sandbox::new();
    let target = sandbox.sentinel().to_string_lossy().into_owned();
    let layers = [tar(&[symlink("etc", &target), file("etc/evil", "pwned")])];
    let (_layout, image) = image_of(&layers);
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    sandbox.assert_nothing_written();
    assert_unsafe(&err, "etc/evil", "parent `/etc` is a symlink");
    // A directory entry through the symlink, then a file.
    let err = refused(&[tar(&[symlink("etc", "/tmp")]), tar(&[dir("etc/sub/"), file("etc/sub/evil", "x")])]);
    assert_unsafe(&err, "etc/sub/", "is a symlink");
}

#[test]
fn bad_parent_is_a_file() {
    let err = refused(&[tar(&[file("f", "x"), file("f/evil", "x")])]);
    assert_unsafe(&err, "f/evil", "not a directory");
}

#[test]
fn bad_whiteout_names() {
    let err = refused(&[tar(&[file(".wh...", "")])]);
    assert_unsafe(&err, ".wh...", "names no file");
    let err = refused(&[tar(&[file(".wh.dir/file", "")])]);
    assert_unsafe(&err, ".wh.dir/file", "cannot be a directory");
    // AUFS metadata is skipped with a warning.
    let v = view(&[tar(&[file(".wh..wh.plnk/123", ""), file(".wh..wh.aufs", "")])]);
    assert!(v.is_empty());
}

#[test]
fn bad_root_replacement() {
    let err = refused(&[tar(&[file(".", "x")])]);
    assert_unsafe(&err, ".", "root directory");
    let err = refused(&[tar(&[symlink("./", "/etc")])]);
    assert_unsafe(&err, "./", "root directory");
}

/// Streams a gzip layer with a tar entry claiming `size` bytes of zeros, built from repeated
/// gzip members so that no gigabytes are compressed (or written) to make it.
fn gzip_best(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn bomb_layout(size: u64) -> (Layout, pare_oci::Image) {
    let mut layout = Layout::new();
    let chunk = 16u64 << 20;
    let member = gzip_best(&vec![0u8; chunk as usize]);
    let (mut h, _) = common_fs::header(&file("bomb", ""));
    h.set_size(size);
    h.set_cksum();
    let head = gzip(h.as_bytes());
    // The diff ID cannot be checked without inflating everything: it is never reached.
    layout.layer_streamed(media_types::OCI_LAYER_GZIP, sha256(b"not reached"), |w| {
        w.write_all(&head).unwrap();
        for _ in 0..size / chunk {
            w.write_all(&member).unwrap();
        }
        w.write_all(&gzip(&[0u8; 1024])).unwrap();
    });
    let image = layout.image();
    (layout, image)
}

#[test]
fn bad_gzip_bomb() {
    let (layout, image) = bomb_layout(4 << 30);
    assert!(layout.blobs[0].size < 8 << 20, "bomb blob is {} bytes", layout.blobs[0].size);
    let sandbox = Sandbox::new();
    let started = std::time::Instant::now();
    // Refused by its header: bigger than the file size limit.
    let limits = Limits { max_file_size: 1 << 30, ..Limits::default() };
    let err = unpack(&image, &sandbox.out(), &limits).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
    assert!(err.to_string().contains("bomb"), "{err}");
    // Refused by its header: bigger than the total limit.
    let limits = Limits { max_total_size: 64 << 20, max_file_size: 8 << 30, ..Limits::default() };
    let err = unpack(&image, &sandbox.out(), &limits).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { limit, .. } if limit == 64 << 20), "{err}");
    sandbox.assert_nothing_written();
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn bad_gzip_bomb_without_honest_header() {
    // A small file, then gigabytes of zeros after the end of the archive: only the stream cap sees them.
    let mut layout = Layout::new();
    let tar_bytes = tar(&[file("small", "x")]);
    let member = gzip_best(&vec![0u8; 16 << 20]);
    layout.layer_streamed(media_types::OCI_LAYER_GZIP, sha256(b"not reached"), |w| {
        w.write_all(&gzip(&tar_bytes)).unwrap();
        for _ in 0..256 {
            w.write_all(&member).unwrap();
        }
    });
    let image = layout.image();
    let sandbox = Sandbox::new();
    let limits = Limits { max_total_size: 32 << 20, ..Limits::default() };
    let err = unpack(&image, &sandbox.out(), &limits).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
    assert!(err.to_string().contains(&layout.blobs[0].digest.to_string()), "{err}");
    sandbox.assert_nothing_written();
}

#[test]
fn bad_layer_digest() {
    // Uncompressed, so the tampered blob has exactly the stored size.
    let mut layout = Layout::new();
    let original = tar(&[file("a", "original")]);
    let digest = sha256(&original);
    let path = pare_oci::blob_path(layout.root(), &digest);
    std::fs::write(&path, tar(&[file("a", "tampered")])).unwrap();
    let size = original.len() as u64;
    layout.blobs.push(Blob { path, digest: digest.clone(), size, media_type: media_types::OCI_LAYER, diff_id: digest });
    let image = layout.image();
    let sandbox = Sandbox::new();
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    sandbox.assert_nothing_written();
    match &err {
        Error::DigestMismatch { digest, .. } => assert_eq!(digest, &layout.blobs[0].digest),
        other => panic!("expected DigestMismatch, got {other}"),
    }
    assert!(FsView::from_image(&image, &Limits::default()).is_err());
}

#[test]
fn bad_diff_id() {
    let mut layout = Layout::new();
    let blob = layout.layer(&tar(&[file("a", "x")]));
    blob.diff_id = sha256(b"something else");
    let wrong = blob.diff_id.clone();
    let image = layout.image();
    let sandbox = Sandbox::new();
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    sandbox.assert_nothing_written();
    assert!(matches!(&err, Error::DigestMismatch { digest, .. } if digest == &wrong), "{err}");
}

#[test]
fn bad_truncated_blob() {
    let layers = [tar(&[file("a", &"x".repeat(10_000)), file("b", "y")])];
    let (layout, image) = image_of(&layers);
    let full = std::fs::read(&layout.blobs[0].path).unwrap();
    std::fs::write(&layout.blobs[0].path, &full[..full.len() / 2]).unwrap();
    let sandbox = Sandbox::new();
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    sandbox.assert_nothing_written();
    assert!(err.to_string().contains(&layout.blobs[0].digest.to_string()), "{err}");
}

#[test]
fn bad_truncated_tar() {
    // An uncompressed layer cut inside an entry's data.
    let mut layout = Layout::new();
    let full = tar(&[file("a", &"x".repeat(2000))]);
    let cut = full[..1024].to_vec();
    let digest = sha256(&cut);
    std::fs::write(pare_oci::blob_path(layout.root(), &digest), &cut).unwrap();
    layout.blobs.push(Blob {
        path: pare_oci::blob_path(layout.root(), &digest),
        digest: digest.clone(),
        size: cut.len() as u64,
        media_type: media_types::OCI_LAYER,
        diff_id: digest.clone(),
    });
    let image = layout.image();
    let sandbox = Sandbox::new();
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    sandbox.assert_nothing_written();
    assert!(err.to_string().contains(&digest.to_string()), "{err}");
}

#[test]
fn bad_malformed_tar_header() {
    let mut garbage: Vec<u8> = (0..2048u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    garbage[0] = b'a';
    let err = refused(&[garbage]);
    assert!(err.hint().is_some_and(|h| h.contains("not a valid tar archive")), "{err}");
    match err.root() {
        Error::Malformed { location, .. } => {
            assert!(location.contains("sha256:"), "{err}");
        }
        other => panic!("expected Malformed, got {other}"),
    }
    // A valid entry, then garbage: the message names the entry before.
    let mut layer = tar(&[file("good", "ok")]);
    layer.truncate(1024);
    layer.extend(std::iter::repeat_n(0x41, 1024));
    let err = refused(&[layer]);
    assert!(err.to_string().contains("after `good`"), "{err}");
    // A bad number in a header field.
    let (mut h, _) = common_fs::header(&file("badmode", ""));
    h.as_old_mut().mode = *b"zzzzzzz\0";
    h.set_cksum();
    let mut layer = h.as_bytes().to_vec();
    layer.extend([0u8; 1024]);
    let err = refused(&[layer]);
    assert!(matches!(err.root(), Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("badmode"), "{err}");
}

#[test]
fn non_utf8_names_are_kept_lossily() {
    let layers = [tar(&[raw_name(b"caf\xe9", "latin1"), symlink("link", "caf\u{e9}")])];
    let v = view(&layers);
    let e = v.get("/caf\u{fffd}").unwrap();
    assert_eq!(e.kind, EntryKind::File);
    assert!(v.warnings().iter().any(|w| w.contains("not UTF-8")), "{:?}", v.warnings());
    let (_layout, image) = image_of(&layers);
    let sandbox = Sandbox::new();
    let stats = unpack(&image, &sandbox.out(), &Limits::default()).unwrap();
    assert!(!stats.warnings.is_empty());
    assert_eq!(std::fs::read_to_string(sandbox.out().join("caf\u{fffd}")).unwrap(), "latin1");
    sandbox.assert_untouched();
}

#[test]
fn bad_nul_in_name() {
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_pax_extensions([("path", &b"a\0b"[..])]).unwrap();
    let (h, data) = common_fs::header(&file("x", ""));
    builder.append(&h, &data[..]).unwrap();
    let err = refused(&[builder.into_inner().unwrap()]);
    assert!(err.to_string().contains("NUL"), "{err}");
}

#[test]
fn entry_limit() {
    let entries: Vec<E> = (0..50).map(|i| file(&format!("f{i}"), "")).collect();
    let (_layout, image) = image_of(&[tar(&entries)]);
    let limits = Limits { max_entries: 10, ..Limits::default() };
    let sandbox = Sandbox::new();
    let err = unpack(&image, &sandbox.out(), &limits).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { limit: 10, .. }), "{err}");
    sandbox.assert_nothing_written();
}

#[test]
fn read_limit() {
    let (_layout, image) = image_of(&[tar(&[file("big", &"x".repeat(5000))])]);
    let v = FsView::from_image(&image, &Limits::default()).unwrap();
    assert_eq!(v.read(&image, "/big").unwrap().len(), 5000);
    let err = FsView::from_image(&image, &Limits { max_file_size: 100, ..Limits::default() }).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
}

#[test]
fn view_of_another_image_is_refused() {
    let (_a, image_a) = image_of(&[tar(&[file("a", "a")])]);
    let (_b, image_b) = image_of(&[tar(&[file("a", "b")])]);
    let v = FsView::from_image(&image_a, &Limits::default()).unwrap();
    assert!(v.read(&image_b, "/a").is_err());
}

#[test]
fn bad_huge_long_name_header() {
    // A GNU long-name record of 32 MiB: refused before it is read into memory whole.
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    h.set_size(32 << 20);
    h.set_mode(0o644);
    h.set_cksum();
    let mut layer = h.as_bytes().to_vec();
    layer.resize(512 + (32 << 20), b'a');
    let (h, data) = common_fs::header(&file("x", ""));
    layer.extend_from_slice(h.as_bytes());
    layer.extend(data);
    layer.extend([0u8; 1024]);
    let err = try_view(&[layer]).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
    assert!(err.to_string().contains("tar metadata"), "{err}");
}

#[test]
fn fuzz_seeds_still_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/tar_whiteout");
    let mut count = 0;
    for seed in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(seed.unwrap().path()).unwrap();
        let text = bytes.as_slice();
        let mut layers: Vec<Vec<u8>> = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.windows(9).position(|w| w == b"--LAYER--") {
            layers.push(rest[..at].to_vec());
            rest = &rest[at + 9..];
        }
        layers.push(rest.to_vec());
        let v = view(&layers);
        for e in v.entries().filter(|e| e.is_file()) {
            assert_eq!(v.read_with(&e.path, |i| Ok(&layers[i][..])).unwrap().len() as u64, e.size);
        }
        count += 1;
    }
    assert!(count >= 5);
}

#[test]
fn large_files_are_not_metadata() {
    // 40 MiB of data in one entry, more than the cap on metadata between two entries.
    let mut builder = tar::Builder::new(Vec::new());
    let (mut h, _) = common_fs::header(&file("big", ""));
    h.set_size(40 << 20);
    h.set_cksum();
    builder.append(&h, std::io::repeat(7).take(40 << 20)).unwrap();
    let (h, data) = common_fs::header(&file("after", "ok"));
    builder.append(&h, &data[..]).unwrap();
    let layers = [builder.into_inner().unwrap()];
    let v = view(&layers);
    assert_eq!(v.get("/big").unwrap().size, 40 << 20);
    assert_eq!(read(&v, &layers, "/after").unwrap(), "ok");
    assert_eq!(v.read_with("/big", |i| Ok(&layers[i][..])).unwrap().len(), 40 << 20);
}

// ---- Docker archives written from images ----------------------------------------------------

/// Copies `image` to a Docker archive at `target` (capped at `max_size` when given).
fn to_docker_archive(image: &pare_oci::Image, target: &std::path::Path, max_size: Option<u64>) -> pare_oci::Result<()> {
    let mut sink = pare_oci::DockerArchiveSink::create(target, Some("test/app:1")).unwrap();
    if let Some(max) = max_size {
        sink = sink.with_max_size(max);
    }
    let root = pare_oci::Root::Image(image.clone());
    pare_oci::copy(&root, Box::new(sink), &pare_oci::PlatformChoice::All, &pare_oci::Quiet).map(|_| ())
}

#[test]
fn docker_archive_output_is_capped_in_size() {
    let big = "x".repeat(200_000);
    let (_layout, image) = image_of(&[tar(&[file("big", &big)])]);
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("app.tar");
    let err = to_docker_archive(&image, &target, Some(100_000)).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { limit: 100_000, .. }), "{err}");
    assert!(err.hint().is_some_and(|h| h.contains("--max-size")), "{err}");
    assert!(!target.exists());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "staging left behind");
    to_docker_archive(&image, &target, Some(300_000)).unwrap();
    to_docker_archive(&image, &tmp.path().join("default.tar"), None).unwrap();
}

#[test]
fn docker_archive_refuses_an_image_with_fewer_diff_ids_than_layers() {
    let (layout, image) = image_of(&[tar(&[file("a", "a")]), tar(&[file("b", "b")])]);
    // The same image with the config's last diff ID dropped.
    let mut config: serde_json::Value = serde_json::from_slice(image.raw_config().unwrap()).unwrap();
    config["rootfs"]["diff_ids"].as_array_mut().unwrap().pop();
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = sha256(&config);
    std::fs::write(pare_oci::blob_path(layout.root(), &config_digest), &config).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(image.raw_manifest()).unwrap();
    manifest["config"]["digest"] = config_digest.to_string().into();
    manifest["config"]["size"] = config.len().into();
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let digest = sha256(&manifest);
    std::fs::write(pare_oci::blob_path(layout.root(), &digest), &manifest).unwrap();
    let desc = pare_oci::Descriptor::new(media_types::OCI_MANIFEST.into(), manifest.len() as u64, digest);
    let broken = pare_oci::Image::from_bytes(image.source().clone(), desc, manifest).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("app.tar");
    let err = to_docker_archive(&broken, &target, None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("2 layers") && text.contains("diff_ids lists 1"), "{text}");
    assert!(!target.exists());
    // The intact image converts.
    to_docker_archive(&image, &target, None).unwrap();
    assert!(target.exists());
}
