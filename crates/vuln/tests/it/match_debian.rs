//! The matcher on real data: the Debian Security Tracker's DSA/DLA lists (fixtures copied from
//! ../shared/vulndata, see their SOURCE.md) and real package versions of bookworm and trixie.
//!
//! Each expected result below was worked out by hand from `DSA-list`: the advisory's `[bookworm]`
//! line gives the fixed source version, and a package is affected when its source version is lower
//! (dpkg order). The cases are the ones vulndata/README.md lists, plus edge cases of the data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use pare_sbom::{Inventory, OsRelease, Package, Subject, Tool};
use pare_vuln::matcher::{Finding, MatchOptions, match_inventory};
use pare_vuln::{Advisory, Cvss, Ecosystem, Lookup, Status};

struct Lists(Vec<Advisory>);

impl Lookup for Lists {
    fn advisories(&self, ecosystem: Ecosystem, package: &str) -> pare_vuln::Result<std::sync::Arc<Vec<Advisory>>> {
        Ok(std::sync::Arc::new(
            self.0
                .iter()
                .filter(|a| a.affected.iter().any(|x| x.ecosystem == ecosystem && x.package == package))
                .cloned()
                .collect(),
        ))
    }
    fn cvss(&self, _id: &str) -> pare_vuln::Result<Vec<Cvss>> {
        Ok(Vec::new())
    }
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vulndata/debian-tracker-lists-merged");
        let mut all = Vec::new();
        for name in ["DSA-list", "DLA-list"] {
            let parsed = pare_vuln::source::read_source(&dir.join(name)).unwrap();
            assert!(
                parsed.advisories.len() > 4000,
                "{name}: {} advisories, warnings {:?}",
                parsed.advisories.len(),
                &parsed.warnings[..parsed.warnings.len().min(5)]
            );
            all.extend(parsed.advisories);
        }
        Lists(all)
    })
}

fn os(version_id: &str, codename: &str) -> OsRelease {
    OsRelease::parse(&format!("ID=debian\nVERSION_ID=\"{version_id}\"\nVERSION_CODENAME={codename}\n"))
}

fn deb(name: &str, version: &str, source: Option<(&str, &str)>) -> Package {
    Package {
        ecosystem: "deb".into(),
        name: name.into(),
        version: version.into(),
        source_name: source.map(|s| s.0.to_string()),
        source_version: source.map(|s| s.1.to_string()),
        architecture: Some("amd64".into()),
        purl: format!("pkg:deb/debian/{name}@{version}?arch=amd64"),
        licenses: Vec::new(),
        files: Vec::new(),
        locations: Vec::new(),
        checksums: Vec::new(),
        download_location: None,
    }
}

fn scan(os: Option<OsRelease>, packages: Vec<Package>) -> (Vec<Finding>, Vec<String>) {
    let inventory = Inventory {
        subject: Subject { name: "test".into(), digest: None },
        os,
        packages,
        tool: Tool::default(),
        created: None,
    };
    let m = match_inventory(&inventory, lists(), &MatchOptions::default()).unwrap();
    (m.findings, m.warnings)
}

fn bookworm(name: &str, version: &str, source: Option<(&str, &str)>) -> Vec<Finding> {
    scan(Some(os("12", "bookworm")), vec![deb(name, version, source)]).0
}

fn ids(findings: &[Finding]) -> BTreeSet<String> {
    findings.iter().map(|f| f.id.clone()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const DSA_6335: [&str; 9] = [
    "CVE-2026-7383",
    "CVE-2026-9076",
    "CVE-2026-34180",
    "CVE-2026-34182",
    "CVE-2026-42766",
    "CVE-2026-42770",
    "CVE-2026-45445",
    "CVE-2026-45446",
    "CVE-2026-45447",
];
const DSA_6201: [&str; 6] =
    ["CVE-2026-28387", "CVE-2026-28388", "CVE-2026-28389", "CVE-2026-28390", "CVE-2026-31789", "CVE-2026-31790"];
const DSA_6113: [&str; 8] = [
    "CVE-2025-15467",
    "CVE-2025-68160",
    "CVE-2025-69418",
    "CVE-2025-69419",
    "CVE-2025-69420",
    "CVE-2025-69421",
    "CVE-2026-22795",
    "CVE-2026-22796",
];

#[test]
fn case_01_openssl_3_0_19_deb12u2_has_only_dsa_6335() {
    let f = bookworm("libssl3", "3.0.19-1~deb12u2", Some(("openssl", "3.0.19-1~deb12u2")));
    assert_eq!(ids(&f), set(&DSA_6335));
    for finding in &f {
        assert_eq!(finding.fixed_versions, vec!["3.0.20-1~deb12u2".to_string()]);
        assert!(finding.aliases.contains(&"DSA-6335-1".to_string()), "{:?}", finding.aliases);
        assert_eq!(finding.status, Status::Fixed);
        assert_eq!(finding.release.as_deref(), Some("bookworm"));
        assert_eq!(finding.package.source_name.as_deref(), Some("openssl"));
    }
}

#[test]
fn case_02_openssl_3_0_17_deb12u2_from_bookworm_updates() {
    let f = bookworm("libssl3", "3.0.17-1~deb12u2", Some(("openssl", "3.0.17-1~deb12u2")));
    let mut want = set(&DSA_6335);
    want.extend(set(&DSA_6201));
    want.extend(set(&DSA_6113));
    want.extend(set(&["CVE-2025-9230", "CVE-2025-9232"]));
    assert_eq!(ids(&f), want);
    let cve = f.iter().find(|x| x.id == "CVE-2025-9230").unwrap();
    assert_eq!(cve.fixed_versions, vec!["3.0.17-1~deb12u3".to_string()]);
    assert_eq!(cve.aliases, vec!["DSA-6015-1".to_string()]);
}

#[test]
fn case_03_openssl_at_the_last_fixed_version_has_none() {
    assert!(bookworm("libssl3", "3.0.20-1~deb12u2", Some(("openssl", "3.0.20-1~deb12u2"))).is_empty());
    assert!(bookworm("openssl", "3.0.22-1~deb12u2", None).is_empty());
}

#[test]
fn case_04_openssl_3_0_11_deb12u1_is_before_dsa_5532_and_dsa_5764() {
    let f = bookworm("libssl3", "3.0.11-1~deb12u1", Some(("openssl", "3.0.11-1~deb12u1")));
    let got = ids(&f);
    assert!(got.contains("CVE-2023-5363") && got.contains("CVE-2024-6119"), "{got:?}");
    assert_eq!(got.len(), 2 + 2 + 8 + 6 + 9);
}

#[test]
fn case_05_openssh_deb12u7_has_cve_2026_3497() {
    let f = bookworm("openssh-client", "1:9.2p1-2+deb12u7", Some(("openssh", "1:9.2p1-2+deb12u7")));
    assert_eq!(ids(&f), set(&["CVE-2026-3497"]));
    assert_eq!(f[0].fixed_versions, vec!["1:9.2p1-2+deb12u9".to_string()]);
}

#[test]
fn case_06_openssh_deb12u2_has_regresshion() {
    let f = bookworm("openssh-server", "1:9.2p1-2+deb12u2", Some(("openssh", "1:9.2p1-2+deb12u2")));
    // DSA-5586-1 (CVE-2023-48795, CVE-2023-51385) is fixed in deb12u2 itself.
    assert_eq!(ids(&f), set(&["CVE-2024-6387", "CVE-2025-26465", "CVE-2026-3497"]));
    let regresshion = f.iter().find(|x| x.id == "CVE-2024-6387").unwrap();
    assert_eq!(regresshion.aliases, vec!["DSA-5724-1".to_string()]);
}

#[test]
fn case_07_openssh_current_candidate_has_none() {
    assert!(bookworm("openssh-client", "1:9.2p1-2+deb12u10", Some(("openssh", "1:9.2p1-2+deb12u10"))).is_empty());
}

#[test]
fn case_08_glibc_before_looney_tunables() {
    let f = bookworm("libc6", "2.36-9+deb12u2", Some(("glibc", "2.36-9+deb12u2")));
    assert_eq!(
        ids(&f),
        set(&[
            "CVE-2023-4911",
            "CVE-2023-6246",
            "CVE-2023-6779",
            "CVE-2023-6780",
            "CVE-2024-2961",
            "CVE-2024-33599",
            "CVE-2024-33600",
            "CVE-2024-33601",
            "CVE-2024-33602"
        ])
    );
}

#[test]
fn case_09_glibc_at_dsa_5514_fix() {
    let got = ids(&bookworm("libc6", "2.36-9+deb12u3", Some(("glibc", "2.36-9+deb12u3"))));
    assert!(!got.contains("CVE-2023-4911"));
    assert!(got.contains("CVE-2023-6246"));
    assert_eq!(got.len(), 8);
}

#[test]
fn case_10_glibc_current_candidate_has_none() {
    assert!(bookworm("libc6", "2.36-9+deb12u14", Some(("glibc", "2.36-9+deb12u14"))).is_empty());
}

#[test]
fn case_11_curl_before_socks5_heap_overflow() {
    let f = bookworm("curl", "7.88.1-10+deb12u3", None);
    assert_eq!(ids(&f), set(&["CVE-2023-38545", "CVE-2023-38546", "CVE-2023-46218"]));
}

#[test]
fn case_12_curl_at_dsa_5523_fix() {
    assert_eq!(
        ids(&bookworm("libcurl4", "7.88.1-10+deb12u4", Some(("curl", "7.88.1-10+deb12u4")))),
        set(&["CVE-2023-46218"])
    );
}

#[test]
fn case_13_curl_first_bookworm_version_includes_a_dsa_without_cves() {
    // DSA-5460-1 names no CVE in the list, so the DSA itself is the finding's id.
    let got = ids(&bookworm("curl", "7.88.1-10", None));
    assert!(got.contains("DSA-5460-1"), "{got:?}");
    assert!(got.contains("CVE-2023-38545"));
}

#[test]
fn case_14_binnmu_version_without_source_version_is_stripped() {
    // bsdutils 2.38.1-5+b1: source util-linux 2.38.1-5 < 2.38.1-5+deb12u1 (DSA-5650-1).
    let f = bookworm("bsdutils", "1:2.38.1-5+b1", Some(("util-linux", "2.38.1-5")));
    assert!(ids(&f).contains("CVE-2024-28085"));
    let f = bookworm("util-linux", "2.38.1-5+b1", None);
    assert!(ids(&f).contains("CVE-2024-28085"), "binNMU suffix stripped to the source version");
    assert_eq!(f[0].package.source_version.as_deref(), Some("2.38.1-5"));
}

#[test]
fn case_15_systemd() {
    assert_eq!(
        ids(&bookworm("libsystemd0", "252.36-1~deb12u1", Some(("systemd", "252.36-1~deb12u1")))),
        set(&["CVE-2025-4598"])
    );
    assert!(bookworm("libsystemd0", "252.38-1~deb12u1", Some(("systemd", "252.38-1~deb12u1"))).is_empty());
}

#[test]
fn case_16_xz_fixed_version_without_deb12u_suffix() {
    // DSA-5895-1: [bookworm] - xz-utils 5.4.1-1; bookworm shipped 5.4.1-0.2.
    assert_eq!(ids(&bookworm("liblzma5", "5.4.1-0.2", Some(("xz-utils", "5.4.1-0.2")))), set(&["CVE-2025-31115"]));
    assert!(bookworm("liblzma5", "5.4.1-1", Some(("xz-utils", "5.4.1-1"))).is_empty());
}

#[test]
fn case_17_krb5_deb12u3() {
    let got = ids(&bookworm("libkrb5-3", "1.20.1-2+deb12u3", Some(("krb5", "1.20.1-2+deb12u3"))));
    assert_eq!(got, set(&["CVE-2026-40355", "CVE-2026-40356"]));
}

#[test]
fn case_18_libgcrypt20() {
    let f = bookworm("libgcrypt20", "1.10.1-3", None);
    assert_eq!(ids(&f), set(&["CVE-2026-41989"]));
    assert_eq!(f[0].fixed_versions, vec!["1.10.1-3+deb12u1".to_string()]);
}

#[test]
fn case_19_gnutls_deb12u6_has_dsa_6281() {
    let f = bookworm("libgnutls30", "3.7.9-2+deb12u6", Some(("gnutls28", "3.7.9-2+deb12u6")));
    assert_eq!(f.len(), 12, "{:?}", ids(&f));
    assert!(f.iter().all(|x| x.aliases.contains(&"DSA-6281-1".to_string())));
}

#[test]
fn case_20_trixie_uses_trixie_lines() {
    // DSA-6015-1: [trixie] - openssl 3.5.1-1+deb13u1; DSA-6335-1: [trixie] 3.5.6-1~deb13u2.
    let (f, _) = scan(
        Some(os("13", "trixie")),
        vec![deb("libssl3t64", "3.5.1-1+deb13u1", Some(("openssl", "3.5.1-1+deb13u1")))],
    );
    let got = ids(&f);
    assert!(!got.contains("CVE-2025-9230"));
    assert!(got.contains("CVE-2026-7383"));
    assert!(f.iter().all(|x| x.release.as_deref() == Some("trixie")));
}

#[test]
fn case_21_bookworm_lines_do_not_apply_to_bullseye() {
    // DSA-5523-1 gives bullseye curl 7.74.0-1.3+deb11u10; a bookworm version string on bullseye is
    // compared against the bullseye line only.
    let (f, _) = scan(Some(os("11", "bullseye")), vec![deb("curl", "7.74.0-1.3+deb11u10", None)]);
    assert!(!ids(&f).contains("CVE-2023-38545"));
}

#[test]
fn case_22_without_a_release_packages_are_not_matched_and_the_user_is_told() {
    let (f, warnings) = scan(None, vec![deb("libssl3", "3.0.11-1~deb12u1", Some(("openssl", "3.0.11-1~deb12u1")))]);
    assert!(f.is_empty());
    assert!(warnings.iter().any(|w| w.contains("--distro")), "{warnings:?}");
    // --distro supplies it.
    let inventory = Inventory {
        subject: Subject { name: "t".into(), digest: None },
        os: None,
        packages: vec![deb("libssl3", "3.0.11-1~deb12u1", Some(("openssl", "3.0.11-1~deb12u1")))],
        tool: Tool::default(),
        created: None,
    };
    let m = match_inventory(&inventory, lists(), &MatchOptions { release: Some("debian-12".into()) }).unwrap();
    assert!(ids(&m.findings).contains("CVE-2023-5363"));
}

#[test]
fn case_23_severity_is_unknown_without_cvss_or_urgency() {
    let f = bookworm("libgcrypt20", "1.10.1-3", None);
    assert_eq!(f[0].severity, pare_vuln::Severity::Unknown);
}

#[test]
fn case_24_severity_comes_from_the_cve_record_cvss_and_is_labelled() {
    // DSA-5863-1: [bookworm] - libtasn1-6 4.19.0-2+deb12u1; CVE-2024-12133's CNA record carries
    // CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L, base 5.3 (medium).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vulndata/cve-records/cveawg-api-2025-02-13");
    let parsed = pare_vuln::source::read_source(&dir.join("CVE-2024-12133.json")).unwrap();
    let lookup = pare_vuln::MemoryLookup::new(lists().0.clone(), parsed.cvss);
    let inventory = Inventory {
        subject: Subject { name: "t".into(), digest: None },
        os: Some(os("12", "bookworm")),
        packages: vec![deb("libtasn1-6", "4.19.0-2", None)],
        tool: Tool::default(),
        created: None,
    };
    let m = match_inventory(&inventory, &lookup, &MatchOptions::default()).unwrap();
    assert_eq!(ids(&m.findings), set(&["CVE-2024-12133"]));
    let f = &m.findings[0];
    assert_eq!(f.severity, pare_vuln::Severity::Medium);
    match &f.severity_source {
        pare_vuln::matcher::SeveritySource::Cvss { version, score, vector } => {
            assert_eq!((version.as_str(), *score), ("3.1", 5.3));
            assert!(vector.starts_with("CVSS:3.1/AV:N"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f.severity_source.label(), "CVSS 3.1 5.3");
}

fn tracker_scan(codename: &str, version_id: &str, packages: Vec<Package>) -> Vec<Finding> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vulndata/debian-tracker-json-samples/vunnel/debian.json");
    let parsed = pare_vuln::source::read_source(&path).unwrap();
    let lookup = pare_vuln::MemoryLookup::new(parsed.advisories, Vec::new());
    let inventory = Inventory {
        subject: Subject { name: "t".into(), digest: None },
        os: Some(os(version_id, codename)),
        packages,
        tool: Tool::default(),
        created: None,
    };
    match_inventory(&inventory, &lookup, &MatchOptions::default()).unwrap().findings
}

#[test]
fn case_25_tracker_json_statuses_and_urgency() {
    // prototypejs in buster: CVE-2008-7220 resolved in 1.6.0.2-1, urgency `high**` (estimated);
    // CVE-2007-2383 has fixed_version 0 (never affected) — so 1.6.0.1-1 has the first only.
    let f = tracker_scan("buster", "10", vec![deb("libjs-prototype", "1.6.0.1-1", Some(("prototypejs", "1.6.0.1-1")))]);
    assert_eq!(ids(&f), set(&["CVE-2008-7220"]));
    assert_eq!(f[0].severity, pare_vuln::Severity::High);
    assert_eq!(f[0].severity_source.label(), "Debian urgency high**");
    assert!(
        tracker_scan("buster", "10", vec![deb("libjs-prototype", "1.7.1-3", Some(("prototypejs", "1.7.1-3")))])
            .is_empty()
    );
    // chromium in buster: CVE-2022-0456 open with urgency end-of-life — surfaced as end-of-life.
    let f = tracker_scan("buster", "10", vec![deb("chromium", "90.0.4430.212-1~deb10u1", None)]);
    let eol = f.iter().find(|x| x.id == "CVE-2022-0456").unwrap();
    assert_eq!(eol.status, Status::EndOfLife);
    assert!(eol.fixed_versions.is_empty());
}

/// The lists with a match cache, as a server's database keeps one.
struct Cached(pare_vuln::matcher::MatchCache);

impl Lookup for Cached {
    fn advisories(&self, ecosystem: Ecosystem, package: &str) -> pare_vuln::Result<std::sync::Arc<Vec<Advisory>>> {
        lists().advisories(ecosystem, package)
    }
    fn cvss(&self, id: &str) -> pare_vuln::Result<Vec<Cvss>> {
        lists().cvss(id)
    }
    fn match_cache(&self) -> Option<&pare_vuln::matcher::MatchCache> {
        Some(&self.0)
    }
}

/// A package version matched once and taken from the cache after gives what matching it again gives:
/// the same findings, each package under its own name, and the same warnings.
#[test]
fn cached_matches_equal_fresh_ones() {
    let packages = vec![
        deb("libssl3", "3.0.17-1~deb12u2", Some(("openssl", "3.0.17-1~deb12u2"))),
        deb("openssl", "3.0.17-1~deb12u2", Some(("openssl", "3.0.17-1~deb12u2"))),
        deb("libssl3", "3.0.19-1~deb12u2", Some(("openssl", "3.0.19-1~deb12u2"))),
        deb("libc6", "2.36-9+deb12u1", Some(("glibc", "2.36-9+deb12u1"))),
        // A version dpkg cannot read: a warning per record, for each package that has it.
        deb("curl", "not a version!", Some(("curl", "not a version!"))),
        deb("libcurl4", "not a version!", Some(("curl", "not a version!"))),
    ];
    let inventory = Inventory {
        subject: Subject { name: "test".into(), digest: None },
        os: Some(os("12", "bookworm")),
        packages,
        tool: Tool::default(),
        created: None,
    };
    let fresh = match_inventory(&inventory, lists(), &MatchOptions::default()).unwrap();
    let cached = Cached(pare_vuln::matcher::MatchCache::new("matches", 100));
    for round in 0..2 {
        let got = match_inventory(&inventory, &cached, &MatchOptions::default()).unwrap();
        assert_eq!(got.findings, fresh.findings, "round {round}");
        assert_eq!(got.warnings, fresh.warnings, "round {round}");
    }
    assert_eq!(cached.0.len(), 4, "one entry per source version");
    assert!(fresh.findings.iter().any(|f| f.package.name == "openssl"));
    assert!(fresh.findings.iter().any(|f| f.package.name == "libssl3"));
    assert!(fresh.warnings.iter().any(|w| w.starts_with("libcurl4 not a version!")), "{:?}", fresh.warnings);
    assert!(fresh.warnings.iter().any(|w| w.starts_with("curl not a version!")), "{:?}", fresh.warnings);
}
