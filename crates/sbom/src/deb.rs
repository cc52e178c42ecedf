//! Debian: dpkg's status database (and distroless `status.d`), file lists, DEP-5 copyright files.

use pare_deb::Version;
use pare_deb::deb822::parse_paragraphs;

/// One installed package as dpkg records it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Record {
    pub name: String,
    pub version: String,
    pub architecture: Option<String>,
    pub source_name: String,
    pub source_version: String,
}

/// Parses a status file, keeping packages that are installed. Paragraphs are split at blank
/// lines first, so that one malformed paragraph is a warning and the others are still read.
/// `require_status`: dpkg's own `status` must say `install ok installed`; distroless
/// `status.d` files often have no `Status` field, which means installed.
pub(crate) fn parse_status(text: &str, source: &str, require_status: bool, warnings: &mut Vec<String>) -> Vec<Record> {
    let mut records = Vec::new();
    for (line, chunk) in chunks(text) {
        let paragraph = match parse_paragraphs(chunk, source) {
            Ok(mut ps) if ps.len() == 1 => ps.remove(0),
            Ok(_) => continue,
            Err(e) => {
                warnings.push(format!("{source}: skipping the paragraph at line {line}: {e}"));
                continue;
            }
        };
        let status = paragraph.get("Status");
        let installed = match status {
            Some(s) => s.split_whitespace().collect::<Vec<_>>() == ["install", "ok", "installed"],
            None => !require_status,
        };
        if !installed {
            continue;
        }
        let Some(name) = paragraph.get("Package").filter(|n| valid_name(n)) else {
            warnings.push(format!("{source}: skipping the paragraph at line {line}: no valid `Package` field"));
            continue;
        };
        let Some(version) = paragraph.get("Version") else {
            warnings.push(format!("{source}: skipping package `{name}` (line {line}): no `Version` field"));
            continue;
        };
        if let Err(e) = Version::parse(version) {
            warnings.push(format!("{source}: skipping package `{name}` (line {line}): bad version `{version}`: {e}"));
            continue;
        }
        let architecture = paragraph.get("Architecture").filter(|a| !a.is_empty()).map(str::to_string);
        let (source_name, source_version) = match paragraph.get("Source") {
            Some(field) => parse_source(field, version),
            None => (name.to_string(), strip_binnmu(version).to_string()),
        };
        records.push(Record {
            name: name.to_string(),
            version: version.to_string(),
            architecture,
            source_name,
            source_version,
        });
    }
    records
}

/// Splits text into paragraphs at blank lines, with the line each starts on.
fn chunks(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (line, byte offset)
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let blank = line.trim().is_empty();
        match (blank, start) {
            (true, Some((l, s))) => {
                out.push((l, &text[s..offset]));
                start = None;
            }
            (false, None) => start = Some((index + 1, offset)),
            _ => {}
        }
        offset += line.len();
    }
    if let Some((l, s)) = start {
        out.push((l, &text[s..]));
    }
    out
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

/// `Source: name` or `Source: name (version)`. Without a version the source version is the
/// binary version, minus a binNMU suffix (`+bN`): a binNMU rebuilds the same source.
fn parse_source(field: &str, version: &str) -> (String, String) {
    let field = field.trim();
    if let Some((name, rest)) = field.split_once('(') {
        let v = rest.trim_end().trim_end_matches(')').trim();
        if !v.is_empty() && Version::parse(v).is_ok() {
            return (name.trim().to_string(), v.to_string());
        }
        return (name.trim().to_string(), strip_binnmu(version).to_string());
    }
    (field.to_string(), strip_binnmu(version).to_string())
}

/// `1.2-3+b1` → `1.2-3`.
pub(crate) fn strip_binnmu(version: &str) -> &str {
    if let Some(index) = version.rfind("+b") {
        let tail = &version[index + 2..];
        if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) {
            return &version[..index];
        }
    }
    version
}

/// Paths in a `.list` file (one absolute path a line).
pub(crate) fn parse_list(text: &str) -> Vec<String> {
    text.lines().map(str::trim_end).filter(|l| l.starts_with('/') && l.len() > 1).map(str::to_string).collect()
}

/// Paths in a `.md5sums` file (`HASH  relative/path`).
pub(crate) fn parse_md5sums(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(_, path)| path.trim_start())
        .filter(|p| !p.is_empty())
        .map(|p| if p.starts_with('/') { p.to_string() } else { format!("/{p}") })
        .collect()
}

/// Licenses of a DEP-5 machine-readable copyright file, as SPDX expressions; `NOASSERTION` for
/// a `License:` name that is not one, or for a file that is not machine-readable. Never guessed.
pub(crate) fn copyright_licenses(text: &str) -> Vec<String> {
    let Some(format) = first_format(text) else { return vec!["NOASSERTION".into()] };
    if !format.contains("copyright-format") && !format.contains("dep5") {
        return vec!["NOASSERTION".into()];
    }
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        if !key.eq_ignore_ascii_case("License") || line.starts_with([' ', '\t']) {
            continue;
        }
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        out.push(to_spdx(value).unwrap_or_else(|| "NOASSERTION".to_string()));
    }
    if out.is_empty() {
        out.push("NOASSERTION".into());
    }
    out.sort();
    out.dedup();
    out
}

fn first_format(text: &str) -> Option<&str> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    let (key, value) = first.split_once(':')?;
    key.trim().eq_ignore_ascii_case("Format").then_some(value.trim())
}

/// A Debian license short name or expression to a canonical SPDX expression, where the `spdx`
/// crate can map it.
fn to_spdx(name: &str) -> Option<String> {
    let debian = debian_names(name);
    if spdx::Expression::parse(&debian).is_ok() {
        return Some(debian);
    }
    let canonical = match spdx::Expression::canonicalize(name) {
        Ok(Some(c)) => c,
        Ok(None) => name.to_string(),
        Err(_) => return None,
    };
    spdx::Expression::parse(&canonical).ok().map(|_| canonical)
}

/// Rewrites the DEP-5 standard short names that differ from SPDX's (`GPL-2+` is
/// `GPL-2.0-or-later`, `LGPL-2.1` is `LGPL-2.1-only`: the copyright-format 1.0 specification
/// defines them so) and lower-case operators.
fn debian_names(expr: &str) -> String {
    let spaced = expr.replace('(', " ( ").replace(')', " ) ");
    let mut out = Vec::new();
    for token in spaced.split_whitespace() {
        let mapped = match token {
            "or" | "OR" | "|" => "OR".to_string(),
            "and" | "AND" | "&" => "AND".to_string(),
            "with" | "WITH" => "WITH".to_string(),
            t => debian_id(t).or_else(|| spdx_case(t)).unwrap_or_else(|| t.to_string()),
        };
        out.push(mapped);
    }
    out.join(" ").replace("( ", "(").replace(" )", ")")
}

/// SPDX identifiers match case-insensitively (SPDX 2.3 annex D): `BSD-4-clause-UC` is `BSD-4-Clause-UC`.
fn spdx_case(token: &str) -> Option<String> {
    let licenses = spdx::identifiers::LICENSES.iter().map(|l| l.name);
    let exceptions = spdx::identifiers::EXCEPTIONS.iter().map(|e| e.name);
    licenses.chain(exceptions).find(|name| name.eq_ignore_ascii_case(token)).map(str::to_string)
}

fn debian_id(token: &str) -> Option<String> {
    let (base, later) = match token.strip_suffix('+') {
        Some(b) => (b, true),
        None => (token, false),
    };
    let (family, version) = base.split_once('-')?;
    if !matches!(family, "GPL" | "LGPL" | "AGPL" | "GFDL") {
        return None;
    }
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let version = if version.contains('.') { version.to_string() } else { format!("{version}.0") };
    Some(format!("{family}-{version}-{}", if later { "or-later" } else { "only" }))
}

/// A Debian package as an inventory holds it, from what a lock or an archive index says (no files,
/// licenses or locations); `distro` is the purl qualifier (`debian-12`).
pub fn debian_package(
    name: &str,
    version: &str,
    architecture: &str,
    source_name: &str,
    source_version: &str,
    distro: Option<&str>,
) -> crate::Package {
    let record = Record {
        name: name.to_string(),
        version: version.to_string(),
        architecture: Some(architecture.to_string()),
        source_name: source_name.to_string(),
        source_version: source_version.to_string(),
    };
    crate::Package {
        ecosystem: "deb".into(),
        purl: purl(&record, "debian", distro).unwrap_or_default(),
        name: record.name,
        version: record.version,
        source_name: Some(record.source_name),
        source_version: Some(record.source_version),
        architecture: record.architecture,
        licenses: Vec::new(),
        files: Vec::new(),
        locations: Vec::new(),
        checksums: Vec::new(),
        download_location: None,
    }
}

/// The purl of a Debian package.
pub(crate) fn purl(record: &Record, namespace: &str, distro: Option<&str>) -> Option<String> {
    let mut purl = packageurl::PackageUrl::new("deb", record.name.as_str()).ok()?;
    purl.with_namespace(namespace).ok()?;
    purl.with_version(record.version.as_str()).ok()?;
    if let Some(arch) = &record.architecture {
        purl.add_qualifier("arch", arch.as_str()).ok()?;
    }
    if let Some(distro) = distro {
        purl.add_qualifier("distro", distro).ok()?;
    }
    if record.source_name != record.name || record.source_version != record.version {
        let upstream = if record.source_version != record.version {
            format!("{}@{}", record.source_name, record.source_version)
        } else {
            record.source_name.clone()
        };
        purl.add_qualifier("upstream", upstream).ok()?;
    }
    Some(purl.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_paragraphs_sources_and_binnmus() {
        let text = "Package: a\nStatus: install ok installed\nVersion: 1.0-1+b2\nArchitecture: amd64\n\n\
                    Package: b\nStatus: deinstall ok config-files\nVersion: 1\n\n\
                    Package: c\nStatus: install ok installed\nSource: csrc (2.0-1)\nVersion: 2.0-1+b1\n\n\
                    Package: d\nStatus: install ok installed\nbroken line\nVersion: 1\n\n\
                    Package: e\nStatus: install ok installed\nSource: esrc\nVersion: 3\n";
        let mut warnings = Vec::new();
        let records = parse_status(text, "status", true, &mut warnings);
        let names: Vec<_> = records.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "e"]);
        assert_eq!(records[0].source_version, "1.0-1");
        assert_eq!(records[0].source_name, "a");
        assert_eq!((records[1].source_name.as_str(), records[1].source_version.as_str()), ("csrc", "2.0-1"));
        assert_eq!((records[2].source_name.as_str(), records[2].source_version.as_str()), ("esrc", "3"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("line 15"), "{warnings:?}");
    }

    #[test]
    fn licenses_from_dep5_only() {
        let dep5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
                    Files: *\nLicense: GPL-2+\n\nFiles: b\nLicense: public-domain\n text\n\nFiles: c\nLicense: Zlib\n\nFiles: d\nLicense: bsd-4-clause-uc or mit\n";
        assert_eq!(copyright_licenses(dep5), ["BSD-4-Clause-UC OR MIT", "GPL-2.0-or-later", "NOASSERTION", "Zlib"]);
        assert_eq!(copyright_licenses("This is the Debian package of x.\nLicense: MIT\n"), ["NOASSERTION"]);
    }

    #[test]
    fn purls() {
        let r = Record {
            name: "libssl3".into(),
            version: "3.0.15-1~deb12u1".into(),
            architecture: Some("amd64".into()),
            source_name: "openssl".into(),
            source_version: "3.0.15-1~deb12u1".into(),
        };
        assert_eq!(
            purl(&r, "debian", Some("debian-12")).as_deref(),
            Some("pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl")
        );
        let same = Record { name: "openssl".into(), ..r.clone() };
        assert_eq!(
            purl(&same, "debian", Some("debian-12")).as_deref(),
            Some("pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12")
        );
    }
}
