//! `Release` files: what a suite contains and the SHA-256 of every index, parsed after the
//! signature was checked (see [`crate::signature`]).

use jiff::Timestamp;

use crate::Error;
use crate::checksum::Sha256Sum;
use crate::deb822::parse_paragraph;

/// An index listed in a Release file's `SHA256` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Path relative to the suite directory, e.g. `main/binary-amd64/Packages.xz`.
    pub path: String,
    pub size: u64,
    pub sha256: Sha256Sum,
}

/// The fields of a Release file that pare uses.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub origin: Option<String>,
    pub label: Option<String>,
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub version: Option<String>,
    pub date: Timestamp,
    pub valid_until: Option<Timestamp>,
    pub architectures: Vec<String>,
    pub components: Vec<String>,
    /// `Acquire-By-Hash: yes`: indexes can be fetched as `<dir>/by-hash/SHA256/<hex>`.
    pub acquire_by_hash: bool,
    pub sha256: Vec<IndexEntry>,
}

impl Release {
    /// Parses the (already verified) text of a Release file; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Release, Error> {
        let p = parse_paragraph(text, source)?;
        let field_err = |field: &str, reason: String| Error::Field {
            file: source.to_string(),
            paragraph: "Release".into(),
            field: field.to_string(),
            reason,
        };
        let get = |name: &str| p.get(name).map(str::to_string);
        let date_field = |name: &str| -> Result<Option<Timestamp>, Error> {
            p.get(name).map(|v| parse_date(v).map_err(|reason| field_err(name, reason))).transpose()
        };
        let date = date_field("Date")?.ok_or_else(|| field_err("Date", "missing".into()))?;
        let list =
            |name: &str| p.get(name).map(|v| v.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
        let mut sha256 = Vec::new();
        for line in p.get("SHA256").unwrap_or("").lines().filter(|l| !l.trim().is_empty()) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [hash, size, path] = parts[..] else {
                return Err(field_err("SHA256", format!("expected `<sha256> <size> <path>`, found `{}`", line.trim())));
            };
            let sha = Sha256Sum::parse(hash).map_err(|e| field_err("SHA256", e.to_string()))?;
            let size = size.parse().map_err(|_| field_err("SHA256", format!("invalid size `{size}` for `{path}`")))?;
            sha256.push(IndexEntry { path: path.to_string(), size, sha256: sha });
        }
        Ok(Release {
            origin: get("Origin"),
            label: get("Label"),
            suite: get("Suite"),
            codename: get("Codename"),
            version: get("Version"),
            date,
            valid_until: date_field("Valid-Until")?,
            architectures: list("Architectures"),
            components: list("Components"),
            acquire_by_hash: p.get("Acquire-By-Hash").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            sha256,
        })
    }

    /// The entry for `path` (relative to the suite directory).
    pub fn entry(&self, path: &str) -> Option<&IndexEntry> {
        self.sha256.iter().find(|e| e.path == path)
    }

    /// The components with a `Packages` index for `arch`, read from the files the hashes list, as apt
    /// does: the `Components` field is not enough (Debian's security archive says `updates/main` and
    /// serves `main/binary-amd64/Packages.xz`). Sorted, without duplicates.
    pub fn indexed_components(&self, arch: &str) -> Vec<String> {
        let dir = format!("/binary-{arch}/");
        let mut out: Vec<String> = self
            .sha256
            .iter()
            .filter_map(|e| {
                let (component, name) = e.path.rsplit_once(&dir)?;
                ["Packages", "Packages.xz", "Packages.gz"].contains(&name).then(|| component.to_string())
            })
            .filter(|c| !c.is_empty() && !c.contains("debian-installer"))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Refuses a Release whose `Valid-Until` is before `now`, or whose `Date` is more than a day
    /// after `now` (a clock far off, or a replayed file from the future).
    pub fn check_fresh(&self, now: Timestamp, source: &str) -> Result<(), Error> {
        if let Some(valid_until) = self.valid_until
            && valid_until < now
        {
            return Err(Error::Expired {
                file: source.to_string(),
                valid_until: valid_until.to_string(),
                now: now.to_string(),
            });
        }
        if self.date.as_second() > now.as_second() + 86_400 {
            return Err(Error::NotYetValid {
                file: source.to_string(),
                date: self.date.to_string(),
                now: now.to_string(),
            });
        }
        Ok(())
    }
}

/// Parses the RFC 2822 dates of Release files (`Sat, 10 Jan 2026 09:58:05 UTC`).
pub fn parse_date(value: &str) -> Result<Timestamp, String> {
    jiff::fmt::rfc2822::parse(value.trim())
        .map(|z| z.timestamp())
        .map_err(|e| format!("invalid date `{}`: {e}", value.trim()))
}

/// Formats a timestamp the way Release files write it.
pub fn format_date(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S UTC").to_string()
}

impl Release {
    /// Checks an `InRelease` file against `keyring`, parses the signed text and refuses it when
    /// expired (`now` past `Valid-Until`). `file` names it in errors (a URL or path).
    pub fn from_inrelease(
        keyring: &crate::Keyring,
        data: &[u8],
        file: &str,
        now: Timestamp,
    ) -> Result<(Release, crate::VerifiedText), Error> {
        let verified = crate::signature::verify_cleartext(keyring, data, file, now)?;
        let release = Release::parse(&verified.text, file)?;
        release.check_fresh(now, file)?;
        Ok((release, verified))
    }

    /// Same for a `Release` file and its detached `Release.gpg`.
    pub fn from_detached(
        keyring: &crate::Keyring,
        data: &[u8],
        signature: &[u8],
        file: &str,
        now: Timestamp,
    ) -> Result<(Release, Vec<crate::Signer>), Error> {
        let signers = crate::signature::verify_detached(keyring, data, signature, file, now)?;
        let text = std::str::from_utf8(data).map_err(|_| Error::Syntax {
            file: file.to_string(),
            line: 0,
            reason: "not UTF-8".into(),
        })?;
        let release = Release::parse(text, file)?;
        release.check_fresh(now, file)?;
        Ok((release, signers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "Origin: Debian\nLabel: Debian\nSuite: stable\nVersion: 12.9\nCodename: bookworm\n\
Date: Sat, 11 Jan 2025 10:52:11 UTC\nValid-Until: Sat, 18 Jan 2025 10:52:11 UTC\nAcquire-By-Hash: yes\n\
Architectures: all amd64 arm64\nComponents: main contrib\nDescription: Debian 12.9 Released 11 January 2025\n\
MD5Sum:\n 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all\n\
SHA256:\n 3957f28db16e3f28c7b34ae84f1c929c567de6970f3f1b95dac9b498dd80fe63   738242 contrib/Contents-all\n \
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855        0 main/binary-amd64/Packages\n";

    #[test]
    fn parses_release() -> Result<(), Error> {
        let r = Release::parse(RELEASE, "Release")?;
        assert_eq!(r.codename.as_deref(), Some("bookworm"));
        assert_eq!(r.suite.as_deref(), Some("stable"));
        assert_eq!(r.architectures, ["all", "amd64", "arm64"]);
        assert_eq!(r.components, ["main", "contrib"]);
        assert_eq!(r.indexed_components("amd64"), ["main"]);
        assert!(r.indexed_components("arm64").is_empty());
        assert!(r.acquire_by_hash);
        assert_eq!(r.sha256.len(), 2);
        let e = r.entry("main/binary-amd64/Packages").map(|e| (e.size, e.sha256));
        assert_eq!(e, Some((0, Sha256Sum::of(b""))));
        assert_eq!(format_date(r.date), "Sat, 11 Jan 2025 10:52:11 UTC");
        let later: Timestamp = "2025-01-19T00:00:00Z".parse().map_err(|_| Error::Unsupported("ts".into()))?;
        let err = r.check_fresh(later, "Release").map_err(|e| e.to_string());
        assert!(err.as_ref().is_err_and(|e| e.contains("expired")), "{err:?}");
        let ok: Timestamp = "2025-01-12T00:00:00Z".parse().map_err(|_| Error::Unsupported("ts".into()))?;
        assert!(r.check_fresh(ok, "Release").is_ok());
        let early: Timestamp = "2025-01-01T00:00:00Z".parse().map_err(|_| Error::Unsupported("ts".into()))?;
        assert!(r.check_fresh(early, "Release").is_err());
        Ok(())
    }

    #[test]
    fn rejects_bad_fields() {
        for (bad, field) in [
            (RELEASE.replace("Date: Sat, 11 Jan 2025 10:52:11 UTC\n", ""), "Date"),
            (RELEASE.replace("Sat, 18 Jan", "Sat, 99 Jan"), "Valid-Until"),
            (RELEASE.replace("   738242 ", " x "), "SHA256"),
            (RELEASE.replace("3957f28d", "zz"), "SHA256"),
        ] {
            match Release::parse(&bad, "Release") {
                Err(Error::Field { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
