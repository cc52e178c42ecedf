//! Deterministic layer tarballs: the same entries give the same bytes, and so the same digest,
//! on any machine.
//!
//! Entries are sorted by path; mtime, owner and mode come from the entry and the options, never
//! from the host; long names and link targets use PAX extended headers (the `tar` crate writes
//! only GNU long-name entries, so the PAX records are built here); device nodes are refused;
//! gzip and zstd run at fixed levels with no timestamps or file names in their headers.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use crate::digest::{Digest, HashingWriter};
use crate::media::Compression;
use crate::{Error, Result};

/// The gzip level pare writes layers with (flate2's default; fixed so digests are stable).
pub const GZIP_LEVEL: u32 = 6;
/// The zstd level pare writes layers with unless told otherwise (fast; 19 is ~10% smaller and
/// tens of times slower).
pub const ZSTD_LEVEL: i32 = 3;

/// What a layer entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryData {
    Dir,
    File(FileContent),
    /// A symbolic link to this target (kept verbatim).
    Symlink(String),
    /// A hard link to another path of the same layer (relative to the root, like entry paths).
    Hardlink(String),
}

/// Where a file's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileContent {
    Bytes(Vec<u8>),
    /// Read from the host when the layer is written; `size` must match the file then.
    Path {
        path: PathBuf,
        size: u64,
    },
}

/// One entry of a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerEntry {
    /// Path relative to the root, `/`-separated, without a leading `/` (`usr/bin/app`).
    pub path: String,
    pub data: EntryData,
    /// Permission bits (`0o755`), including setuid/setgid/sticky.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
    /// Seconds since the epoch; `None` takes [`LayerOptions::mtime`].
    pub mtime: Option<u64>,
}

impl LayerEntry {
    pub fn dir(path: &str, mode: u32) -> LayerEntry {
        LayerEntry::new(path, EntryData::Dir, mode)
    }

    pub fn file(path: &str, mode: u32, bytes: impl Into<Vec<u8>>) -> LayerEntry {
        LayerEntry::new(path, EntryData::File(FileContent::Bytes(bytes.into())), mode)
    }

    pub fn symlink(path: &str, target: &str) -> LayerEntry {
        LayerEntry::new(path, EntryData::Symlink(target.to_string()), 0o777)
    }

    pub fn hardlink(path: &str, target: &str) -> LayerEntry {
        LayerEntry::new(path, EntryData::Hardlink(target.to_string()), 0o644)
    }

    /// An entry owned by root (uid and gid 0, names `root`).
    pub fn new(path: &str, data: EntryData, mode: u32) -> LayerEntry {
        LayerEntry {
            path: path.trim_start_matches('/').to_string(),
            data,
            mode,
            uid: 0,
            gid: 0,
            uname: "root".into(),
            gname: "root".into(),
            mtime: None,
        }
    }

    pub fn owned_by(mut self, uid: u64, gid: u64, uname: &str, gname: &str) -> LayerEntry {
        self.uid = uid;
        self.gid = gid;
        self.uname = uname.to_string();
        self.gname = gname.to_string();
        self
    }
}

/// Settings that apply to the whole layer.
#[derive(Clone, Copy, Debug)]
pub struct LayerOptions {
    /// Modification time for entries that do not set one (seconds since the epoch).
    pub mtime: u64,
    pub compression: Compression,
    /// Compression level; `None` is [`GZIP_LEVEL`] or [`ZSTD_LEVEL`]. Check it with
    /// [`Compression::check_level`]: the writer refuses a level out of range.
    pub level: Option<i32>,
}

impl Default for LayerOptions {
    /// mtime 0 (1970): callers that honour `SOURCE_DATE_EPOCH` read it with [`source_date_epoch`].
    fn default() -> Self {
        LayerOptions { mtime: 0, compression: Compression::Gzip, level: None }
    }
}

/// `SOURCE_DATE_EPOCH` from the environment: `None` when unset or empty; a value that is not a whole
/// number of seconds since 1970 (up to year 9999) is an error, never ignored. The one reader of it.
pub fn source_date_epoch() -> Result<Option<u64>> {
    let Some(value) = std::env::var_os("SOURCE_DATE_EPOCH") else { return Ok(None) };
    let text = value.to_string_lossy();
    if text.trim().is_empty() {
        return Ok(None);
    }
    let bad = |reason: &str| Error::SourceDateEpoch { value: text.to_string(), reason: reason.to_string() };
    let seconds: u64 = text.trim().parse().map_err(|_| bad("not a whole number of seconds since 1970-01-01"))?;
    if seconds > 253_402_300_799 {
        return Err(bad("after the year 9999"));
    }
    Ok(Some(seconds))
}

/// The digests of a written layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenLayer {
    /// Digest of the compressed blob (what the manifest references).
    pub digest: Digest,
    /// Size of the compressed blob.
    pub size: u64,
    /// Digest of the uncompressed tar (what the config's `rootfs.diff_ids` lists).
    pub diff_id: Digest,
    pub compression: Compression,
}

impl WrittenLayer {
    pub fn media_type(&self) -> &'static str {
        self.compression.oci_media_type()
    }

    pub fn descriptor(&self) -> oci_spec::image::Descriptor {
        oci_spec::image::Descriptor::new(self.media_type().into(), self.size, self.digest.clone())
    }
}

/// Writes a layer from `entries` (sorted here) to `out` and returns its digests.
pub fn write_layer(mut entries: Vec<LayerEntry>, options: &LayerOptions, out: impl Write) -> Result<WrittenLayer> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = entries.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(Error::Unsupported(format!("layer entry `{}` is given twice", pair[0].path)));
    }
    let blob = HashingWriter::new(out);
    let (blob, diff_id) = match options.compression {
        Compression::None => {
            let tar = write_tar(&entries, options, HashingWriter::new(blob))?;
            let (blob, diff_id, _) = tar.finish();
            (blob, diff_id)
        }
        Compression::Gzip => {
            let level = options.compression.check_level(options.level)?;
            let encoder = flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(255)
                .write(blob, flate2::Compression::new(level.unsigned_abs()));
            let tar = write_tar(&entries, options, HashingWriter::new(encoder))?;
            let (encoder, diff_id, _) = tar.finish();
            (encoder.finish().map_err(Error::stream("finishing gzip"))?, diff_id)
        }
        Compression::Zstd => {
            let level = options.compression.check_level(options.level)?;
            let mut encoder = zstd::stream::write::Encoder::new(blob, level).map_err(Error::stream("starting zstd"))?;
            encoder.include_checksum(true).map_err(Error::stream("configuring zstd"))?;
            let tar = write_tar(&entries, options, HashingWriter::new(encoder))?;
            let (encoder, diff_id, _) = tar.finish();
            (encoder.finish().map_err(Error::stream("finishing zstd"))?, diff_id)
        }
    };
    let (mut out, digest, size) = blob.finish();
    out.flush().map_err(Error::stream("writing the layer"))?;
    Ok(WrittenLayer { digest, size, diff_id, compression: options.compression })
}

fn write_tar<W: Write>(entries: &[LayerEntry], options: &LayerOptions, out: W) -> Result<W> {
    let mut builder = tar::Builder::new(out);
    for entry in entries {
        append_entry(&mut builder, entry, options)
            .map_err(|e| Error::from_io(format!("writing layer entry `{}`", entry.path), e))?;
    }
    builder.into_inner().map_err(Error::stream("finishing the layer tar"))
}

fn append_entry<W: Write>(builder: &mut tar::Builder<W>, entry: &LayerEntry, options: &LayerOptions) -> io::Result<()> {
    if entry.path.is_empty() || entry.path.split('/').any(|c| c == "..") {
        return Err(io::Error::other(Error::Unsupported(format!(
            "layer entry path `{}` is not a clean relative path",
            entry.path
        ))));
    }
    let (entry_type, size, link) = match &entry.data {
        EntryData::Dir => (tar::EntryType::Directory, 0, None),
        EntryData::File(FileContent::Bytes(b)) => (tar::EntryType::Regular, b.len() as u64, None),
        EntryData::File(FileContent::Path { size, .. }) => (tar::EntryType::Regular, *size, None),
        EntryData::Symlink(t) => (tar::EntryType::Symlink, 0, Some(t.as_str())),
        EntryData::Hardlink(t) => (tar::EntryType::Link, 0, Some(t.trim_start_matches('/'))),
    };
    // Directories are written with a trailing slash, as docker and buildkit do.
    let name = if entry_type == tar::EntryType::Directory {
        format!("{}/", entry.path.trim_end_matches('/'))
    } else {
        entry.path.clone()
    };

    let mut pax: Vec<(&str, &[u8])> = Vec::new();
    if name.len() > 100 {
        pax.push(("path", name.as_bytes()));
    }
    if let Some(link) = link
        && link.len() > 100
    {
        pax.push(("linkpath", link.as_bytes()));
    }
    if !pax.is_empty() {
        let records = pax_records(&pax);
        let mut header = tar::Header::new_ustar();
        set_name_bytes(&mut header, format!("PaxHeaders/{}", truncate(&name, 80)).as_bytes());
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(records.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(entry.mtime.unwrap_or(options.mtime));
        header.set_cksum();
        builder.append(&header, records.as_slice())?;
    }

    let mut header = tar::Header::new_ustar();
    set_name_bytes(&mut header, truncate(&name, 100).as_bytes());
    if let Some(link) = link
        && let Some(ustar) = header.as_ustar_mut()
    {
        let bytes = truncate(link, 100).as_bytes();
        ustar.linkname[..bytes.len()].copy_from_slice(bytes);
    }
    header.set_entry_type(entry_type);
    header.set_mode(entry.mode & 0o7777);
    header.set_uid(entry.uid);
    header.set_gid(entry.gid);
    header.set_username(truncate(&entry.uname, 31))?;
    header.set_groupname(truncate(&entry.gname, 31))?;
    header.set_mtime(entry.mtime.unwrap_or(options.mtime));
    header.set_size(size);
    header.set_device_major(0)?;
    header.set_device_minor(0)?;
    header.set_cksum();
    match &entry.data {
        EntryData::File(FileContent::Bytes(b)) => builder.append(&header, b.as_slice()),
        EntryData::File(FileContent::Path { path, size }) => {
            let file = std::fs::File::open(path)?;
            let mut limited = file.take(*size);
            builder.append(&header, &mut limited)?;
            if limited.limit() != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("`{}` shrank while it was being read", path.display()),
                ));
            }
            Ok(())
        }
        _ => builder.append(&header, io::empty()),
    }
}

/// The longest prefix of `s` that fits in `max` bytes and ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn set_name_bytes(header: &mut tar::Header, name: &[u8]) {
    if let Some(ustar) = header.as_ustar_mut() {
        ustar.name = [0; 100];
        let n = name.len().min(100);
        ustar.name[..n].copy_from_slice(&name[..n]);
    }
}

/// PAX records: `"<len> <key>=<value>\n"`, where `<len>` counts the whole record including itself.
fn pax_records(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in pairs {
        let rest = key.len() + value.len() + 3; // space, '=', newline
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        out.extend_from_slice(len.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<LayerEntry> {
        let long = format!("usr/share/{}/file.txt", "a-very-long-directory-name".repeat(6));
        vec![
            LayerEntry::file("etc/hostname", 0o644, "pare\n"),
            LayerEntry::dir("etc", 0o755),
            LayerEntry::file(&long, 0o600, "long").owned_by(65532, 65532, "nonroot", "nonroot"),
            LayerEntry::symlink("bin", "usr/bin"),
            LayerEntry::hardlink("etc/hostname.bak", "etc/hostname"),
            LayerEntry::symlink("lnk", &format!("/{long}")),
        ]
    }

    #[test]
    fn same_entries_same_digest_in_any_order() -> Result<()> {
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let options = LayerOptions { mtime: 1_700_000_000, compression, level: None };
            let a = write_layer(entries(), &options, Vec::new())?;
            let mut reversed = entries();
            reversed.reverse();
            let b = write_layer(reversed, &options, Vec::new())?;
            assert_eq!(a, b);
            let other_time = write_layer(entries(), &LayerOptions { mtime: 1, compression, level: None }, Vec::new())?;
            assert_ne!(a.diff_id, other_time.diff_id);
        }
        Ok(())
    }

    #[test]
    fn long_names_round_trip_through_pax() -> Result<()> {
        let mut blob = Vec::new();
        let written =
            write_layer(entries(), &LayerOptions { mtime: 5, compression: Compression::Gzip, level: None }, &mut blob)?;
        assert_eq!(written.digest, crate::sha256(&blob));
        let tar_bytes = {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(blob.as_slice()).read_to_end(&mut out).map_err(Error::stream("test"))?;
            out
        };
        assert_eq!(written.diff_id, crate::sha256(&tar_bytes));
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().map_err(Error::stream("test"))? {
            let entry = entry.map_err(Error::stream("test"))?;
            let path = entry.path().map_err(Error::stream("test"))?.to_string_lossy().into_owned();
            let link = entry.link_name().map_err(Error::stream("test"))?.map(|l| l.to_string_lossy().into_owned());
            seen.push((
                path,
                link,
                entry.header().mtime().map_err(Error::stream("test"))?,
                entry.header().uid().map_err(Error::stream("test"))?,
            ));
        }
        let long = format!("usr/share/{}/file.txt", "a-very-long-directory-name".repeat(6));
        let paths: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(paths, vec!["bin", "etc/", "etc/hostname", "etc/hostname.bak", "lnk", long.as_str()]);
        assert_eq!(seen[4].1.as_deref(), Some(format!("/{long}").as_str()));
        assert!(seen.iter().all(|s| s.2 == 5));
        assert_eq!(seen[5].3, 65532);
        Ok(())
    }

    #[test]
    fn pax_length_counts_itself() {
        let r = pax_records(&[("path", b"x".repeat(95).as_slice())]);
        let text = String::from_utf8_lossy(&r);
        let (len, _) = text.split_once(' ').unwrap_or_default();
        assert_eq!(len.parse::<usize>().ok(), Some(r.len()));
    }

    #[test]
    fn refuses_duplicates_and_dotdot() {
        let dup = vec![LayerEntry::dir("a", 0o755), LayerEntry::dir("a", 0o755)];
        assert!(write_layer(dup, &LayerOptions::default(), Vec::new()).is_err());
        let up = vec![LayerEntry::file("a/../../x", 0o644, "x")];
        assert!(write_layer(up, &LayerOptions::default(), Vec::new()).is_err());
    }
}
