//! Go binaries: the build info the Go linker embeds (`\xff Go buildinf:`), Go 1.18 and later.
//!
//! Hand-written: the blob is a 32-byte header and two length-prefixed strings; the crates that
//! read it (e.g. `gobuildinfo`) are small and unmaintained, and this needs no unsafe code.

use object::{Object, ObjectSection, ReadRef};

pub(crate) const MAGIC: &[u8] = b"\xff Go buildinf:";

/// What a Go binary says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct BuildInfo {
    /// `go1.21.5`.
    pub go_version: String,
    /// The main package's path (`path` line).
    pub path: Option<String>,
    /// The main module: (path, version).
    pub main: Option<(String, String)>,
    /// Dependencies (after `=>` replacements): (path, version).
    pub deps: Vec<(String, String)>,
}

/// Reads the build info from an executable. `Ok(None)`: not a Go binary.
pub(crate) fn read(bytes: &[u8]) -> Result<Option<BuildInfo>, String> {
    read_from(bytes, || {
        let offset = memchr::memmem::find_iter(bytes, MAGIC).find(|o| o % 16 == 0)?;
        Some(bytes[offset..].to_vec())
    })
}

/// [`read`] over any [`ReadRef`] (a file read on demand); `scan` finds the blob when the
/// executable has no `.go.buildinfo` section.
pub(crate) fn read_from<'data, R: ReadRef<'data>>(
    data: R,
    scan: impl FnOnce() -> Option<Vec<u8>>,
) -> Result<Option<BuildInfo>, String> {
    // The linker puts the blob at the start of `.go.buildinfo`; without section headers, Go's
    // own reader scans for the magic at 16-byte alignment, and so does `scan`.
    let section = object::File::parse(data)
        .ok()
        .and_then(|f| f.section_by_name(".go.buildinfo").and_then(|s| s.data().ok().map(<[u8]>::to_vec)));
    let blob = match section {
        Some(s) if s.starts_with(MAGIC) => s,
        _ => {
            let Some(blob) = scan() else { return Ok(None) };
            blob
        }
    };
    parse_blob(&blob).map(Some)
}

/// Parses the blob starting at the magic.
pub(crate) fn parse_blob(blob: &[u8]) -> Result<BuildInfo, String> {
    let header = blob.get(..32).ok_or("build info header truncated")?;
    let flags = header[15];
    if flags & 2 == 0 {
        return Err("build info in the pre-Go 1.18 pointer format (not read)".into());
    }
    let mut rest = &blob[32..];
    let version = string(&mut rest).ok_or("build info: Go version truncated")?;
    let mut modinfo = string(&mut rest).ok_or("build info: module info truncated")?;
    // Module info is wrapped in 16-byte sentinels.
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        modinfo = &modinfo[16..modinfo.len() - 16];
    }
    let go_version = String::from_utf8_lossy(version).into_owned();
    if !go_version.starts_with("go") && !go_version.starts_with("devel") {
        return Err(format!("build info: `{}` is not a Go version", go_version.chars().take(40).collect::<String>()));
    }
    let mut info = BuildInfo { go_version, ..BuildInfo::default() };
    for line in String::from_utf8_lossy(modinfo).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["path", p, ..] => info.path = Some((*p).to_string()),
            ["mod", p, v, ..] => info.main = Some(((*p).to_string(), (*v).to_string())),
            ["dep", p, v, ..] => info.deps.push(((*p).to_string(), (*v).to_string())),
            ["=>", p, v, ..] => {
                if let Some(last) = info.deps.last_mut() {
                    *last = ((*p).to_string(), (*v).to_string());
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

/// A uvarint-length-prefixed string; advances `rest`.
fn string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut used: usize = 0;
    for &b in rest.iter() {
        used += 1;
        len |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let len = usize::try_from(len).ok()?;
    let end = used.checked_add(len)?;
    let s = rest.get(used..end)?;
    *rest = &rest[end..];
    Some(s)
}

/// `pkg:golang/NAMESPACE/NAME@VERSION` for a module path.
pub(crate) fn purl(module: &str, version: &str) -> Option<String> {
    let version = if version == "(devel)" { "" } else { version };
    match module.rsplit_once('/') {
        Some((ns, name)) => crate::lang::purl("golang", Some(ns), name, version, &[]),
        None => crate::lang::purl("golang", None, module, version, &[]),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn blob() {
        let mut b = MAGIC.to_vec();
        b.extend([8, 2]);
        b.resize(32, 0);
        b.push(8);
        b.extend(b"go1.21.5");
        let m = "0123456789abcdefpath\tex.com/x\nmod\tex.com/x\t(devel)\t\ndep\ta.io/b\tv1.0.0\th1:x\n=>\tc.io/d\tv2.0.0\th1:y\n0123456789abcdef";
        b.push(u8::try_from(m.len()).unwrap());
        b.extend(m.as_bytes());
        let info = parse_blob(&b).unwrap();
        assert_eq!(info.go_version, "go1.21.5");
        assert_eq!(info.deps, [("c.io/d".to_string(), "v2.0.0".to_string())]);
        assert_eq!(purl("github.com/a/b", "v1.2.3").as_deref(), Some("pkg:golang/github.com/a/b@v1.2.3"));
        assert!(parse_blob(&b[..40]).is_err());
    }
}
