//! Alpine and Wolfi: apk's database `/lib/apk/db/installed`.
//!
//! Hand-written: the format is one `X:value` field a line, packages separated by blank lines;
//! no crate reads it.

/// One installed apk package.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct ApkRecord {
    pub name: String,
    pub version: String,
    pub architecture: Option<String>,
    /// `o:`, the source (origin) package.
    pub origin: Option<String>,
    pub license: Option<String>,
    /// `F:` directories joined with their `R:` files, absolute.
    pub files: Vec<String>,
    /// The line the record starts on.
    pub line: usize,
}

/// Parses an installed database. A record without `P:` or `V:` is skipped with a warning; lines
/// that are not `X:value` are skipped with one warning per record.
pub(crate) fn parse_installed(text: &str, source: &str, warnings: &mut Vec<String>) -> Vec<ApkRecord> {
    let mut out = Vec::new();
    let mut current: Option<ApkRecord> = None;
    let mut bad_lines = 0usize;
    let mut dir = String::new();
    let finish = |record: Option<ApkRecord>, bad: &mut usize, out: &mut Vec<ApkRecord>, warnings: &mut Vec<String>| {
        let Some(record) = record else { return };
        if *bad > 0 {
            warnings.push(format!(
                "{source}: record at line {}: {bad} line(s) not of the form `X:value` ignored",
                record.line
            ));
            *bad = 0;
        }
        if record.name.is_empty() || record.version.is_empty() {
            warnings.push(format!(
                "{source}: skipping the record at line {}: no `P:` (name) or `V:` (version)",
                record.line
            ));
            return;
        }
        out.push(record);
    };
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            finish(current.take(), &mut bad_lines, &mut out, warnings);
            dir.clear();
            continue;
        }
        let record = current.get_or_insert_with(|| ApkRecord { line: index + 1, ..ApkRecord::default() });
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b':' || !bytes[0].is_ascii_alphabetic() {
            bad_lines += 1;
            continue;
        }
        let value = &line[2..];
        match bytes[0] {
            b'P' => record.name = value.trim().to_string(),
            b'V' => record.version = value.trim().to_string(),
            b'A' => record.architecture = Some(value.trim().to_string()).filter(|a| !a.is_empty()),
            b'o' => record.origin = Some(value.trim().to_string()).filter(|a| !a.is_empty()),
            b'L' => record.license = Some(value.trim().to_string()).filter(|a| !a.is_empty()),
            b'F' => dir = value.trim_matches('/').to_string(),
            b'R' if !value.is_empty() => {
                record.files.push(if dir.is_empty() { format!("/{value}") } else { format!("/{dir}/{value}") })
            }
            _ => {}
        }
    }
    finish(current.take(), &mut bad_lines, &mut out, warnings);
    out
}

/// `pkg:apk/NAMESPACE/NAME@VERSION?arch=…&distro=…&upstream=ORIGIN` (upstream when it differs).
pub(crate) fn purl(record: &ApkRecord, namespace: &str, distro: Option<&str>) -> Option<String> {
    let mut q = Vec::new();
    if let Some(a) = &record.architecture {
        q.push(("arch", a.as_str()));
    }
    if let Some(d) = distro {
        q.push(("distro", d));
    }
    if let Some(o) = record.origin.as_deref().filter(|o| *o != record.name) {
        q.push(("upstream", o));
    }
    crate::lang::purl("apk", Some(namespace), &record.name, &record.version, &q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_bad_records() {
        let mut w = Vec::new();
        let text =
            "P:musl\nV:1.2\nA:x86_64\no:musl\nF:lib\nR:libc.so\nF:usr/lib\nR:x.so\n\nP:nover\n\ngarbage\nP:a\nV:1\n";
        let r = parse_installed(text, "db", &mut w);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].files, ["/lib/libc.so", "/usr/lib/x.so"]);
        assert_eq!(r[1].name, "a");
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(
            purl(&ApkRecord { origin: Some("busybox".into()), ..r[0].clone() }, "alpine", Some("alpine-3.19.0"))
                .as_deref(),
            Some("pkg:apk/alpine/musl@1.2?arch=x86_64&distro=alpine-3.19.0&upstream=busybox")
        );
    }
}
