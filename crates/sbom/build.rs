//! Fingerprints the code whose output the per-layer inventory cache keeps (the catalogers, the
//! filesystem view's layer index, the Debian parsers), so that a changed cataloger never reads
//! entries an older one wrote, even within one version number.

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let crates = Path::new(&manifest).parent().map(Path::to_path_buf).unwrap_or_default();
    let mut files = Vec::new();
    for dir in ["sbom/src", "oci/src/fs", "deb/src"] {
        let dir = crates.join(dir);
        println!("cargo::rerun-if-changed={}", dir.display());
        collect(&dir, &mut files);
    }
    files.sort();
    // FNV-1a: small, stable, enough to tell versions of the code apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        for byte in std::fs::read(file).unwrap_or_default() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo::rustc-env=PARE_CATALOG_FINGERPRINT={hash:016x}");
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
