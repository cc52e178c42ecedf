//! `.deb` files: an ar archive of `debian-binary`, `control.tar[.gz|.xz|.zst]` and
//! `data.tar[.xz|.zst|.gz]`. The control part is read whole (it is small); the data part is
//! streamed entry by entry through [`DebArchive::for_each_data_entry`], never unpacked to disk.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::Error;
use crate::deb822::{Paragraph, parse_paragraph};

/// Largest uncompressed control archive accepted.
const MAX_CONTROL: u64 = 64 << 20;

/// The reader a data-tar entry reads from (the decompressed `data.tar` stream).
pub type DataReader<'a> = Box<dyn Read + 'a>;

/// What `control.tar` holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DebControl {
    /// The `control` file.
    pub control: Paragraph,
    /// `md5sums`: (path as written, usually without a leading `/`; md5 hex).
    pub md5sums: Vec<(String, String)>,
    /// `conffiles`: one line each (an absolute path, possibly after a flag such as `remove-on-upgrade`).
    pub conffiles: Vec<String>,
    /// Every regular file of the control archive (name without `./`; bytes): scripts, triggers, ...
    pub files: Vec<(String, Vec<u8>)>,
}

impl DebControl {
    /// The bytes of a control member, e.g. `md5sums` or `postinst`.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, b)| b.as_slice())
    }
}

/// An open `.deb` whose control part has been read; the data part comes next in the stream.
pub struct DebArchive<R: Read> {
    archive: ar::Archive<R>,
    name: String,
    control: DebControl,
}

impl DebArchive<BufReader<File>> {
    /// Opens a `.deb` file and reads its control part.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(Error::io(path))?;
        DebArchive::new(BufReader::with_capacity(1 << 16, file), &path.display().to_string())
    }
}

fn deb_err(name: &str, reason: impl Into<String>) -> Error {
    Error::Deb { file: name.to_string(), reason: reason.into() }
}

/// Decompresses by member-name suffix.
fn decoder<'a>(name: &str, member: &str, reader: impl Read + 'a) -> Result<DataReader<'a>, Error> {
    let suffix = member.rsplit_once(".tar").map_or("?", |(_, s)| s);
    Ok(match suffix {
        "" => Box::new(reader),
        ".gz" => Box::new(flate2::read::GzDecoder::new(reader)),
        ".xz" => Box::new(liblzma::read::XzDecoder::new(reader)),
        ".zst" => {
            Box::new(zstd::stream::read::Decoder::new(reader).map_err(|e| deb_err(name, format!("{member}: {e}")))?)
        }
        _ => {
            return Err(deb_err(
                name,
                format!("unsupported compression of `{member}` (expected .gz, .xz, .zst or none)"),
            ));
        }
    })
}

impl<R: Read> DebArchive<R> {
    /// Reads `debian-binary` and the control archive from `reader`; `name` names it in errors.
    pub fn new(reader: R, name: &str) -> Result<Self, Error> {
        let mut archive = ar::Archive::new(reader);
        let mut control = None;
        let mut index = 0;
        while control.is_none() {
            let entry = match archive.next_entry() {
                Some(Ok(entry)) => entry,
                Some(Err(e)) => return Err(deb_err(name, format!("malformed ar archive: {e}"))),
                None if index == 0 => return Err(deb_err(name, "empty ar archive")),
                None => return Err(deb_err(name, "no control.tar member")),
            };
            let member = String::from_utf8_lossy(entry.header().identifier()).trim_end_matches('/').to_string();
            match (index, member.as_str()) {
                (0, "debian-binary") => {
                    let mut version = String::new();
                    entry
                        .take(64)
                        .read_to_string(&mut version)
                        .map_err(|e| deb_err(name, format!("debian-binary: {e}")))?;
                    if !version.trim().starts_with("2.") {
                        return Err(deb_err(name, format!("unsupported format version `{}`", version.trim())));
                    }
                }
                (0, other) => return Err(deb_err(name, format!("first member is `{other}`, not `debian-binary`"))),
                (_, m) if m.starts_with('_') => {}
                (_, m) if m.starts_with("control.tar") => {
                    let reader = decoder(name, m, entry)?;
                    control = Some(read_control(reader, name, m)?);
                }
                (_, m) => return Err(deb_err(name, format!("unexpected member `{m}` before control.tar"))),
            }
            index += 1;
        }
        let control = control.unwrap_or_default();
        Ok(DebArchive { archive, name: name.to_string(), control })
    }

    /// The control part.
    pub fn control(&self) -> &DebControl {
        &self.control
    }

    /// Gives each entry of `data.tar` to `f`, in archive order, as a `tar::Entry` whose bytes
    /// are read from the decompressing stream. Stops at the first error (of the archive or `f`).
    pub fn for_each_data_entry<E, F>(mut self, mut f: F) -> Result<DebControl, E>
    where
        E: From<Error>,
        F: FnMut(&mut tar::Entry<'_, DataReader<'_>>) -> Result<(), E>,
    {
        let name = self.name.clone();
        loop {
            let entry = match self.archive.next_entry() {
                Some(Ok(entry)) => entry,
                Some(Err(e)) => return Err(deb_err(&name, format!("malformed ar archive: {e}")).into()),
                None => return Err(deb_err(&name, "no data.tar member").into()),
            };
            let member = String::from_utf8_lossy(entry.header().identifier()).trim_end_matches('/').to_string();
            if member.starts_with('_') {
                continue;
            }
            if !member.starts_with("data.tar") {
                return Err(deb_err(&name, format!("unexpected member `{member}` after control.tar")).into());
            }
            let reader = decoder(&name, &member, entry)?;
            let mut tar = tar::Archive::new(reader);
            let entries = tar.entries().map_err(|e| deb_err(&name, format!("{member}: {e}")))?;
            for item in entries {
                let mut item = item.map_err(|e| deb_err(&name, format!("{member}: {e}")))?;
                f(&mut item)?;
            }
            break;
        }
        Ok(self.control)
    }
}

fn read_control(reader: DataReader<'_>, name: &str, member: &str) -> Result<DebControl, Error> {
    let err = |reason: String| deb_err(name, format!("{member}: {reason}"));
    let mut tar = tar::Archive::new(reader.take(MAX_CONTROL));
    let mut out = DebControl::default();
    let mut control_text = None;
    for item in tar.entries().map_err(|e| err(e.to_string()))? {
        let mut item = item.map_err(|e| err(e.to_string()))?;
        if !item.header().entry_type().is_file() {
            continue;
        }
        let path = item.path().map_err(|e| err(e.to_string()))?.to_string_lossy().to_string();
        let file = path.trim_start_matches("./").to_string();
        let mut bytes = Vec::new();
        item.read_to_end(&mut bytes).map_err(|e| err(format!("{file}: {e}")))?;
        match file.as_str() {
            "control" => {
                let text = String::from_utf8(bytes.clone()).map_err(|_| err("control is not UTF-8".into()))?;
                control_text = Some(text);
            }
            "md5sums" => {
                for line in String::from_utf8_lossy(&bytes).lines().filter(|l| !l.trim().is_empty()) {
                    let (sum, path) = line
                        .split_once(char::is_whitespace)
                        .ok_or_else(|| err(format!("md5sums: malformed line `{line}`")))?;
                    out.md5sums.push((path.trim_start().to_string(), sum.to_string()));
                }
            }
            "conffiles" => {
                out.conffiles = String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            _ => {}
        }
        out.files.push((file, bytes));
    }
    let text = control_text.ok_or_else(|| err("no `control` file".into()))?;
    out.control = parse_paragraph(&text, &format!("{name}: control"))?;
    Ok(out)
}
