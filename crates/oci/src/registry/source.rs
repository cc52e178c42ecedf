//! Reading images from a registry: [`RegistrySource`].

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex};

use oci_spec::image::Descriptor;

use super::cache::BlobCache;
use super::client::{Client, lock};
use crate::digest::Digest;
use crate::image::Source;
use crate::media::ManifestKind;
use crate::{Reference, Result};

/// Whether a descriptor points at a manifest (served by `/manifests/`) rather than a blob.
pub(crate) fn is_manifest(media_type: &str) -> bool {
    ManifestKind::of(media_type).is_some() || media_type.contains(".manifest.")
}

/// An image (or index) in a registry, read through a [`Client`]. Blobs go through a
/// [`BlobCache`] when one is given, so a second pull reads them from disk.
pub struct RegistrySource {
    client: Client,
    reference: Reference,
    cache: Option<BlobCache>,
    /// Manifests already fetched (the root is fetched to resolve the tag), by digest.
    manifests: Mutex<HashMap<Digest, Arc<[u8]>>>,
}

impl RegistrySource {
    pub fn new(client: Client, reference: Reference) -> RegistrySource {
        RegistrySource { client, reference, cache: None, manifests: Mutex::new(HashMap::new()) }
    }

    /// Reads and fills this blob cache.
    pub fn with_cache(mut self, cache: BlobCache) -> RegistrySource {
        self.cache = Some(cache);
        self
    }

    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn cache(&self) -> Option<&BlobCache> {
        self.cache.as_ref()
    }
}

impl Source for RegistrySource {
    fn location(&self) -> String {
        self.reference.to_string()
    }

    /// Resolves the tag (or digest) with one `GET`, keeping the manifest for the read that follows.
    fn root(&self) -> Result<Descriptor> {
        let (desc, bytes) = self.client.get_manifest(&self.reference)?;
        lock(&self.manifests).insert(desc.digest().clone(), bytes.into());
        Ok(desc)
    }

    /// Downloads a blob into the cache (verified as it streams), or finds it there (verified
    /// again), and gives its path.
    fn blob_file(&self, desc: &Descriptor) -> Result<Option<std::path::PathBuf>> {
        let Some(cache) = &self.cache else { return Ok(None) };
        let (digest, size) = (desc.digest(), desc.size());
        if is_manifest(desc.media_type().as_ref()) {
            return Ok(None);
        }
        if cache.contains(digest, size) && matches!(cache.open(digest, size), Ok(Some(_))) {
            return Ok(Some(cache.path(digest)));
        }
        let download = self.client.get_blob(&self.reference, digest, size)?;
        let mut reader = crate::digest::VerifyingReader::new(cache.tee(download, digest, size), digest.clone(), size);
        std::io::copy(&mut reader, &mut std::io::sink())
            .map_err(|e| crate::Error::from_io(format!("downloading blob {digest}"), e))?;
        // Not cached (the cache could not be written): the caller streams it instead.
        Ok(cache.contains(digest, size).then(|| cache.path(digest)))
    }

    /// In the blob cache (checked when it was stored), or in the registry (`HEAD`) with its size.
    fn blob_present(&self, desc: &Descriptor) -> bool {
        if self.cache.as_ref().is_some_and(|c| c.contains(desc.digest(), desc.size())) {
            return true;
        }
        matches!(self.client.blob_exists(&self.reference, desc.digest()), Ok(Some(size)) if size == desc.size())
    }

    fn referrer_store(&self) -> Option<crate::referrers::ReferrerStore> {
        Some(crate::referrers::ReferrerStore::Registry {
            client: self.client.clone(),
            repository: self.reference.clone(),
        })
    }

    fn open_raw(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let digest = desc.digest();
        if is_manifest(desc.media_type().as_ref()) {
            if let Some(bytes) = lock(&self.manifests).get(digest) {
                return Ok(Box::new(Cursor::new(bytes.clone())));
            }
            let (_, bytes) = self.client.get_manifest(&self.reference.with_digest(digest.clone()))?;
            let bytes: Arc<[u8]> = bytes.into();
            lock(&self.manifests).insert(digest.clone(), bytes.clone());
            return Ok(Box::new(Cursor::new(bytes)));
        }
        if let Some(cache) = &self.cache {
            match cache.open(digest, desc.size()) {
                Ok(Some(file)) => {
                    tracing::debug!(%digest, "blob from cache");
                    return Ok(Box::new(file));
                }
                Ok(None) => {}
                // An unreadable cache costs a download, not the pull.
                Err(e) => tracing::warn!(%digest, error = %e, "cannot read the blob cache"),
            }
        }
        let download = self.client.get_blob(&self.reference, digest, desc.size())?;
        Ok(match &self.cache {
            Some(cache) => Box::new(cache.tee(download, digest, desc.size())),
            None => Box::new(download),
        })
    }
}
