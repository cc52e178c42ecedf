//! CPE 2.3 names for packages whose NVD naming is established: a curated map from the package
//! (Debian source package, Go's standard library, a Maven artifact) to the vendor and product
//! NVD uses, and the upstream version. No CPE is guessed for anything else: a wrong CPE matches
//! the wrong CVEs (syft's generated candidates are the cautionary tale).
//!
//! Hand-written: no crate maps packages to NVD names; the formatted-string escaping follows
//! NISTIR 7695 §6.2.

use crate::model::Package;

/// Debian source packages (and other names) → NVD vendor and product, for the libraries and
/// tools that minimal images ship and that NVD names consistently.
const DEB: &[(&str, &str, &str)] = &[
    ("bash", "gnu", "bash"),
    ("busybox", "busybox", "busybox"),
    ("coreutils", "gnu", "coreutils"),
    ("curl", "haxx", "curl"),
    ("expat", "libexpat_project", "libexpat"),
    ("glibc", "gnu", "glibc"),
    ("gnupg2", "gnupg", "gnupg"),
    ("gnutls28", "gnu", "gnutls"),
    ("libgcrypt20", "gnupg", "libgcrypt"),
    ("libpng1.6", "libpng", "libpng"),
    ("libxml2", "xmlsoft", "libxml2"),
    ("libzstd", "facebook", "zstandard"),
    ("nodejs", "nodejs", "node.js"),
    ("openssl", "openssl", "openssl"),
    ("pcre2", "pcre", "pcre2"),
    ("perl", "perl", "perl"),
    ("sqlite3", "sqlite", "sqlite"),
    ("tar", "gnu", "tar"),
    ("xz-utils", "tukaani", "xz"),
    ("zlib", "zlib", "zlib"),
];

/// Maven `group:artifact` → NVD vendor and product.
const MAVEN: &[(&str, &str, &str, &str)] = &[
    ("org.apache.logging.log4j", "log4j-core", "apache", "log4j"),
    ("org.springframework", "spring-core", "vmware", "spring_framework"),
    ("com.fasterxml.jackson.core", "jackson-databind", "fasterxml", "jackson-databind"),
];

/// The CPEs of a package (none where no mapping is known).
pub fn cpes(package: &Package) -> Vec<String> {
    let found = match package.ecosystem.as_str() {
        "deb" => {
            let source = package.source_name.as_deref().unwrap_or(&package.name);
            let version = package.source_version.as_deref().unwrap_or(&package.version);
            deb_product(source).map(|(v, p)| (v, p, debian_upstream(version)))
        }
        "golang" if package.name == "stdlib" => {
            Some(("golang", "go", package.version.trim_start_matches("go").to_string()))
        }
        "maven" => maven_product(&package.purl).map(|(v, p)| (v, p, package.version.clone())),
        _ => None,
    };
    match found {
        Some((vendor, product, version)) if !version.is_empty() => {
            vec![format!("cpe:2.3:a:{}:{}:{}:*:*:*:*:*:*:*", escape(vendor), escape(product), escape(&version))]
        }
        _ => Vec::new(),
    }
}

fn deb_product(source: &str) -> Option<(&'static str, &'static str)> {
    if let Some((_, v, p)) = DEB.iter().find(|(s, _, _)| *s == source) {
        return Some((v, p));
    }
    // Versioned source packages: python3.11, openjdk-17.
    if source.strip_prefix("python3.").is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())) {
        return Some(("python", "python"));
    }
    if source.strip_prefix("openjdk-").is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())) {
        return Some(("oracle", "openjdk"));
    }
    None
}

/// `pkg:maven/GROUP/ARTIFACT@…` → the mapped vendor and product.
fn maven_product(purl: &str) -> Option<(&'static str, &'static str)> {
    let rest = purl.strip_prefix("pkg:maven/")?;
    let path = rest.split(['@', '?', '#']).next()?;
    let (group, artifact) = path.split_once('/')?;
    MAVEN.iter().find(|(g, a, _, _)| *g == group && *a == artifact).map(|(_, _, v, p)| (*v, *p))
}

/// A Debian version's upstream part as upstream names it: no epoch, no Debian revision, no
/// repack suffix (`1:1.2.13.dfsg-1` → `1.2.13`).
fn debian_upstream(version: &str) -> String {
    let no_epoch = version.split_once(':').map_or(version, |(_, v)| v);
    let upstream = no_epoch.rsplit_once('-').map_or(no_epoch, |(u, _)| u);
    let cut = ["+dfsg", ".dfsg", "~dfsg", "+ds", "+repack", "+really"]
        .iter()
        .filter_map(|s| upstream.find(s))
        .min()
        .unwrap_or(upstream.len());
    upstream[..cut].to_string()
}

/// Escapes a value for the CPE 2.3 formatted string: letters, digits, `_`, `-` and `.` stand as
/// they are; every other printable character gets a backslash (NISTIR 7695 §6.2.2.2).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            out.push(c);
        } else if c.is_ascii_graphic() {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn package(ecosystem: &str, name: &str, version: &str, source: Option<(&str, &str)>, purl: &str) -> Package {
        // Through JSON, so fields added to Package later (serde-defaulted) need no change here.
        let value = serde_json::json!({
            "ecosystem": ecosystem, "name": name, "version": version,
            "source_name": source.map(|s| s.0), "source_version": source.map(|s| s.1),
            "purl": purl, "licenses": [], "files": [], "locations": [],
        });
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn mapped_packages() {
        let libssl = package("deb", "libssl3", "3.0.17-1~deb12u2", Some(("openssl", "3.0.17-1~deb12u2")), "");
        assert_eq!(cpes(&libssl), ["cpe:2.3:a:openssl:openssl:3.0.17:*:*:*:*:*:*:*"]);
        let zlib = package("deb", "zlib1g", "1:1.2.13.dfsg-1", Some(("zlib", "1:1.2.13.dfsg-1")), "");
        assert_eq!(cpes(&zlib), ["cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*"]);
        let python =
            package("deb", "libpython3.11-minimal", "3.11.2-6+deb12u6", Some(("python3.11", "3.11.2-6+deb12u6")), "");
        assert_eq!(cpes(&python), ["cpe:2.3:a:python:python:3.11.2:*:*:*:*:*:*:*"]);
        let node = package("deb", "nodejs", "18.19.0+dfsg-6~deb12u2", None, "");
        assert_eq!(cpes(&node), ["cpe:2.3:a:nodejs:node.js:18.19.0:*:*:*:*:*:*:*"]);
        let go = package("golang", "stdlib", "go1.21.5", None, "pkg:golang/stdlib@1.21.5");
        assert_eq!(cpes(&go), ["cpe:2.3:a:golang:go:1.21.5:*:*:*:*:*:*:*"]);
        let log4j =
            package("maven", "log4j-core", "2.14.1", None, "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1");
        assert_eq!(cpes(&log4j), ["cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"]);
    }

    #[test]
    fn unmapped_and_escaped() {
        assert!(cpes(&package("deb", "tzdata", "2025b-0+deb12u1", Some(("tzdata", "2025b-0+deb12u1")), "")).is_empty());
        assert!(cpes(&package("pypi", "requests", "2.31.0", None, "pkg:pypi/requests@2.31.0")).is_empty());
        assert!(cpes(&package("deb", "python3.x", "1", Some(("python3.x", "1")), "")).is_empty());
        assert_eq!(escape("1.0+git~1:2"), "1.0\\+git\\~1\\:2");
        assert_eq!(debian_upstream("2.36-9+deb12u10"), "2.36");
        assert_eq!(debian_upstream("7.88.1-10+deb12u12"), "7.88.1");
        assert_eq!(debian_upstream("1.2"), "1.2");
    }
}
