//! The per-layer inventory cache: a warm run reads no layer and gives the same inventory as a
//! cold one; a lower layer cataloged for one image is reused under another image's top layer;
//! whiteouts and replaced files in upper layers are honoured whether the layers come from the
//! cache or not; a damaged entry is removed, reported and rebuilt; a missing or cut-off blob is an
//! error with the cache as without.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../oci/tests/common_fs/mod.rs"]
mod common_fs;

use common_fs::{Layout, dir, file, tar};
use pare_oci::Image;
use pare_oci::fs::Limits;
use pare_sbom::{Catalog, Inventory, LayerCache, catalog_image};

const BOOKWORM: &str = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
const TRIXIE: &str = "ID=debian\nVERSION_ID=\"13\"\nVERSION_CODENAME=trixie\n";

fn status(name: &str, version: &str) -> String {
    format!("Package: {name}\nVersion: {version}\nArchitecture: amd64\nMaintainer: x <x@example.org>\n")
}

/// A distroless-style base: os-release, two packages in status.d with md5sums, a copyright file.
fn base_layer() -> Vec<u8> {
    tar(&[
        dir("etc"),
        file("etc/os-release", BOOKWORM),
        dir("var/lib/dpkg/status.d"),
        file("var/lib/dpkg/status.d/base-files", &status("base-files", "12.4+deb12u11")),
        file("var/lib/dpkg/status.d/base-files.md5sums", "d41d8cd98f00b204e9800998ecf8427e  etc/issue\n"),
        file("var/lib/dpkg/status.d/libc6", &status("libc6", "2.36-9+deb12u10")),
        file("etc/issue", "Debian\n"),
        file(
            "usr/share/doc/base-files/copyright",
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: x\nLicense: GPL-2.0+\n",
        ),
    ])
}

/// On top: libc6 whited out, zlib1g added, os-release replaced, a Python package.
fn top_layer() -> Vec<u8> {
    tar(&[
        file("var/lib/dpkg/status.d/.wh.libc6", ""),
        file("var/lib/dpkg/status.d/zlib1g", &status("zlib1g", "1:1.2.13.dfsg-1")),
        file("etc/os-release", TRIXIE),
        file(
            "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache-2.0\n",
        ),
    ])
}

/// Another top: adds a package.json.
fn other_top_layer() -> Vec<u8> {
    tar(&[file(
        "app/node_modules/left-pad/package.json",
        r#"{"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}"#,
    )])
}

fn layout_of(layers: &[Vec<u8>]) -> (Layout, Image) {
    let mut layout = Layout::new();
    for tar in layers {
        layout.layer(tar);
    }
    let image = layout.image();
    (layout, image)
}

fn cataloged(image: &Image, cache: Option<&LayerCache>) -> Catalog {
    catalog_image(image, &Limits::default(), "test", cache).unwrap().1
}

fn names(inventory: &Inventory) -> Vec<String> {
    inventory.packages.iter().map(|p| format!("{}:{}@{}", p.ecosystem, p.name, p.version)).collect()
}

fn cache_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn warm_run_reads_no_layer_and_matches_the_cold_run() {
    let (layout, image) = layout_of(&[base_layer(), top_layer()]);
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = LayerCache::new(cache_dir.path());

    let cold = cataloged(&image, Some(&cache));
    assert_eq!(
        names(&cold.inventory),
        ["deb:base-files@12.4+deb12u11", "deb:zlib1g@1:1.2.13.dfsg-1", "pypi:requests@2.31.0"],
        "libc6 is whited out by the top layer"
    );
    assert_eq!(cold.inventory.os.as_ref().and_then(|o| o.version_codename.as_deref()), Some("trixie"));
    let base_files = &cold.inventory.packages[0];
    assert_eq!(base_files.files, ["/etc/issue"]);
    assert_eq!(base_files.licenses, ["GPL-2.0-or-later"]);
    // Without a cache, the same inventory and view.
    let (view, uncached) = catalog_image(&image, &Limits::default(), "test", None).unwrap();
    assert_eq!(uncached.inventory, cold.inventory);
    assert_eq!(cache_files(cache_dir.path()).len(), 2, "one entry per layer");

    // Layer blobs of the right size but unreadable content: only the cache can answer (it is not read).
    for blob in &layout.blobs {
        let len = std::fs::metadata(&blob.path).unwrap().len() as usize;
        std::fs::write(&blob.path, vec![0u8; len]).unwrap();
    }
    assert!(catalog_image(&image, &Limits::default(), "test", None).is_err(), "the layers are unreadable");
    let (warm_view, warm) = catalog_image(&image, &Limits::default(), "test", Some(&cache)).unwrap();
    assert_eq!(warm.inventory, cold.inventory);
    assert!(warm.warnings.is_empty(), "{:?}", warm.warnings);
    assert_eq!(warm_view.entries().count(), view.entries().count());
    assert!(warm_view.get("/var/lib/dpkg/status.d/libc6").is_none());
}

#[test]
fn a_cached_lower_layer_serves_another_image() {
    // The expected inventory of [base, other top], from a cache of its own.
    let (_fresh_layout, fresh) = layout_of(&[base_layer(), other_top_layer()]);
    let fresh_cache = tempfile::tempdir().unwrap();
    let expected = cataloged(&fresh, Some(&LayerCache::new(fresh_cache.path()))).inventory;
    assert_eq!(names(&expected), ["deb:base-files@12.4+deb12u11", "deb:libc6@2.36-9+deb12u10", "npm:left-pad@1.3.0"]);

    let cache_dir = tempfile::tempdir().unwrap();
    let cache = LayerCache::new(cache_dir.path());
    let (_first_layout, first) = layout_of(&[base_layer(), top_layer()]);
    cataloged(&first, Some(&cache));
    // The second image's base layer blob is unreadable (its size kept): the entry cached for the first
    // image serves.
    let (second_layout, second) = layout_of(&[base_layer(), other_top_layer()]);
    let base = &second_layout.blobs[0].path;
    std::fs::write(base, vec![0u8; std::fs::metadata(base).unwrap().len() as usize]).unwrap();
    let got = cataloged(&second, Some(&cache));
    assert_eq!(got.inventory.packages, expected.packages);
    assert_eq!(got.inventory.os, expected.os);
}

/// A cache entry stands for its layer only while the blob is there with its size: a missing or
/// cut-off blob is read, and fails, as without a cache.
#[test]
fn a_missing_or_truncated_blob_is_not_served_from_the_cache() {
    let (layout, image) = layout_of(&[base_layer(), top_layer()]);
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = LayerCache::new(cache_dir.path());
    cataloged(&image, Some(&cache));
    let blob = &layout.blobs[0].path;
    let bytes = std::fs::read(blob).unwrap();
    std::fs::write(blob, &bytes[..bytes.len() / 2]).unwrap();
    assert!(catalog_image(&image, &Limits::default(), "test", Some(&cache)).is_err(), "truncated");
    std::fs::remove_file(blob).unwrap();
    let err = catalog_image(&image, &Limits::default(), "test", Some(&cache)).unwrap_err().to_string();
    assert!(err.contains(&image.layers().unwrap()[0].digest().to_string()), "{err}");
}

#[test]
fn a_damaged_entry_is_removed_and_rebuilt() {
    let (_layout, image) = layout_of(&[base_layer(), top_layer()]);
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = LayerCache::new(cache_dir.path());
    let cold = cataloged(&image, Some(&cache));
    let entries = cache_files(cache_dir.path());
    let good = std::fs::read(&entries[0]).unwrap();

    // A flipped byte in the JSON: the hash line no longer matches.
    let mut bad = good.clone();
    let last = bad.len() - 2;
    bad[last] ^= 0x20;
    std::fs::write(&entries[0], &bad).unwrap();
    let again = cataloged(&image, Some(&cache));
    assert_eq!(again.inventory, cold.inventory);
    assert!(again.warnings.iter().any(|w| w.contains("is damaged") && w.contains("hash")), "{:?}", again.warnings);
    assert_eq!(std::fs::read(&entries[0]).unwrap(), good, "rebuilt from the layer");

    // Truncated, and garbage with a matching hash: both refused.
    std::fs::write(&entries[0], &good[..good.len() / 2]).unwrap();
    let truncated = cataloged(&image, Some(&cache));
    assert_eq!(truncated.inventory, cold.inventory);
    assert!(truncated.warnings.iter().any(|w| w.contains("is damaged")));
    let garbage = b"{\"not\": \"an inventory\"}";
    let mut forged = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(garbage)).into_bytes();
    forged.push(b'\n');
    forged.extend_from_slice(garbage);
    std::fs::write(&entries[0], &forged).unwrap();
    let forged_run = cataloged(&image, Some(&cache));
    assert_eq!(forged_run.inventory, cold.inventory);
    assert!(forged_run.warnings.iter().any(|w| w.contains("not a layer inventory")), "{:?}", forged_run.warnings);
}
