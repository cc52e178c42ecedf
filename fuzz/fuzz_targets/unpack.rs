//! Bytes → 1–3 tar layers of an in-memory image → `pare_oci::fs::unpack_with`, the one-pass
//! unpack `pare unpack` runs (the target directory missing, empty, or non-empty with
//! `allow_non_empty`, chosen by the first byte). Nothing may appear outside the target directory,
//! and a failed unpack leaves no staging directory behind.
#![no_main]

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use pare_oci::fs::{Limits, UnpackOptions};
use pare_oci::{Descriptor, Digest, Error, Image, Result, Source, sha256};

const SEPARATOR: &[u8] = b"--LAYER--";

/// An image held in memory: blobs by digest.
struct Memory {
    blobs: HashMap<String, Vec<u8>>,
}

impl Source for Memory {
    fn location(&self) -> String {
        "fuzz".into()
    }

    fn root(&self) -> Result<Descriptor> {
        Err(Error::Unsupported("no root".into()))
    }

    fn open_raw(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>> {
        match self.blobs.get(&desc.digest().to_string()) {
            Some(bytes) => Ok(Box::new(std::io::Cursor::new(bytes.clone()))),
            None => Err(Error::BlobNotFound { digest: desc.digest().clone(), location: self.location() }),
        }
    }
}

fn descriptor(media_type: &str, digest: &Digest, size: usize) -> Option<Descriptor> {
    let json = serde_json::json!({ "mediaType": media_type, "digest": digest.to_string(), "size": size });
    serde_json::from_value(json).ok()
}

/// An image whose layers are `layers`, uncompressed, with matching diff IDs.
fn image(layers: &[&[u8]]) -> Option<Image> {
    let mut blobs = HashMap::new();
    let mut layer_descs = Vec::new();
    let mut diff_ids = Vec::new();
    for layer in layers {
        let digest = sha256(layer);
        layer_descs.push(descriptor("application/vnd.oci.image.layer.v1.tar", &digest, layer.len())?);
        diff_ids.push(digest.to_string());
        blobs.insert(digest.to_string(), layer.to_vec());
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "config": {},
    }))
    .ok()?;
    let config_digest = sha256(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config_digest, config.len())?,
        "layers": layer_descs,
    }))
    .ok()?;
    blobs.insert(config_digest.to_string(), config);
    let manifest_desc = descriptor("application/vnd.oci.image.manifest.v1+json", &sha256(&manifest), manifest.len())?;
    Image::from_bytes(Arc::new(Memory { blobs }), manifest_desc, manifest).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let layers: Vec<&[u8]> = {
        let mut out = Vec::new();
        let mut rest = data;
        while out.len() < 2 {
            let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) else { break };
            out.push(&rest[..at]);
            rest = &rest[at + SEPARATOR.len()..];
        }
        out.push(rest);
        out
    };
    let Some(image) = image(&layers) else { return };
    let Ok(base) = tempfile::tempdir() else { return };
    let out = base.path().join("out");
    let limits = Limits { max_total_size: 4 << 20, max_entries: 2_000, max_file_size: 1 << 20 };
    let mut options = UnpackOptions { limits, preserve_owner: Some(false), ..UnpackOptions::default() };
    match mode % 3 {
        0 => {}
        1 => {
            if std::fs::create_dir(&out).is_err() {
                return;
            }
        }
        _ => {
            if std::fs::create_dir(&out).is_err() || std::fs::write(out.join("present"), b"x").is_err() {
                return;
            }
            options.allow_non_empty = true;
        }
    }
    let result = pare_oci::fs::unpack_with(&image, &out, &options);
    let names: Vec<_> = std::fs::read_dir(base.path()).into_iter().flatten().flatten().map(|e| e.file_name()).collect();
    if result.is_err() && mode % 3 == 0 {
        assert!(names.is_empty(), "a failed unpack left {names:?}");
    } else {
        assert!(names.iter().all(|n| n == "out"), "written outside the target: {names:?}");
    }
});
