//! The per-layer inventory cache: what the catalogers found in a layer, and the layer's index,
//! stored under the layer's digest, so that an image whose layers were cataloged before is
//! cataloged without reading them.
//!
//! An entry is `<sha256 of the rest>\n<JSON>`, written atomically; an entry whose hash or JSON
//! does not check out is deleted and the layer read again. Entries are kept per version of the
//! cataloging code (a fingerprint of its source, made by build.rs): a cataloger that changed
//! never reads an older one's findings.

use std::path::{Path, PathBuf};

use pare_oci::Digest;
use sha2::{Digest as _, Sha256};

use crate::catalog::{LayerScan, LayerScanRef};

/// The directory of this version's entries, under pare's cache directory.
const DIR: &str = concat!("sbom-layers-v1/", env!("CARGO_PKG_VERSION"), "-", env!("PARE_CATALOG_FINGERPRINT"));

/// Where per-layer inventories are kept.
#[derive(Clone, Debug)]
pub struct LayerCache {
    root: PathBuf,
}

impl LayerCache {
    /// A cache under `root`, pare's cache directory (entries go in `root/sbom-layers-v1/VERSION-FINGERPRINT`).
    pub fn new(root: impl Into<PathBuf>) -> LayerCache {
        LayerCache { root: root.into() }
    }

    /// The cache in pare's cache directory (`$PARE_CACHE_DIR`, else the XDG cache directory); temporary
    /// entries that killed runs left in it are removed first.
    pub fn from_env() -> Option<LayerCache> {
        let cache = pare_oci::registry::BlobCache::default_root(|name| std::env::var_os(name)).map(LayerCache::new)?;
        pare_oci::sweep::sweep(&cache.root.join(DIR).join("sha256"), |n| n.starts_with(".pare-tmp-"));
        Some(cache)
    }

    /// Where a layer's entry is (or would be).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join(DIR).join(digest.algorithm().to_string()).join(format!("{}.json", digest.digest()))
    }

    /// A layer's entry, when there is a sound one. A damaged entry is removed, with a warning.
    pub(crate) fn load(&self, digest: &Digest, warnings: &mut Vec<String>) -> Option<LayerScan> {
        let path = self.path(digest);
        let bytes = std::fs::read(&path).ok()?;
        match check(&bytes) {
            Ok(scan) => Some(scan),
            Err(why) => {
                warnings.push(format!(
                    "inventory cache entry {} for layer {digest} is damaged ({why}): removed; reading the layer",
                    path.display()
                ));
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores a layer's entry; the error is a message for a warning (the inventory is still good).
    pub(crate) fn store(&self, digest: &Digest, scan: &LayerScanRef<'_>) -> Result<(), String> {
        let json = serde_json::to_vec(scan).map_err(|e| format!("inventory cache: encoding layer {digest}: {e}"))?;
        let mut bytes = hex::encode(Sha256::digest(&json)).into_bytes();
        bytes.push(b'\n');
        bytes.extend_from_slice(&json);
        let path = self.path(digest);
        pare_oci::write_atomic(&path, &bytes).map_err(|e| format!("inventory cache: writing {}: {e}", path.display()))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn check(bytes: &[u8]) -> Result<LayerScan, String> {
    let newline = bytes.iter().position(|b| *b == b'\n').ok_or("no hash line")?;
    let (hash, json) = (&bytes[..newline], &bytes[newline + 1..]);
    if hash != hex::encode(Sha256::digest(json)).as_bytes() {
        return Err("its hash does not match its content".into());
    }
    serde_json::from_slice(json).map_err(|e| format!("not a layer inventory: {e}"))
}
