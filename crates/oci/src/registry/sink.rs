//! Writing images to a registry: [`RegistrySink`].

use std::collections::HashMap;
use std::io::Read;

use oci_spec::image::Descriptor;

use super::client::Client;
use super::source::is_manifest;
use crate::digest::Digest;
use crate::sink::Sink;
use crate::{Error, Reference, Result};

/// Pushes what [`crate::copy`] writes to a repository: blobs that the registry lacks, manifests by
/// digest, then the root under the reference's tag.
pub struct RegistrySink {
    client: Client,
    reference: Reference,
    mount_from: Option<String>,
    /// Manifests pushed in this session, for tagging the root without fetching it back.
    manifests: HashMap<Digest, Vec<u8>>,
}

impl RegistrySink {
    pub fn new(client: Client, reference: Reference) -> RegistrySink {
        RegistrySink { client, reference, mount_from: None, manifests: HashMap::new() }
    }

    /// Tries to mount blobs from this repository of the same registry before uploading them.
    pub fn with_mount_from(mut self, repository: impl Into<String>) -> RegistrySink {
        self.mount_from = Some(repository.into());
        self
    }

    /// Mounts from `source`'s repository when it is on the same registry (a copy between two
    /// repositories then moves no blob data).
    pub fn mount_from_source(self, source: &Reference) -> RegistrySink {
        if source.registry() == self.reference.registry() && source.repository() != self.reference.repository() {
            self.with_mount_from(source.repository())
        } else {
            self
        }
    }

    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Sink for RegistrySink {
    fn location(&self) -> String {
        self.reference.to_string()
    }

    fn has(&mut self, desc: &Descriptor) -> Result<bool> {
        if is_manifest(desc.media_type().as_ref()) {
            return Ok(self.client.head_manifest(&self.reference.with_digest(desc.digest().clone()))?.is_some());
        }
        Ok(self.client.blob_exists(&self.reference, desc.digest())? == Some(desc.size()))
    }

    fn put_blob(&mut self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.client.push_blob(&self.reference, desc.digest(), desc.size(), content, self.mount_from.as_deref())?;
        Ok(())
    }

    fn put_manifest(&mut self, desc: &Descriptor, bytes: &[u8]) -> Result<()> {
        let media_type = desc.media_type().to_string();
        self.client.put_manifest(&self.reference.with_digest(desc.digest().clone()), &media_type, bytes)?;
        self.manifests.insert(desc.digest().clone(), bytes.to_vec());
        Ok(())
    }

    fn set_root(&mut self, desc: &Descriptor) -> Result<()> {
        if let Some(wanted) = self.reference.digest()
            && wanted != desc.digest()
        {
            return Err(Error::Unsupported(format!(
                "cannot push to `{}`: the image being pushed is `{}`",
                self.reference,
                desc.digest()
            ))
            .with_hint("push to a tag, or to the digest of this image"));
        }
        let Some(tag) = self.reference.tag() else {
            return Ok(());
        };
        let bytes = match self.manifests.get(desc.digest()) {
            Some(bytes) => bytes.clone(),
            None => self.client.get_manifest(&self.reference.with_digest(desc.digest().clone()))?.1,
        };
        let media_type = desc.media_type().to_string();
        self.client.put_manifest(&self.reference.with_tag(tag), &media_type, &bytes)?;
        Ok(())
    }

    fn referrer_store(&self) -> Option<crate::referrers::ReferrerStore> {
        Some(crate::referrers::ReferrerStore::Registry {
            client: self.client.clone(),
            repository: self.reference.clone(),
        })
    }

    fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
