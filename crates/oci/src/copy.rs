//! Copying images between any source and any sink, keeping manifest bytes and digests.

use oci_spec::image::Descriptor;

use crate::image::{Image, Index, Root};
use crate::platform::Platform;
use crate::sink::Sink;
use crate::{Error, Result};

/// What to copy from an index.
#[derive(Clone, Debug, Default)]
pub enum PlatformChoice {
    /// Every entry of an index (the default for sinks that hold indexes).
    #[default]
    All,
    /// Only this platform's image (the index is not copied).
    One(Platform),
}

/// Progress callbacks, so the CLI can draw bars without the library printing.
pub trait Progress: Sync {
    fn blob_started(&self, _desc: &Descriptor) {}
    fn blob_done(&self, _desc: &Descriptor, _skipped: bool) {}
}

/// No progress reporting.
pub struct Quiet;
impl Progress for Quiet {}

/// How to copy.
#[derive(Clone, Debug, Default)]
pub struct CopyOptions {
    pub platform: PlatformChoice,
    /// Also carry the referrers (SBOMs, signatures, attestations) of every manifest copied, and
    /// their referrers, down to [`crate::referrers::MAX_REFERRER_DEPTH`] levels. Both ends must
    /// hold referrers (layouts, registries): archives cannot, and that is an error.
    pub referrers: bool,
}

/// What [`copy_with`] wrote.
#[derive(Clone, Debug)]
pub struct Copied {
    /// The index, or the single image.
    pub root: Descriptor,
    /// The referrers carried along (with `CopyOptions::referrers`).
    pub referrers: Vec<Descriptor>,
}

/// Copies the root of a source into a sink, names it, finishes the sink, and returns the
/// descriptor of what was written (the index, or the single image).
pub fn copy(root: &Root, sink: Box<dyn Sink>, choice: &PlatformChoice, progress: &dyn Progress) -> Result<Descriptor> {
    let options = CopyOptions { platform: choice.clone(), referrers: false };
    Ok(copy_with(root, sink, &options, progress)?.root)
}

/// [`copy`] with options. Referrers are copied after the sink is finished, so their subjects
/// are at the destination first; a store that cannot hold referrers is refused before anything
/// is written.
pub fn copy_with(
    root: &Root,
    mut sink: Box<dyn Sink>,
    options: &CopyOptions,
    progress: &dyn Progress,
) -> Result<Copied> {
    let stores = if options.referrers {
        let source = match root {
            Root::Image(image) => image.source(),
            Root::Index(index) => index.source(),
        };
        let no_referrers = |location: String| Error::CannotHoldReferrers { location };
        let from = source.referrer_store().ok_or_else(|| no_referrers(source.location()))?;
        let to = sink.referrer_store().ok_or_else(|| no_referrers(sink.location()))?;
        Some((from, to))
    } else {
        None
    };
    let mut subjects = Vec::new();
    let written = match (root, &options.platform) {
        (Root::Image(image), _) => copy_image(image, sink.as_mut(), progress)?,
        (Root::Index(index), PlatformChoice::All) if sink.accepts_index() => {
            subjects.extend(index.manifests().iter().map(|d| d.digest().clone()));
            copy_index(index, sink.as_mut(), progress, 0)?
        }
        (Root::Index(index), PlatformChoice::All) => {
            let image = index.select(None)?;
            copy_image(&image, sink.as_mut(), progress)?
        }
        (Root::Index(index), PlatformChoice::One(platform)) => {
            let image = index.select(Some(platform))?;
            copy_image(&image, sink.as_mut(), progress)?
        }
    };
    sink.set_root(&written)?;
    sink.finish()?;
    let mut referrers = Vec::new();
    if let Some((from, to)) = stores {
        subjects.insert(0, written.digest().clone());
        for subject in &subjects {
            let copied = crate::referrers::copy_referrers(&from, &to, subject, crate::referrers::MAX_REFERRER_DEPTH)?;
            referrers.extend(copied);
            // cosign's tag-attached signatures and attestations (`sha256-<hex>.sig`, `.att`).
            referrers.extend(crate::referrers::copy_attachment_tags(&from, &to, subject)?);
        }
    }
    Ok(Copied { root: written, referrers })
}

fn copy_index(index: &Index, sink: &mut dyn Sink, progress: &dyn Progress, depth: usize) -> Result<Descriptor> {
    if depth >= crate::image::MAX_INDEX_NESTING {
        return Err(Error::malformed(
            format!("image index `{}`", index.descriptor().digest()),
            index.source().location(),
            format!("indexes nest more than {} deep", crate::image::MAX_INDEX_NESTING),
        ));
    }
    for entry in index.manifests() {
        match index.open(entry) {
            Ok(Root::Image(image)) => {
                copy_image(&image, sink, progress)?;
            }
            Ok(Root::Index(nested)) => {
                copy_index(&nested, sink, progress, depth + 1)?;
            }
            // Entries that are neither (rare artifact types) are copied as plain blobs.
            Err(Error::UnsupportedMediaType { .. }) => copy_blob(index.source().as_ref(), entry, sink, progress)?,
            Err(e) => return Err(e),
        }
    }
    if !sink.has(index.descriptor())? {
        sink.put_manifest(index.descriptor(), index.raw())?;
    }
    Ok(index.descriptor().clone())
}

/// Blobs fetched at once when the sink can store them concurrently.
const PARALLEL_BLOBS: usize = 4;

/// Copies one image: config and layers, then the manifest, skipping what the sink already has.
/// When the sink can store blobs from several threads, missing blobs are fetched in parallel.
pub fn copy_image(image: &Image, sink: &mut dyn Sink, progress: &dyn Progress) -> Result<Descriptor> {
    let source = image.source().as_ref();
    let mut missing = Vec::new();
    for desc in std::iter::once(image.manifest().config()).chain(image.manifest().layers()) {
        if sink.has(desc)? {
            progress.blob_done(desc, true);
        } else if !missing.iter().any(|d: &&Descriptor| d.digest() == desc.digest()) {
            missing.push(desc);
        }
    }
    match sink.concurrent() {
        Some(blobs) if missing.len() > 1 => copy_parallel(source, &missing, blobs, progress)?,
        _ => {
            for desc in missing {
                progress.blob_started(desc);
                if !linked(source, desc, sink.concurrent())? {
                    let mut reader = source.fetch(desc)?;
                    sink.put_blob(desc, &mut reader)?;
                }
                progress.blob_done(desc, false);
            }
        }
    }
    if !sink.has(image.descriptor())? {
        sink.put_manifest(image.descriptor(), image.raw_manifest())?;
    }
    Ok(image.descriptor().clone())
}

fn copy_parallel(
    source: &dyn crate::Source,
    blobs: &[&Descriptor],
    sink: &(dyn crate::sink::ConcurrentBlobs + Sync),
    progress: &dyn Progress,
) -> Result<()> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PARALLEL_BLOBS.min(blobs.len()))
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(desc) = blobs.get(i) else { return Ok(()) };
                        if failed.load(std::sync::atomic::Ordering::Relaxed) {
                            return Ok(());
                        }
                        progress.blob_started(desc);
                        let stored = linked(source, desc, Some(sink)).and_then(|done| {
                            if done {
                                return Ok(());
                            }
                            source.fetch(desc).and_then(|mut reader| sink.put_blob(desc, &mut reader))
                        });
                        if let Err(e) = stored {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                            return Err(e);
                        }
                        progress.blob_done(desc, false);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(Error::Unsupported("a download thread panicked".into()))))
            .collect()
    });
    results.into_iter().collect()
}

/// Stores a blob by linking the source's verified local copy when the sink can (a registry pull
/// into a layout then writes each layer once, into the blob cache, not twice). `false`: stream it.
fn linked(
    source: &dyn crate::Source,
    desc: &Descriptor,
    sink: Option<&(dyn crate::sink::ConcurrentBlobs + Sync)>,
) -> Result<bool> {
    let Some(sink) = sink.filter(|s| s.links()) else { return Ok(false) };
    match source.blob_file(desc)? {
        Some(file) => sink.link_blob(desc, &file),
        None => Ok(false),
    }
}

fn copy_blob(
    source: &dyn crate::Source,
    desc: &Descriptor,
    sink: &mut dyn Sink,
    progress: &dyn Progress,
) -> Result<()> {
    if sink.has(desc)? {
        progress.blob_done(desc, true);
        return Ok(());
    }
    progress.blob_started(desc);
    let mut reader = source.fetch(desc)?;
    sink.put_blob(desc, &mut reader)?;
    progress.blob_done(desc, false);
    Ok(())
}
