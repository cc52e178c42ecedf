//! The matcher on real OSV records (PyPA, Go vulndb, RustSec; fixtures copied from ../shared/vulndata
//! with their SOURCE.md): versions below, at and above each record's events, PEP 503 names, aliases
//! merged into one finding, and GHSA/CVSS severities where the records carry them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use pare_sbom::{Inventory, Package, Subject, Tool};
use pare_vuln::matcher::{Finding, MatchOptions, match_inventory};
use pare_vuln::{MemoryLookup, read_source};

fn lookup() -> &'static MemoryLookup {
    static LOOKUP: OnceLock<MemoryLookup> = OnceLock::new();
    LOOKUP.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vulndata");
        let mut advisories = Vec::new();
        let mut cvss = Vec::new();
        for dir in ["pypi-advisory-database/vulns", "go-vulndb/osv", "rustsec-advisory-db/osv"] {
            let parsed = read_source(&root.join(dir)).unwrap();
            assert!(!parsed.advisories.is_empty(), "{dir}");
            advisories.extend(parsed.advisories);
            cvss.extend(parsed.cvss);
        }
        MemoryLookup::new(advisories, cvss)
    })
}

fn package(purl_type: &str, name: &str, version: &str) -> Package {
    Package {
        ecosystem: purl_type.into(),
        name: name.into(),
        version: version.into(),
        source_name: None,
        source_version: None,
        architecture: None,
        purl: format!("pkg:{purl_type}/{name}@{version}"),
        licenses: Vec::new(),
        files: Vec::new(),
        locations: Vec::new(),
        checksums: Vec::new(),
        download_location: None,
    }
}

fn scan(packages: Vec<Package>) -> Vec<Finding> {
    let inventory = Inventory {
        subject: Subject { name: "t".into(), digest: None },
        os: None,
        packages,
        tool: Tool::default(),
        created: None,
    };
    match_inventory(&inventory, lookup(), &MatchOptions::default()).unwrap().findings
}

fn ids(findings: &[Finding]) -> BTreeSet<String> {
    findings.iter().flat_map(|f| f.ids().map(str::to_string)).collect()
}

#[test]
fn pypi_httplib2_range_and_versions() {
    // PYSEC-2014-81: introduced 0, fixed 0.9; versions list 0.7.0 … 0.8.
    for (version, hit) in [("0.7.2", true), ("0.8", true), ("0.8.1", true), ("0.9", false), ("0.10.3", false)] {
        let f = scan(vec![package("pypi", "httplib2", version)]);
        assert_eq!(ids(&f).contains("PYSEC-2014-81"), hit, "httplib2 {version}: {:?}", ids(&f));
    }
    // PEP 503: the name as a wheel spells it matches.
    assert!(ids(&scan(vec![package("pypi", "HTTPLib2", "0.8")])).contains("PYSEC-2014-81"));
}

#[test]
fn go_module_semver_ranges_with_two_intervals() {
    // GO-2022-0236 stdlib: [0, 1.15.12) and [1.16.0-0, 1.16.4).
    for (version, hit) in
        [("v1.15.11", true), ("1.15.12", false), ("v1.16.0", true), ("v1.16.3", true), ("v1.16.4", false)]
    {
        let f = scan(vec![package("golang", "stdlib", version)]);
        assert_eq!(ids(&f).contains("GO-2022-0236"), hit, "stdlib {version}: {:?}", ids(&f));
    }
    // One finding per issue: the GO id, its CVE and GHSA are one finding whose id is the CVE.
    let f = scan(vec![package("golang", "github.com/gin-gonic/gin", "v1.5.0")]);
    let gin: Vec<&Finding> = f.iter().filter(|x| x.ids().any(|i| i == "GO-2020-0001")).collect();
    assert_eq!(gin.len(), 1);
    assert_eq!(gin[0].id, "CVE-2020-36567");
    assert!(gin[0].aliases.contains(&"GHSA-6vm3-jj99-7229".to_string()));
    assert_eq!(gin[0].fixed_versions, vec!["1.6.0".to_string()]);
    assert!(
        scan(vec![package("golang", "github.com/gin-gonic/gin", "v1.6.0")])
            .iter()
            .all(|x| x.ids().all(|i| i != "GO-2020-0001"))
    );
}

#[test]
fn crates_io_semver_and_unfixed_advisories() {
    // RUSTSEC-2016-0001 openssl: [0.0.0-0, 0.9.0).
    assert!(ids(&scan(vec![package("cargo", "openssl", "0.8.3")])).contains("RUSTSEC-2016-0001"));
    assert!(!ids(&scan(vec![package("cargo", "openssl", "0.9.0")])).contains("RUSTSEC-2016-0001"));
    // RUSTSEC-2019-0005 pancurses: introduced, never fixed — every version, no fix to offer.
    let f = scan(vec![package("cargo", "pancurses", "0.17.0")]);
    let hit = f.iter().find(|x| x.ids().any(|i| i == "RUSTSEC-2019-0005")).unwrap();
    assert!(hit.fixed_versions.is_empty());
    assert_eq!(hit.status, pare_vuln::Status::Unfixed);
}

#[test]
fn packages_of_other_ecosystems_are_counted_not_matched() {
    let inventory = Inventory {
        subject: Subject { name: "t".into(), digest: None },
        os: None,
        packages: vec![package("generic", "thing", "1.0"), package("pypi", "httplib2", "0.8")],
        tool: Tool::default(),
        created: None,
    };
    let m = match_inventory(&inventory, lookup(), &MatchOptions::default()).unwrap();
    assert_eq!(m.packages_skipped.get("generic"), Some(&1));
    assert_eq!(m.packages_matched.get("PyPI"), Some(&1));
}
