//! The source readers on real data (fixtures copied from ../shared/vulndata, see each SOURCE.md) and on
//! malformed input: errors or counted warnings naming file and line, never a panic, never a silent drop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use pare_vuln::source::{self, Parsed, SourceKind};
use pare_vuln::{Ecosystem, Event, Lookup, MemoryLookup, Origin, RangeKind, Severity, Status, read_source};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vulndata")
}

fn find<'a>(p: &'a Parsed, id: &str) -> &'a pare_vuln::Advisory {
    p.advisories.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id} not read"))
}

#[test]
fn dsa_list_whole() {
    let p = read_source(&fixtures().join("debian-tracker-lists-merged/DSA-list")).unwrap();
    assert_eq!(p.kinds, [SourceKind::DsaList]);
    // README: 6,024 DSA entries; every header becomes an advisory.
    assert_eq!(p.advisories.len(), 6024, "warnings: {:?}", &p.warnings[..p.warnings.len().min(5)]);
    let a = find(&p, "DSA-5724-1");
    assert_eq!(a.origin, Origin::DebianDsa);
    assert_eq!(a.aliases, ["CVE-2024-6387"]);
    assert_eq!(a.published.as_deref(), Some("2024-07-01"));
    assert_eq!(a.summary.as_deref(), Some("openssh - security update"));
    assert_eq!(a.affected.len(), 1);
    let x = &a.affected[0];
    assert_eq!(
        (x.ecosystem, x.release.as_deref(), x.package.as_str()),
        (Ecosystem::Debian, Some("bookworm"), "openssh")
    );
    assert_eq!(x.status, Status::Fixed);
    assert_eq!(x.ranges[0].kind, RangeKind::Ecosystem);
    assert_eq!(x.ranges[0].events, [Event::Introduced("0".into()), Event::Fixed("1:9.2p1-2+deb12u3".into())]);
    // `[jessie] - virtualbox <end-of-life>` (line 9318) and `<not-affected>` with a comment.
    let eol = p
        .advisories
        .iter()
        .flat_map(|a| &a.affected)
        .find(|x| x.package == "virtualbox" && x.release.as_deref() == Some("jessie"));
    assert_eq!(eol.map(|x| x.status), Some(Status::EndOfLife));
    let na: Vec<_> =
        p.advisories.iter().flat_map(|a| &a.affected).filter(|x| x.status == Status::NotAffected).collect();
    assert!(na.len() > 40, "{}", na.len());
    assert!(na.iter().any(|x| x.note.as_deref() == Some("Vulnerable code not present")));
    let unfixed = p.advisories.iter().flat_map(|a| &a.affected).filter(|x| x.status == Status::Unfixed).count();
    assert!(unfixed >= 2, "{unfixed}");
    // `(medium)` after an old fixed version is the urgency, NOTE lines land on the entries.
    assert!(p.advisories.iter().flat_map(|a| &a.affected).any(|x| x.urgency.as_deref() == Some("medium")));
    assert!(
        p.advisories
            .iter()
            .flat_map(|a| &a.affected)
            .any(|x| x.note.as_deref().is_some_and(|n| n.contains("fixed in testing at time of DSA")))
    );
    // Every line that was not understood is a warning with file:line.
    for w in &p.warnings {
        assert!(w.contains("DSA-list:"), "{w}");
    }
    assert!(p.warnings.len() < 20, "{:#?}", p.warnings);
}

#[test]
fn dla_list_and_the_2026_cases() {
    let p = read_source(&fixtures().join("debian-tracker-lists-merged/DLA-list")).unwrap();
    assert_eq!(p.kinds, [SourceKind::DlaList]);
    assert_eq!(p.advisories.len(), 4890);
    assert!(p.advisories.iter().all(|a| a.origin == Origin::DebianDla));
    let dsa = read_source(&fixtures().join("debian-tracker-lists-merged/DSA-list")).unwrap();
    let lookup = MemoryLookup::from_parsed(dsa);
    let openssh = lookup.advisories(Ecosystem::Debian, "openssh").unwrap();
    let ids: Vec<&str> = openssh.iter().map(|a| a.id.as_str()).collect();
    assert!(ids.contains(&"DSA-5724-1") && ids.contains(&"DSA-6204-1"), "{ids:?}");
    assert!(openssh.iter().all(|a| a.affected.iter().all(|x| x.package == "openssh")));
    let openssl = lookup.advisories(Ecosystem::Debian, "openssl").unwrap();
    let a = openssl.iter().find(|a| a.id == "DSA-6015-1").unwrap();
    assert!(a.aliases.contains(&"CVE-2025-9230".to_string()));
    assert!(a.affected.iter().any(|x| x.ranges[0].events.contains(&Event::Fixed("3.0.17-1~deb12u3".into()))));
}

#[test]
fn tracker_json_statuses() {
    let p =
        read_source(&fixtures().join("debian-tracker-json-samples/osv.dev/debian_security_tracker_mock.json")).unwrap();
    assert_eq!(p.kinds, [SourceKind::TrackerJson]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let a = find(&p, "CVE-2014-1424");
    assert_eq!(a.origin, Origin::DebianTracker);
    let bookworm = a.affected.iter().find(|x| x.release.as_deref() == Some("bookworm")).unwrap();
    // fixed_version "0": not affected; urgency kept.
    assert_eq!((bookworm.package.as_str(), bookworm.status), ("apparmor", Status::NotAffected));
    assert_eq!(bookworm.urgency.as_deref(), Some("unimportant"));
    assert!(p.advisories.iter().flat_map(|a| &a.affected).any(|x| x.status == Status::Unfixed));

    let v = read_source(&fixtures().join("debian-tracker-json-samples/vunnel/debian.json")).unwrap();
    assert_eq!(v.kinds, [SourceKind::TrackerJson]);
    let all: Vec<_> = v.advisories.iter().flat_map(|a| a.affected.iter().map(move |x| (a.id.as_str(), x))).collect();
    // urgency "end-of-life" on an open issue: end of life, not unfixed.
    assert!(all.iter().any(|(_, x)| x.status == Status::EndOfLife && x.urgency.as_deref() == Some("end-of-life")));
    let sope = all.iter().find(|(id, x)| *id == "CVE-2025-53603" && x.release.as_deref() == Some("bookworm")).unwrap();
    assert_eq!(sope.1.package, "sope");
    // resolved with a version: a fixed range.
    let fixed = all.iter().find(|(id, x)| *id == "CVE-2008-7220" && x.release.as_deref() == Some("buster")).unwrap();
    assert_eq!(fixed.1.status, Status::Fixed);
    assert_eq!(fixed.1.ranges[0].events[1], Event::Fixed("1.6.0.2-1".into()));
    assert_eq!(fixed.1.urgency.as_deref(), Some("high**"));
}

#[test]
fn osv_directories_per_ecosystem() {
    let go = read_source(&fixtures().join("go-vulndb")).unwrap();
    assert_eq!(go.kinds, [SourceKind::Osv]);
    assert_eq!(go.advisories.len(), 29, "{:?}", go.warnings);
    assert!(go.advisories.iter().all(|a| a.affected.iter().all(|x| x.ecosystem == Ecosystem::Go)));

    let py = read_source(&fixtures().join("pypi-advisory-database")).unwrap();
    // 29 records, 2 of them withdrawn (skipped, each a warning).
    assert_eq!(py.advisories.len(), 27, "{:?}", py.warnings);
    assert_eq!(py.warnings.len(), 2, "{:?}", py.warnings);
    assert!(py.warnings.iter().all(|w| w.contains(".yaml: PYSEC-") && w.ends_with("is withdrawn; skipped")));
    assert!(py.advisories.iter().all(|a| a.id.starts_with("PYSEC-")));
    assert!(py.advisories.iter().all(|a| a.affected.iter().all(|x| x.ecosystem == Ecosystem::PyPI)));

    let rs = read_source(&fixtures().join("rustsec-advisory-db")).unwrap();
    assert_eq!(rs.advisories.len(), 30, "{:?}", rs.warnings);
    let a = find(&rs, "RUSTSEC-2016-0001");
    assert_eq!(a.aliases, ["CVE-2016-10931", "GHSA-34p9-f4q3-c4r7"]);
    assert_eq!(a.cvss[0].vector, "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H");
    assert_eq!(a.cvss[0].base_score, 8.1);
    assert_eq!(a.affected[0].package, "openssl");
    assert_eq!(a.affected[0].status, Status::Fixed);
    // The score is known under the record's id and its CVE alias.
    let lookup = MemoryLookup::from_parsed(rs);
    assert_eq!(lookup.cvss("CVE-2016-10931").unwrap()[0].base_score, 8.1);
    assert_eq!(lookup.cvss("RUSTSEC-2016-0001").unwrap().len(), 1);

    // Debian OSV: `Debian:3.0` has no codename pare knows; `Debian:7` is wheezy.
    let deb = read_source(&fixtures().join("debian-osv-samples")).unwrap();
    assert!(!deb.advisories.is_empty());
    let releases: Vec<_> = deb.advisories.iter().flat_map(|a| &a.affected).filter_map(|x| x.release.clone()).collect();
    assert!(releases.iter().any(|r| r == "wheezy" || r == "3.0"), "{releases:?}");
}

#[test]
fn pypi_yaml_keeps_versions_as_written() {
    // A YAML plain scalar `1.10` must stay "1.10", not become the float 1.1.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("PYSEC-0000-1.yaml");
    std::fs::write(
        &f,
        "id: PYSEC-0000-1\nmodified: 2024-01-01T00:00:00Z\naffected:\n- package:\n    name: Foo_Bar\n    ecosystem: PyPI\n  versions:\n  - 1.10\n  - 2.0\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: \"0\"\n    - fixed: 1.10.1\ndatabase_specific:\n  severity: MODERATE\n",
    )
    .unwrap();
    let p = read_source(&f).unwrap();
    let a = &p.advisories[0];
    assert_eq!(a.affected[0].versions, ["1.10", "2.0"]);
    assert_eq!(a.affected[0].ranges[0].events[1], Event::Fixed("1.10.1".into()));
    assert_eq!(a.severity, Some(Severity::Medium));
    // PyPI names are looked up normalised (PEP 503).
    let lookup = MemoryLookup::from_parsed(p);
    assert_eq!(lookup.advisories(Ecosystem::PyPI, "foo-bar").unwrap().len(), 1);
}

#[test]
fn osv_zip_archive_and_unknown_ecosystems() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for f in std::fs::read_dir(fixtures().join("go-vulndb/osv")).unwrap() {
        let f = f.unwrap();
        zip.start_file(f.file_name().to_string_lossy(), options).unwrap();
        zip.write_all(&std::fs::read(f.path()).unwrap()).unwrap();
    }
    // A record whose only ecosystem pare does not know, and a broken member.
    zip.start_file("GHSA-xxxx.json", options).unwrap();
    zip.write_all(br#"{"id":"GHSA-xxxx","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Packagist","name":"a/b"}}]}"#).unwrap();
    zip.start_file("broken.json", options).unwrap();
    zip.write_all(b"{\"id\": \"X\",\n \"affected\": [").unwrap();
    zip.finish().unwrap();
    let p = read_source(&zip_path).unwrap();
    assert_eq!(p.kinds, [SourceKind::Osv]);
    assert_eq!(p.advisories.len(), 29);
    assert_eq!(p.unknown_ecosystems.get("Packagist"), Some(&1));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(p.warnings[0].contains("all.zip!broken.json:2:"), "{}", p.warnings[0]);
}

#[test]
fn cve_records_give_cvss() {
    let nvd = read_source(&fixtures().join("cve-records/osv.dev-testdata/nvdcve-2.0/CVE-2024-3094.json")).unwrap();
    assert_eq!(nvd.kinds, [SourceKind::Cve]);
    assert!(nvd.advisories.is_empty());
    assert_eq!(nvd.cvss.len(), 1);
    assert_eq!(nvd.cvss[0].0, "CVE-2024-3094");
    assert_eq!(nvd.cvss[0].1.base_score, 10.0);
    let all = read_source(&fixtures().join("cve-records")).unwrap();
    assert!(all.kinds.contains(&SourceKind::Cve));
    let lookup = MemoryLookup::from_parsed(all);
    let v4 = lookup.cvss("CVE-2025-4565").unwrap();
    assert!(v4.iter().any(|c| c.version == "4.0"), "{v4:?}");
    assert_eq!(lookup.cvss("CVE-2024-3094").unwrap().len(), 1);
}

#[test]
fn malformed_input_is_named_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // List lines: a bad date header drops its entry with a warning, odd lines are warnings with line numbers.
    let list = write(
        "DSA-list",
        "[01 Jul 2024] DSA-1-1 a - security update\n\t{CVE-1}\n\t[bookworm] - a 1.0-1\n\tgarbage here\n\t[bookworm] a 1\n[99 Foo 2024] DSA-2-1 b\n\t[bookworm] - b 1.0\n[02 Jul 2024] DSA-3-1 c - x\n\t[bookworm] - c <weird>\n\t[bookworm] - c 1:\n",
    );
    let p = read_source(&list).unwrap();
    assert_eq!(p.advisories.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["DSA-1-1", "DSA-3-1"]);
    let lines: Vec<&str> =
        p.warnings.iter().map(|w| w.split(": ").next().unwrap().rsplit(':').next().unwrap()).collect();
    assert_eq!(lines, ["4", "5", "6", "7", "9", "10"], "{:#?}", p.warnings);
    // Broken JSON names file:line:column; a wrongly typed field is a warning naming package, CVE, release.
    let bad = write(
        "tracker.json",
        "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": {\"status\": \"resolved\",\n \"fixed_version\": 3}}}},\n \"b\": ",
    );
    let e = read_source(&bad).unwrap_err().to_string();
    assert!(e.contains("tracker.json:3:6"), "{e}");
    let typed = write(
        "t1.json",
        "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": {\"status\": \"resolved\",\n \"fixed_version\": 3}}}}}",
    );
    let p = read_source(&typed).unwrap();
    assert!(p.advisories[0].affected.is_empty());
    assert!(
        p.warnings.len() == 1 && p.warnings[0].contains("t1.json: a CVE-1 bookworm: invalid type"),
        "{:?}",
        p.warnings
    );
    // Unknown tracker status: a warning naming package, CVE and release.
    let odd = write("t2.json", r#"{"a": {"CVE-1": {"releases": {"bookworm": {"status": "weird"}}}}}"#);
    let p = read_source(&odd).unwrap();
    assert!(p.warnings[0].contains("a CVE-1 bookworm") && p.warnings[0].contains("weird"), "{:?}", p.warnings);
    // Not vulnerability data at all.
    let e = crate::shown(&read_source(&write("notes.txt", "hello\n")).unwrap_err());
    assert!(e.contains("notes.txt") && e.contains("--source KIND=PATH"), "{e}");
    // Bad YAML in a directory: a warning naming the file; the good record is kept.
    let osv = dir.path().join("osv");
    std::fs::create_dir(&osv).unwrap();
    std::fs::write(osv.join("bad.yaml"), "id: X\naffected: [\n").unwrap();
    std::fs::copy(fixtures().join("rustsec-advisory-db/osv/crates/RUSTSEC-2016-0001.json"), osv.join("r.json"))
        .unwrap();
    let p = read_source(&osv).unwrap();
    assert_eq!(p.advisories.len(), 1);
    assert!(p.warnings.len() == 1 && p.warnings[0].contains("bad.yaml"), "{:?}", p.warnings);
    // Bytes that are not UTF-8 in a list.
    std::fs::write(dir.path().join("DLA-list"), b"[01 Jul 2024] DLA-1-1 a\n\t\xff\xfe\n").unwrap();
    let e = read_source(&dir.path().join("DLA-list")).unwrap_err().to_string();
    assert!(e.contains("DLA-list") && e.contains("UTF-8"), "{e}");
}

#[test]
fn detection_by_content() {
    assert_eq!(source::detect(b"[01 Jul 2024] DSA-5724-1 openssh - security update\n"), Some(SourceKind::DsaList));
    assert_eq!(source::detect(b"[01 Jul 2024] DLA-1-1 x\n"), Some(SourceKind::DlaList));
    assert_eq!(source::detect(b"PK\x03\x04...."), Some(SourceKind::Osv));
    assert_eq!(source::detect(b"id: PYSEC-1\naffected:\n"), Some(SourceKind::Osv));
    assert_eq!(source::detect(b"random"), None);
    assert_eq!(source::detect(b""), None);
}
