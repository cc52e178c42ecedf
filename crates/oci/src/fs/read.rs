//! Reading file contents through the view: the layer that holds a file is streamed again and
//! read to its end, so contents are only trusted once the layer's digests have been checked.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use super::tarstream::{Budget, tar_error, walk_layer};
use super::{Entry, FsView};
use crate::image::{Image, Layer};
use crate::{Error, Result};

impl FsView {
    /// The content of a file, following symlinks (and hardlinks) inside the image. The layer
    /// holding the file is streamed and verified to its end; files larger than
    /// [`super::Limits::max_file_size`] are refused.
    pub fn read(&self, image: &Image, path: &str) -> Result<Vec<u8>> {
        let layers = self.layers_of(image)?;
        let max = self.limits().max_total_size;
        self.read_with(path, |index| open_layer(&layers, index, max))
    }

    /// Visits the content of every file (and hardlink) for which `predicate` is true, streaming
    /// each layer that holds one once. Files come in layer order, then tar order, not by path;
    /// files sharing content (hardlinks) are visited one after the other.
    ///
    /// Each layer is verified only when it has been read to its end, after its files were
    /// visited: if this returns an error, discard what the visitor learnt.
    pub fn for_each_file<P, F, E>(&self, image: &Image, predicate: P, visit: F) -> Result<(), E>
    where
        P: FnMut(&Entry) -> bool,
        F: FnMut(&Entry, &mut dyn Read) -> Result<(), E>,
        E: From<Error>,
    {
        let layers = self.layers_of(image)?;
        let max = self.limits().max_total_size;
        self.for_each_file_with(|index| open_layer(&layers, index, max), predicate, visit)
    }

    /// [`FsView::read`] over layers opened by `open` (given the layer index), for views built
    /// with [`FsView::from_layers`].
    pub fn read_with<R, O>(&self, path: &str, open: O) -> Result<Vec<u8>>
    where
        R: Read,
        O: FnMut(usize) -> Result<R>,
    {
        let entry = self.resolve(path)?;
        if !entry.is_file() {
            return Err(Error::FsPath {
                path: path.to_string(),
                reason: format!("`{}` is a {}, not a file", entry.path, entry.kind),
            });
        }
        if entry.size > self.limits().max_file_size {
            return Err(Error::LimitExceeded {
                what: format!("file `{}` ({} bytes)", entry.path, entry.size),
                limit: self.limits().max_file_size,
                hint: "raise it with --max-file-size BYTES to read it".into(),
            });
        }
        let wanted = entry.path.clone();
        let mut content = None;
        self.for_each_file_with(
            open,
            |e| e.path == wanted,
            |e, reader| {
                let mut bytes = Vec::with_capacity(usize::try_from(e.size.min(1 << 20)).unwrap_or(0));
                reader.read_to_end(&mut bytes).map_err(|err| tar_error(self.label(e.layer), 0, &e.path, err))?;
                content = Some(bytes);
                Ok::<(), Error>(())
            },
        )?;
        content.ok_or_else(|| Error::FsPath { path: path.to_string(), reason: "its content was not found".into() })
    }

    /// [`FsView::for_each_file`] over layers opened by `open` (given the layer index).
    pub fn for_each_file_with<R, O, P, F, E>(&self, open: O, predicate: P, mut visit: F) -> Result<(), E>
    where
        R: Read,
        O: FnMut(usize) -> Result<R>,
        P: FnMut(&Entry) -> bool,
        F: FnMut(&Entry, &mut dyn Read) -> Result<(), E>,
        E: From<Error>,
    {
        self.for_each_content_with(open, predicate, |group, content| {
            if let [only] = group {
                return visit(only, content);
            }
            // Hardlinks to one file: each name gets the content.
            let mut bytes = Vec::new();
            content.read_to_end(&mut bytes).map_err(|e| Error::from_io("reading a layer", e))?;
            for member in group {
                visit(member, &mut &bytes[..])?;
            }
            Ok(())
        })
    }

    /// Visits each content once, with every selected entry that shares it (a file and its
    /// hardlinks, sorted by path), streaming each layer that holds one once.
    pub(crate) fn for_each_content_with<R, O, P, F, E>(
        &self,
        mut open: O,
        mut predicate: P,
        mut visit: F,
    ) -> Result<(), E>
    where
        R: Read,
        O: FnMut(usize) -> Result<R>,
        P: FnMut(&Entry) -> bool,
        F: FnMut(&[&Entry], &mut dyn Read) -> Result<(), E>,
        E: From<Error>,
    {
        // Entries sharing one content, by where that content is: (layer, entry number).
        let mut wanted: BTreeMap<(usize, u64), Vec<&Entry>> = BTreeMap::new();
        for entry in self.entries().filter(|e| e.is_file()) {
            if let Some(origin) = entry.origin
                && predicate(entry)
            {
                wanted.entry(origin).or_default().push(entry);
            }
        }
        let layers: BTreeSet<usize> = wanted.keys().map(|(layer, _)| *layer).collect();
        let mut budget = Budget::new(self.limits());
        for layer in layers {
            let label = self.label(layer).to_string();
            let expected = wanted.range((layer, 0)..=(layer, u64::MAX)).count();
            let mut found = 0;
            let mut failure: Option<E> = None;
            let reader = open(layer)?;
            let walked = walk_layer(reader, &label, &mut budget, |ordinal, entry| {
                let Some(group) = wanted.get(&(layer, ordinal)) else { return Ok(()) };
                let Some(first) = group.first() else { return Ok(()) };
                found += 1;
                let is_file = matches!(
                    entry.header().entry_type(),
                    tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse
                );
                if !is_file || entry.size() != first.size {
                    return Err(changed(&label, ordinal, first));
                }
                let mut content = (&mut *entry).take(first.size);
                if let Err(e) = visit(group, &mut content) {
                    failure = Some(e);
                    return Err(Error::Unsupported("stopped by the visitor".into()));
                }
                Ok(())
            });
            if let Some(e) = failure {
                return Err(e);
            }
            walked?;
            if found != expected {
                return Err(Error::Malformed {
                    what: "layer".into(),
                    location: format!("layer `{label}`"),
                    reason: "it has fewer entries than when the filesystem view was built".into(),
                }
                .into());
            }
        }
        Ok(())
    }

    /// The layers of `image`, checking it is the image the view was built from.
    pub(crate) fn layers_of(&self, image: &Image) -> Result<Vec<Layer>> {
        if let Some(digest) = self.image_digest()
            && digest != image.digest()
        {
            return Err(Error::Unsupported(format!(
                "this filesystem view was built from image `{digest}`, not `{}`",
                image.digest()
            )));
        }
        let layers = image.layers()?;
        if layers.len() != self.layer_labels().len() {
            return Err(Error::Unsupported(format!(
                "the image has {} layers but the filesystem view was built from {}",
                layers.len(),
                self.layer_labels().len()
            )));
        }
        Ok(layers)
    }
}

pub(crate) fn open_layer(layers: &[Layer], index: usize, max: u64) -> Result<Box<dyn Read + Send + '_>> {
    match layers.get(index) {
        // The view was built from this image in this process, checking every diff ID.
        Some(layer) => layer.uncompressed_again(max),
        None => Err(Error::Unsupported(format!("the image has no layer #{index}"))),
    }
}

fn changed(label: &str, ordinal: u64, expected: &Entry) -> Error {
    Error::Malformed {
        what: format!("entry #{ordinal}"),
        location: format!("layer `{label}`"),
        reason: format!(
            "it changed since the filesystem view was built (expected file `{}` of {} bytes)",
            expected.path, expected.size
        ),
    }
}
