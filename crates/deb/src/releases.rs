//! Debian's (and Ubuntu's) releases by version and codename: the one table the builder (os-release of
//! images), the SBOM readers (SBOMs carry `debian-12`, trackers say `bookworm`) and the scanner share.

/// Debian releases: (major version, codename), oldest first. 14 and 15 are announced codenames.
pub const DEBIAN: &[(&str, &str)] = &[
    ("7", "wheezy"),
    ("8", "jessie"),
    ("9", "stretch"),
    ("10", "buster"),
    ("11", "bullseye"),
    ("12", "bookworm"),
    ("13", "trixie"),
    ("14", "forky"),
    ("15", "duke"),
];

/// Ubuntu releases the scanner meets in SBOMs and OSV records: (version, codename), LTS and recent.
pub const UBUNTU: &[(&str, &str)] = &[
    ("14.04", "trusty"),
    ("16.04", "xenial"),
    ("18.04", "bionic"),
    ("20.04", "focal"),
    ("22.04", "jammy"),
    ("24.04", "noble"),
    ("24.10", "oracular"),
    ("25.04", "plucky"),
    ("25.10", "questing"),
    ("26.04", "resolute"),
];

/// The Debian codename of a `VERSION_ID` (`12`, `12.9`, `13`): `bookworm`.
pub fn debian_codename(version_id: &str) -> Option<&'static str> {
    let major = version_id.trim().split('.').next()?;
    DEBIAN.iter().find(|(v, _)| *v == major).map(|(_, c)| *c)
}

/// The Debian major version of a codename (`bookworm` → `12`).
pub fn debian_version(codename: &str) -> Option<&'static str> {
    let codename = codename.trim().to_ascii_lowercase();
    DEBIAN.iter().find(|(_, c)| *c == codename).map(|(v, _)| *v)
}

/// The Ubuntu codename of a version (`22.04` → `jammy`).
pub fn ubuntu_codename(version_id: &str) -> Option<&'static str> {
    UBUNTU.iter().find(|(v, _)| *v == version_id.trim()).map(|(_, c)| *c)
}

/// The Ubuntu version of a codename (`jammy` → `22.04`).
pub fn ubuntu_version(codename: &str) -> Option<&'static str> {
    let codename = codename.trim().to_ascii_lowercase();
    UBUNTU.iter().find(|(_, c)| *c == codename).map(|(v, _)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways() {
        assert_eq!(debian_codename("12.9"), Some("bookworm"));
        assert_eq!(debian_codename("10"), Some("buster"));
        assert_eq!(debian_version("Trixie"), Some("13"));
        assert_eq!(debian_codename("99"), None);
        assert_eq!(ubuntu_codename("22.04"), Some("jammy"));
        assert_eq!(ubuntu_version("noble"), Some("24.04"));
    }
}
