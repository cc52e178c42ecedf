//! Bytes → image manifest and image index parsing (through the public constructors, with a
//! source that has no blobs), references, digests and locations. Any panic is a bug.
#![no_main]

use std::io::Read;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use pare_oci::{
    Descriptor, Error, Image, Index, Location, ManifestKind, Reference, Result, Source, parse_digest, sha256,
};

struct NoBlobs;

impl Source for NoBlobs {
    fn location(&self) -> String {
        "fuzz".into()
    }

    fn root(&self) -> Result<Descriptor> {
        Err(Error::Unsupported("no root".into()))
    }

    fn open_raw(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>> {
        Err(Error::BlobNotFound { digest: desc.digest().clone(), location: self.location() })
    }
}

const MEDIA_TYPES: [&str; 5] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/octet-stream",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let media_type = MEDIA_TYPES[usize::from(selector) % MEDIA_TYPES.len()];
    let desc = serde_json::json!({
        "mediaType": media_type,
        "digest": sha256(body).to_string(),
        "size": body.len(),
    });
    let Ok(desc) = serde_json::from_value::<Descriptor>(desc) else { return };
    let source: Arc<dyn Source> = Arc::new(NoBlobs);
    if let Ok(image) = Image::from_bytes(source.clone(), desc.clone(), body.to_vec()) {
        let _ = image.layers();
        let _ = image.platform();
        let _ = image.manifest().layers().len();
    }
    if let Ok(index) = Index::from_bytes(source, desc, body.to_vec()) {
        let _ = index.platforms();
        let _ = index.select(None);
        for entry in index.manifests().iter().take(8) {
            let _ = index.open(entry);
        }
    }
    let _ = ManifestKind::sniff(body);
    if let Ok(text) = std::str::from_utf8(body) {
        for line in text.lines().take(8) {
            if let Ok(reference) = Reference::parse(line) {
                // What pare prints, it reads back as the same reference.
                let again = Reference::parse(&reference.to_string());
                assert_eq!(again.ok().as_ref(), Some(&reference), "{line:?}");
                let _ = reference.manifest_reference();
            }
            let _ = parse_digest(line);
            let _ = Location::parse(line);
        }
    }
});
