//! Walking one layer's tar stream: entry numbering, limits, header parsing and the final drain
//! that lets the digest-checking readers underneath see the end of the stream.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use tar::EntryType;

use super::Limits;
use crate::media::TarTrailerPad;
use crate::{Error, Result};

/// Metadata (long names, PAX records, sparse maps) allowed between two entries.
const MAX_HEADER_BYTES: u64 = 16 << 20;

/// Counters shared by all the layers of one operation.
pub(crate) struct Budget {
    limits: Limits,
    bytes: Rc<Cell<u64>>,
    entries: u64,
    /// Layers whose tar stream lacked its end-of-archive blocks.
    pub(crate) unterminated: Vec<String>,
}

impl Budget {
    pub(crate) fn new(limits: &Limits) -> Budget {
        Budget { limits: limits.clone(), bytes: Rc::new(Cell::new(0)), entries: 0, unterminated: Vec::new() }
    }

    /// Counts one more tar entry against the limit.
    pub(crate) fn count_entry(&mut self, label: &str) -> Result<()> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(Error::LimitExceeded {
                what: format!("the number of tar entries in the image's layers (reached in layer `{label}`)"),
                limit: self.limits.max_entries,
                hint: "raise it with --max-entries N if the image really has that many files".into(),
            });
        }
        Ok(())
    }

    /// The shared count of uncompressed bytes read so far.
    pub(crate) fn counter(&self) -> Rc<Cell<u64>> {
        self.bytes.clone()
    }
}

/// Counts what the tar reader consumes: the total against the limit, and what it reads while
/// looking for the next entry (headers, long names, PAX records, padding: entry data is drained
/// by the walker before that).
pub(crate) struct Counting<R> {
    inner: R,
    total: Rc<Cell<u64>>,
    max_total: u64,
    since_entry: Rc<Cell<u64>>,
    /// The cap on `since_entry`, set only while the tar reader looks for the next header.
    max_since_entry: Rc<Cell<u64>>,
    label: Rc<str>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.total.get().saturating_add(n as u64);
        self.total.set(total);
        if total > self.max_total {
            return Err(io::Error::other(Error::LimitExceeded {
                what: format!("the uncompressed size of the image's layers (reached in layer `{}`)", self.label),
                limit: self.max_total,
                hint: "raise it with --max-size BYTES if this image is really that large".into(),
            }));
        }
        let since = self.since_entry.get().saturating_add(n as u64);
        self.since_entry.set(since);
        if since > self.max_since_entry.get() {
            return Err(io::Error::other(Error::LimitExceeded {
                what: format!("tar metadata (long names, PAX records) of one entry in layer `{}`", self.label),
                limit: self.max_since_entry.get(),
                hint: "the layer is malformed or hostile".into(),
            }));
        }
        Ok(n)
    }
}

/// The kinds of tar entries the view knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum RawKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
    /// PAX global headers: carry no file.
    Global,
    Other(u8),
}

/// What the view needs from one tar header (long names and PAX records applied).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RawHeader {
    #[serde(with = "text_bytes")]
    pub name: Vec<u8>,
    #[serde(with = "text_bytes::option", default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Vec<u8>>,
    pub kind: RawKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    #[serde(with = "text_bytes::option", default, skip_serializing_if = "Option::is_none")]
    pub uname: Option<Vec<u8>>,
    #[serde(with = "text_bytes::option", default, skip_serializing_if = "Option::is_none")]
    pub gname: Option<Vec<u8>>,
    pub size: u64,
    pub mtime: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<(u32, u32)>,
}

/// Header bytes in JSON: a string when they are UTF-8 (nearly always), else an array of bytes.
mod text_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(bytes) {
            Ok(text) => text.serialize(serializer),
            Err(_) => bytes.serialize(serializer),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        Ok(match Form::deserialize(deserializer)? {
            Form::Text(text) => text.into_bytes(),
            Form::Bytes(bytes) => bytes,
        })
    }

    pub(crate) mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => super::serialize(b, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
            Ok(Option::<super::Form>::deserialize(deserializer)?.map(|f| match f {
                super::Form::Text(text) => text.into_bytes(),
                super::Form::Bytes(bytes) => bytes,
            }))
        }
    }
}

impl RawHeader {
    pub(crate) fn parse<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<RawHeader> {
        let header = entry.header();
        let name = entry.path_bytes().into_owned();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let kind = match header.entry_type() {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                // Old tars mark directories with a trailing slash only.
                if name.ends_with(b"/") { RawKind::Dir } else { RawKind::File }
            }
            EntryType::Directory => RawKind::Dir,
            EntryType::Symlink => RawKind::Symlink,
            EntryType::Link => RawKind::Hardlink,
            EntryType::Char => RawKind::Char,
            EntryType::Block => RawKind::Block,
            EntryType::Fifo => RawKind::Fifo,
            EntryType::XGlobalHeader => RawKind::Global,
            other => RawKind::Other(other.as_byte()),
        };
        let old = header.as_old();
        // Blank numeric fields read as 0, as Go's archive/tar does.
        let mode = lenient(header.mode(), &old.mode)? & 0o7777;
        // The tar crate applies PAX uid, gid and size; the rest is read here.
        let uid = lenient(header.uid(), &old.uid)?;
        let gid = lenient(header.gid(), &old.gid)?;
        let mut uname = header.username_bytes().filter(|u| !u.is_empty()).map(<[u8]>::to_vec);
        let mut gname = header.groupname_bytes().filter(|g| !g.is_empty()).map(<[u8]>::to_vec);
        let mut mtime = i64::try_from(lenient(header.mtime(), &old.mtime)?).unwrap_or(i64::MAX);
        let device = match (kind, header.as_ustar().map(|u| (&u.dev_major, &u.dev_minor))) {
            (RawKind::Char | RawKind::Block, Some((major, minor))) => Some((
                lenient(header.device_major(), major)?.unwrap_or(0),
                lenient(header.device_minor(), minor)?.unwrap_or(0),
            )),
            (RawKind::Char | RawKind::Block, None) => Some((
                header.device_major().ok().flatten().unwrap_or(0),
                header.device_minor().ok().flatten().unwrap_or(0),
            )),
            _ => None,
        };
        let size = entry.size();
        if let Some(pax) = entry.pax_extensions()? {
            for record in pax {
                let record = record?;
                match record.key_bytes() {
                    b"uname" => uname = Some(record.value_bytes().to_vec()),
                    b"gname" => gname = Some(record.value_bytes().to_vec()),
                    b"mtime" => {
                        let text = String::from_utf8_lossy(record.value_bytes());
                        let whole = text.split('.').next().unwrap_or_default();
                        if let Ok(value) = whole.parse::<i64>() {
                            mtime = value;
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(RawHeader { name, link, kind, mode, uid, gid, uname, gname, size, mtime, device })
    }
}

/// A numeric header field, or its default when the field is blank (all NUL or spaces).
fn lenient<T: Default>(value: io::Result<T>, raw: &[u8]) -> io::Result<T> {
    match value {
        Err(_) if raw.iter().all(|b| *b == 0 || *b == b' ') => Ok(T::default()),
        other => other,
    }
}

/// Where in a layer an entry is, for messages: its number and the previous entry's name.
pub(crate) fn entry_context(ordinal: u64, previous: &str) -> String {
    if previous.is_empty() { format!("entry #{ordinal}") } else { format!("entry #{ordinal} (after `{previous}`)") }
}

/// Turns an error from the tar reader into ours: errors of the verifying readers underneath
/// come back as they were; anything else is a malformed tar.
pub(crate) fn tar_error(label: &str, ordinal: u64, previous: &str, err: io::Error) -> Error {
    match err.downcast::<Error>() {
        Ok(ours) => ours,
        Err(err) => Error::Malformed {
            what: format!("tar stream at {}", entry_context(ordinal, previous)),
            location: format!("layer `{label}`"),
            reason: err.to_string(),
        }
        .with_hint("the layer is not a valid tar archive, or it is truncated or corrupt"),
    }
}

/// Streams one layer, calling `visit` with each entry's number in the layer (the same numbers on
/// every pass over the same layer). Entry data the visitor does not read is skipped; the stream
/// is read to its very end, so digest errors surface here and fail the walk.
pub(crate) fn walk_layer<R, F>(reader: R, label: &str, budget: &mut Budget, mut visit: F) -> Result<()>
where
    R: Read,
    F: FnMut(u64, &mut tar::Entry<'_, Counting<TarTrailerPad<R>>>) -> Result<()>,
{
    let since_entry = Rc::new(Cell::new(0));
    let header_limit = Rc::new(Cell::new(u64::MAX));
    // Layers that end right after their last entry's data (umoci 0.4) are read as Go's tar does.
    let padded = TarTrailerPad::new(reader);
    let lacked_trailer = padded.padded_flag();
    let counting = Counting {
        inner: padded,
        total: budget.bytes.clone(),
        max_total: budget.limits.max_total_size,
        since_entry: since_entry.clone(),
        max_since_entry: header_limit.clone(),
        label: Rc::from(label),
    };
    let mut archive = tar::Archive::new(counting);
    let mut ordinal: u64 = 0;
    let mut previous = String::new();
    {
        let mut entries = archive.entries().map_err(|e| tar_error(label, 0, "", e))?;
        loop {
            since_entry.set(0);
            header_limit.set(MAX_HEADER_BYTES);
            let next = entries.next();
            header_limit.set(u64::MAX);
            let Some(next) = next else { break };
            let mut entry = next.map_err(|e| tar_error(label, ordinal, &previous, e))?;
            budget.count_entry(label)?;
            visit(ordinal, &mut entry)?;
            // Skip unread data here, so the reader's metadata counter only sees headers.
            io::copy(&mut entry, &mut io::sink()).map_err(|e| {
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                tar_error(label, ordinal, &name, e)
            })?;
            previous = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            ordinal += 1;
        }
    }
    if lacked_trailer.load(std::sync::atomic::Ordering::Relaxed) && !budget.unterminated.iter().any(|l| l == label) {
        budget.unterminated.push(label.to_string());
    }
    // The tar reader stops at the end-of-archive marker; read the rest so the blob's size and
    // digest and the diff ID are checked.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| match e.downcast::<Error>() {
        Ok(ours) => ours,
        Err(e) => Error::Stream { context: format!("reading the end of layer `{label}`"), source: e },
    })?;
    Ok(())
}
