//! Python: `*.dist-info/METADATA` (+ `RECORD`), `*.egg-info/PKG-INFO` and `*.egg-info` files.

/// Name, version and license from core metadata (RFC 822 style headers; the body is ignored).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Metadata {
    pub name: String,
    pub version: String,
    pub license: Option<String>,
}

/// Where a metadata file is: `Some(dir)` for the dist-info/egg-info directory (or the egg-info
/// file itself) it describes.
pub(crate) fn metadata_dir(path: &str) -> Option<&str> {
    if let Some(dir) = path.strip_suffix("/METADATA").filter(|d| d.ends_with(".dist-info")) {
        return Some(dir);
    }
    if let Some(dir) = path.strip_suffix("/PKG-INFO").filter(|d| d.ends_with(".egg-info")) {
        return Some(dir);
    }
    path.ends_with(".egg-info").then_some(path)
}

/// The dist-info directory a `RECORD` belongs to.
pub(crate) fn record_dir(path: &str) -> Option<&str> {
    path.strip_suffix("/RECORD").filter(|d| d.ends_with(".dist-info"))
}

/// Parses the header block. `Err` says why the file is not metadata (binary, no name or version).
pub(crate) fn parse_metadata(text: &str) -> Result<Metadata, String> {
    if text.contains('\0') {
        return Err("binary data (NUL bytes), not core metadata".into());
    }
    let (mut name, mut version, mut license, mut expression) = (None, None, None, None);
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(value.to_string()),
            "version" => version = Some(value.to_string()),
            "license" if !value.is_empty() && value != "UNKNOWN" => license = Some(value.to_string()),
            "license-expression" => expression = Some(value.to_string()),
            _ => {}
        }
    }
    let name = name.filter(|n| !n.is_empty()).ok_or("no `Name:` header")?;
    let version = version.filter(|n| !n.is_empty()).ok_or("no `Version:` header")?;
    Ok(Metadata { name, version, license: expression.or(license) })
}

/// PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// Files listed in a `RECORD` (CSV: path, hash, size), absolute, resolved against `site` (the
/// directory holding the dist-info). Hand-written: only the first CSV column is needed, and a
/// quoted path (with commas or quotes) is the only CSV feature that occurs there.
pub(crate) fn parse_record(text: &str, site: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let path = if let Some(rest) = line.strip_prefix('"') {
            let mut p = String::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        p.push('"');
                        continue;
                    }
                    break;
                }
                p.push(c);
            }
            p
        } else {
            line.split(',').next().unwrap_or_default().to_string()
        };
        if path.is_empty() {
            continue;
        }
        let joined = if path.starts_with('/') { path } else { format!("{site}/{path}") };
        if let Some(clean) = clean_path(&joined) {
            out.push(clean);
        }
    }
    out
}

/// `/a/b/../c` → `/a/c`; `None` when it climbs above the root.
fn clean_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

pub(crate) fn purl(meta: &Metadata) -> Option<String> {
    crate::lang::purl("pypi", None, &normalize(&meta.name), &meta.version, &[])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pep503_and_record() {
        assert_eq!(normalize("Foo__Bar.baz-_Q"), "foo-bar-baz-q");
        assert_eq!(normalize("zope.interface"), "zope-interface");
        let files =
            parse_record("six.py,sha256=x,1\n\"a,b.py\",,\n../../../bin/x,,\n", "/usr/lib/python3/site-packages");
        assert_eq!(
            files,
            ["/usr/lib/python3/site-packages/six.py", "/usr/lib/python3/site-packages/a,b.py", "/usr/bin/x"]
        );
        assert!(parse_metadata("Metadata-Version: 2.1\n\0\0").is_err());
        let m = parse_metadata("Name: A_b\nVersion: 1.0\nLicense: MIT\n\nName: body").unwrap();
        assert_eq!(purl(&m).as_deref(), Some("pkg:pypi/a-b@1.0"));
    }
}
