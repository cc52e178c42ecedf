//! Opening a [`Location`]: the one place every verb (and a definition's `base =`) turns a location
//! into a [`Source`] to read or a [`Sink`] to write.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::referrers::ReferrerStore;
use crate::registry::{BlobCache, Client, RegistrySink, RegistrySource};
use crate::{
    DockerArchiveSink, DockerArchiveSource, Error, LayoutSink, LayoutSource, Location, OciArchiveSink,
    OciArchiveSource, Result, Sink, Source,
};

/// What opening a location needs besides the location.
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// The client for registry references; without one, a registry location is an error.
    pub registry: Option<Client>,
    /// The verified blob cache registry reads go through.
    pub blob_cache: Option<BlobCache>,
    /// Relative paths are resolved against this directory (a definition's, for `base =`).
    pub base_dir: Option<PathBuf>,
    /// For a layout or OCI archive given without a name: the entry to read when one is named so
    /// (a pinned base's digest); otherwise the layout's only image.
    pub prefer_entry: Option<String>,
    /// The most a `docker-archive:` destination may hold (its layers are stored uncompressed);
    /// `None`: [`crate::DOCKER_ARCHIVE_MAX_SIZE`].
    pub max_archive_size: Option<u64>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("registry", &self.registry.is_some())
            .field("blob_cache", &self.blob_cache)
            .field("base_dir", &self.base_dir)
            .field("prefer_entry", &self.prefer_entry)
            .field("max_archive_size", &self.max_archive_size)
            .finish()
    }
}

/// An opened source and what the user should hear about it (files a `dir:` image left out).
pub struct Opened {
    pub source: Arc<dyn Source>,
    pub warnings: Vec<String>,
}

impl Location {
    /// Opens the location to read from.
    pub fn open(&self, options: &OpenOptions) -> Result<Opened> {
        let rel = |p: &Path| match &options.base_dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        };
        let entry = |name: &Option<String>, has: &dyn Fn(&str) -> bool| match (name, &options.prefer_entry) {
            (Some(n), _) => Some(n.clone()),
            (None, Some(preferred)) => has(preferred).then(|| preferred.clone()),
            (None, None) => None,
        };
        let mut warnings = Vec::new();
        let source: Arc<dyn Source> = match self {
            Location::Layout { path, name } => {
                let path = rel(path);
                let has = |r: &str| LayoutSource::new(&path, Some(r)).root().is_ok();
                Arc::new(LayoutSource::new(&path, entry(name, &has).as_deref()))
            }
            Location::OciArchive { path, name } => {
                let path = rel(path);
                let has = |r: &str| OciArchiveSource::open(&path, Some(r)).is_ok_and(|s| s.root().is_ok());
                Arc::new(OciArchiveSource::open(&path, entry(name, &has).as_deref())?)
            }
            Location::DockerArchive { path, name } => Arc::new(DockerArchiveSource::open(rel(path), name.as_deref())?),
            Location::Dir { path } => {
                let (source, dir_warnings) = crate::image_from_dir(&rel(path), Default::default())?;
                warnings = dir_warnings;
                source
            }
            Location::Registry(reference) => {
                let client = options.registry.clone().ok_or_else(|| no_client(self))?;
                let source = RegistrySource::new(client, reference.clone());
                Arc::new(match &options.blob_cache {
                    Some(cache) => source.with_cache(cache.clone()),
                    None => source,
                })
            }
        };
        Ok(Opened { source, warnings })
    }

    /// Opens the location to write to; `from` (the source being copied) lets a registry mount blobs
    /// across repositories of the same registry instead of uploading them.
    pub fn create(&self, options: &OpenOptions, from: Option<&Location>) -> Result<Box<dyn Sink>> {
        Ok(match self {
            Location::Layout { path, name } => Box::new(LayoutSink::create(path, name.as_deref())?),
            Location::OciArchive { path, name } => Box::new(OciArchiveSink::create(path, name.as_deref())?),
            Location::DockerArchive { path, name } => Box::new(
                DockerArchiveSink::create(path, name.as_deref())?
                    .with_max_size(options.max_archive_size.unwrap_or(crate::DOCKER_ARCHIVE_MAX_SIZE)),
            ),
            Location::Dir { .. } => {
                return Err(Error::InvalidLocation {
                    value: self.to_string(),
                    reason: "`dir:` can only be read from; `pare unpack SRC DIR` extracts an image into a directory"
                        .into(),
                });
            }
            Location::Registry(reference) => {
                let client = options.registry.clone().ok_or_else(|| no_client(self))?;
                let sink = RegistrySink::new(client, reference.clone());
                Box::new(match from {
                    Some(Location::Registry(src)) => sink.mount_from_source(src),
                    _ => sink,
                })
            }
        })
    }
}

impl Location {
    /// Whether images here can have referrers attached (SBOMs, signatures): layouts and registries.
    pub fn holds_referrers(&self) -> bool {
        matches!(self, Location::Layout { .. } | Location::Registry(_))
    }

    /// Where referrers of the images at this location are kept; `None` for archives and `dir:`.
    pub fn referrer_store(&self, options: &OpenOptions) -> Result<Option<ReferrerStore>> {
        Ok(match self {
            Location::Layout { path, .. } => Some(ReferrerStore::Layout(path.clone())),
            Location::Registry(reference) => Some(ReferrerStore::Registry {
                client: options.registry.clone().ok_or_else(|| no_client(self))?,
                repository: reference.clone(),
            }),
            _ => None,
        })
    }
}

fn no_client(location: &Location) -> Error {
    Error::InvalidLocation { value: location.to_string(), reason: "registries cannot be reached from here".into() }
}
