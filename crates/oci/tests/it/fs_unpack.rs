//! The single-pass unpack: layers applied in place equal the merged view, and a layer that fails
//! verification half-way leaves nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common_fs;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common_fs::*;
use pare_oci::fs::{EntryKind, FsView, Limits, UnpackOptions, unpack, unpack_with};
use pare_oci::{Error, media_types, sha256};

/// What a path holds, as compared between disk and view.
#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir { mode: u32 },
    File { mode: u32, content: Vec<u8>, mtime: i64 },
    Symlink { target: String },
    Fifo,
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn disk_tree(root: &Path) -> BTreeMap<String, (Node, u32, u32)> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (Node, u32, u32)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let key = format!("/{}", path.strip_prefix(root).unwrap().to_string_lossy());
            let mode = meta.permissions().mode() & 0o7777;
            let node = if meta.is_dir() {
                walk(root, &path, out);
                Node::Dir { mode }
            } else if meta.is_symlink() {
                Node::Symlink { target: std::fs::read_link(&path).unwrap().to_string_lossy().into_owned() }
            } else if meta.is_file() {
                Node::File { mode, content: std::fs::read(&path).unwrap(), mtime: meta.mtime() }
            } else {
                Node::Fifo
            };
            out.insert(key, (node, meta.uid(), meta.gid()));
        }
    }
    walk(root, root, &mut out);
    out
}

fn view_tree(view: &FsView, layers: &[Vec<u8>]) -> BTreeMap<String, (Node, u32, u32)> {
    let mut out = BTreeMap::new();
    for e in view.entries().filter(|e| e.path != "/") {
        let node = match e.kind {
            EntryKind::Dir => Node::Dir { mode: e.mode },
            EntryKind::File | EntryKind::Hardlink => Node::File {
                mode: e.mode,
                content: view.read_with(&e.path, |i| Ok(&layers[i][..])).unwrap(),
                mtime: e.mtime,
            },
            EntryKind::Symlink => Node::Symlink { target: e.link_target.clone().unwrap() },
            _ => Node::Fifo,
        };
        out.insert(e.path.clone(), (node, e.uid as u32, e.gid as u32));
    }
    out
}

/// Unpacks the layers as an image and checks the tree on disk equals the merged view. Returns
/// the sandbox (kept until dropped) and the unpacked directory.
fn assert_unpack_equals_view(layers: &[Vec<u8>]) -> (Sandbox, std::path::PathBuf) {
    let labeled = layers.iter().enumerate().map(|(i, t)| (format!("layer{i}"), &t[..]));
    let view = FsView::from_layers(labeled, &Limits::default()).unwrap();
    let (_layout, image) = image_of(layers);
    let sandbox = Sandbox::new();
    let out = sandbox.out();
    unpack(&image, &out, &Limits::default()).unwrap();
    sandbox.assert_untouched();
    let mut disk = disk_tree(&out);
    let mut expected = view_tree(&view, layers);
    if !is_root() {
        // Owners are only set as root.
        for (_, uid, gid) in disk.values_mut().chain(expected.values_mut()) {
            (*uid, *gid) = (0, 0);
        }
    }
    assert_eq!(disk, expected);
    // The same image through the verify-first path (a non-empty target) gives the same tree.
    let other = sandbox.base.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("zz-existing"), "x").unwrap();
    let options = UnpackOptions { allow_non_empty: true, ..UnpackOptions::default() };
    unpack_with(&image, &other, &options).unwrap();
    std::fs::remove_file(other.join("zz-existing")).unwrap();
    let mut two_pass = disk_tree(&other);
    if !is_root() {
        for (_, uid, gid) in two_pass.values_mut() {
            (*uid, *gid) = (0, 0);
        }
    }
    assert_eq!(disk, two_pass);
    (sandbox, out)
}

#[test]
fn whiteouts_and_opaque_directories_across_layers_equal_the_view() {
    let layers = vec![
        tar(&[
            dir("a/"),
            dir("a/b/"),
            file("a/b/deep", "deep"),
            file("a/keep", "keep"),
            dir("opq/").mode(0o700),
            file("opq/lower1", "1"),
            dir("opq/sub/"),
            file("opq/sub/lower2", "2"),
            file("gone", "gone"),
            dir("gonedir/"),
            file("gonedir/x", "x"),
            dir("swap/"),
            file("swap/child", "c"),
            file("f2d", "file"),
            symlink("link", "a/keep"),
            fifo("pipe"),
        ]),
        tar(&[
            // Same-layer entries stay, whatever their order around the markers.
            file("opq/upper-before", "before"),
            file("opq/.wh..wh..opq", ""),
            dir("opq/sub/"),
            file("opq/sub/upper", "u"),
            file(".wh.gone", ""),
            file(".wh.gonedir", ""),
            file("gonedir/new", "new in the same layer"),
            file("swap", "now a file").mode(0o600),
            dir("f2d/").mode(0o750),
            file("f2d/inside", "inside"),
            file(".wh.link", ""),
            file(".wh.pipe", ""),
            file("a/b/.wh.deep", ""),
            file("a/.wh.missing", ""),
        ]),
        tar(&[
            file("gone", "back again").mtime(1_600_000_000),
            file(".wh.swap", ""),
            dir("swap/"),
            symlink("link", "/opq/sub/upper"),
            file("a/keep", "rewritten").mode(0o640).owner(1000, 1001),
            dir("a/").mode(0o711).mtime(1_500_000_000),
        ]),
    ];
    let (_sandbox, out) = assert_unpack_equals_view(&layers);
    // Spot checks of the rules themselves.
    assert!(!out.join("opq/lower1").exists());
    assert!(!out.join("opq/sub/lower2").exists());
    assert_eq!(std::fs::read_to_string(out.join("opq/upper-before")).unwrap(), "before");
    assert_eq!(std::fs::read_to_string(out.join("gonedir/new")).unwrap(), "new in the same layer");
    assert!(!out.join("gonedir/x").exists());
    assert_eq!(std::fs::read_to_string(out.join("gone")).unwrap(), "back again");
    assert!(std::fs::symlink_metadata(out.join("swap")).unwrap().is_dir());
    assert_eq!(std::fs::metadata(out.join("a")).unwrap().mtime(), 1_500_000_000);
}

#[test]
fn hardlinks_across_layers_equal_the_view() {
    let layers = vec![
        tar(&[file("orig", "v1"), hardlink("link1", "orig"), file("other", "o"), hardlink("self", "other")]),
        tar(&[
            // A link to a lower file, then the lower file replaced: the link keeps v1.
            hardlink("link2", "orig"),
            file("orig", "v2"),
            // A link to a file of this layer, to a link, and a link to itself.
            file("new", "n"),
            hardlink("new-link", "new"),
            hardlink("chain", "link1"),
            hardlink("other", "other"),
        ]),
        tar(&[file(".wh.link1", ""), file(".wh.new", "")]),
    ];
    let (_sandbox, out) = assert_unpack_equals_view(&layers);
    let ino = |p: &str| std::fs::metadata(out.join(p)).unwrap().ino();
    assert_eq!(ino("link2"), ino("chain"), "links to the first content share one inode");
    assert_ne!(ino("link2"), ino("orig"));
    assert_eq!(std::fs::read_to_string(out.join("link2")).unwrap(), "v1");
    assert_eq!(std::fs::read_to_string(out.join("new-link")).unwrap(), "n");
    assert_eq!(std::fs::read_to_string(out.join("other")).unwrap(), "o");
    assert!(!out.join("link1").exists() && !out.join("new").exists());
}

#[test]
fn stats_count_the_result() {
    let layers = [
        tar(&[file("a", "12345"), hardlink("b", "a"), file("c", "x"), symlink("s", "a"), dir("d/")]),
        tar(&[file("c", "replaced"), file(".wh.s", "")]),
    ];
    let (_layout, image) = image_of(&layers);
    let sandbox = Sandbox::new();
    let stats = unpack(&image, &sandbox.out(), &Limits::default()).unwrap();
    assert_eq!((stats.files, stats.hardlinks, stats.symlinks, stats.dirs), (2, 1, 0, 1));
    assert_eq!(stats.bytes, 5 + 8);
}

/// Layers that are valid and unpack, and a tampered one on top (same size, other content).
fn image_failing_at_the_top(top_tampered: bool) -> (Layout, pare_oci::Image) {
    let mut layout = Layout::new();
    let many: Vec<E> = (0..200).map(|i| file(&format!("many/f{i}"), "content")).collect();
    layout.layer(&tar(&[dir("etc/").mode(0o555), file("etc/passwd", "root:x:0:0")]));
    layout.layer(&tar(&many));
    if top_tampered {
        // Uncompressed, so the tampered blob has exactly the stored size and streams to its end.
        let original = tar(&[dir("ro/").mode(0o500), file("ro/x", "original"), file("top", "original")]);
        let digest = sha256(&original);
        let path = pare_oci::blob_path(layout.root(), &digest);
        std::fs::write(&path, tar(&[dir("ro/").mode(0o500), file("ro/x", "tampered"), file("top", "tampered")]))
            .unwrap();
        let size = original.len() as u64;
        layout.blobs.push(Blob {
            path,
            digest: digest.clone(),
            size,
            media_type: media_types::OCI_LAYER,
            diff_id: digest,
        });
    } else {
        // The blob is right, the diff ID in the config is not: found after all its files were written.
        layout.layer(&tar(&[file("top", "top")])).diff_id = sha256(b"another tar");
    }
    let image = layout.image();
    (layout, image)
}

#[test]
fn a_layer_failing_verification_leaves_no_target() {
    for tampered in [true, false] {
        let (layout, image) = image_failing_at_the_top(tampered);
        let sandbox = Sandbox::new();
        // The target's parent does not exist either: created, the target is not.
        let out = sandbox.out().join("nested/rootfs");
        let err = unpack(&image, &out, &Limits::default()).unwrap_err();
        match &err {
            Error::DigestMismatch { digest, .. } => {
                let top = &layout.blobs[2];
                assert!(digest == &top.digest || digest == &top.diff_id, "{err}");
            }
            other => panic!("expected DigestMismatch, got {other}"),
        }
        assert!(!out.exists(), "the target was left behind");
        let left: Vec<_> = std::fs::read_dir(sandbox.out().join("nested")).unwrap().collect();
        assert!(left.is_empty(), "staging left behind: {left:?}");
        // The view refuses the image too.
        assert!(FsView::from_image(&image, &Limits::default()).is_err());
    }
}

#[test]
fn a_failure_in_an_empty_target_empties_it_again() {
    let (_layout, image) = image_failing_at_the_top(true);
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.out()).unwrap();
    std::fs::set_permissions(sandbox.out(), std::fs::Permissions::from_mode(0o750)).unwrap();
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    sandbox.assert_nothing_written();
    // The directory itself is the user's: kept, with its mode.
    assert_eq!(std::fs::metadata(sandbox.out()).unwrap().permissions().mode() & 0o777, 0o750);
}

#[test]
fn an_unsafe_entry_in_a_later_layer_leaves_nothing() {
    let layers =
        [tar(&[file("a", "a"), dir("d/"), file("d/x", "x")]), tar(&[symlink("esc", "/"), file("esc/evil", "pwned")])];
    let (_layout, image) = image_of(&layers);
    let sandbox = Sandbox::new();
    let err = unpack(&image, &sandbox.out(), &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::UnsafeEntry { .. }), "{err}");
    sandbox.assert_nothing_written();
    assert!(!sandbox.out().exists());
}

#[test]
fn an_escaping_symlink_removed_by_a_later_layer_is_fine() {
    // Only the final tree is checked for escaping symlinks, as before: the link is never followed.
    let layers = [tar(&[symlink("up", "../../outside")]), tar(&[file(".wh.up", "")])];
    let (_sandbox, out) = assert_unpack_equals_view(&layers);
    assert!(std::fs::read_dir(&out).unwrap().next().is_none());
}

/// Set in the child process of [`success_leaves_no_staging_directory`] that unpacks to a relative target.
const RELATIVE_CHILD_ENV: &str = "PARE_TEST_UNPACK_RELATIVE";

#[test]
fn success_leaves_no_staging_directory() {
    let (_layout, image) = image_of(&[tar(&[file("a", "a")])]);
    if let Some(relative) = std::env::var_os(RELATIVE_CHILD_ENV) {
        // The child: its working directory is the sandbox (set by the parent, not by
        // set_current_dir, which would move every other test of this binary too).
        unpack(&image, Path::new(&relative), &Limits::default()).unwrap();
        return;
    }
    let sandbox = Sandbox::new();
    unpack(&image, &sandbox.out(), &Limits::default()).unwrap();
    sandbox.assert_untouched();
    // A relative target in the working directory works too (its parent is ""): this test binary,
    // run again for this test alone in the sandbox, unpacks there.
    let relative = format!("pare-unpack-test-{}", std::process::id());
    let this_test = "fs_unpack::success_leaves_no_staging_directory";
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([this_test, "--exact", "--test-threads=1"])
        .env(RELATIVE_CHILD_ENV, &relative)
        .current_dir(sandbox.base.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 passed"), "the child ran no test: {stdout}");
    assert_eq!(std::fs::read_to_string(sandbox.base.path().join(&relative).join("a")).unwrap(), "a");
}
