//! OSV range evaluation on real records (fixtures/versions/osv: GO-2020-0004, GO-2026-5169,
//! RUSTSEC-2024-0439, PYSEC-2024-6) with installed versions just below, at and above each event, plus the
//! forms those records lack (`last_affected`, `limit`, invalid events) written after the schema's examples.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_vuln::range::check;
use pare_vuln::{Affected, Ecosystem, Event, Range, RangeKind, Status};

/// The `affected` entry for `package` of an OSV record, as the database would store it.
fn affected(file: &str, package: &str) -> Affected {
    let path = format!("{}/tests/fixtures/versions/osv/{file}", env!("CARGO_MANIFEST_DIR"));
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entry = record["affected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["package"]["name"] == package)
        .unwrap_or_else(|| panic!("{package} not in {file}"));
    let ecosystem: Ecosystem = entry["package"]["ecosystem"].as_str().unwrap().parse().unwrap();
    let ranges = entry["ranges"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| Range {
                    kind: match r["type"].as_str().unwrap() {
                        "SEMVER" => RangeKind::Semver,
                        "ECOSYSTEM" => RangeKind::Ecosystem,
                        _ => RangeKind::Git,
                    },
                    events: r["events"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| {
                            let (k, v) = e.as_object().unwrap().iter().next().unwrap();
                            let v = v.as_str().unwrap().to_string();
                            match k.as_str() {
                                "introduced" => Event::Introduced(v),
                                "fixed" => Event::Fixed(v),
                                "last_affected" => Event::LastAffected(v),
                                _ => Event::Limit(v),
                            }
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let versions = entry["versions"]
        .as_array()
        .map(|vs| vs.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    Affected {
        ecosystem,
        release: None,
        package: package.to_string(),
        status: Status::Fixed,
        ranges,
        versions,
        urgency: None,
        note: None,
        imports: Vec::new(),
    }
}

fn hand(ecosystem: Ecosystem, kind: RangeKind, events: Vec<Event>) -> Affected {
    Affected {
        ecosystem,
        release: None,
        package: "p".to_string(),
        status: Status::Fixed,
        ranges: vec![Range { kind, events }],
        versions: vec![],
        urgency: None,
        note: None,
        imports: Vec::new(),
    }
}

fn yes(a: &Affected, v: &str, fixed: &[&str]) {
    let m = check(a, v).unwrap();
    assert!(m.affected, "{v} should be affected: {m:?}");
    assert_eq!(m.fixed, fixed, "{v}");
}

fn no(a: &Affected, v: &str) {
    let m = check(a, v).unwrap();
    assert!(!m.affected, "{v} should not be affected: {m:?}");
    assert!(m.fixed.is_empty(), "{v}: {m:?}");
}

#[test]
fn go_pseudo_versions() {
    // introduced 0.0.0-20160722212129-ac0cc4484ad4, fixed 0.0.0-20200131131040-063a3fb69896 (SEMVER).
    let a = affected("GO-2020-0004.json", "github.com/nanobox-io/golang-nanoauth");
    no(&a, "v0.0.0-20160722212128-ac0cc4484ad4");
    yes(&a, "v0.0.0-20160722212129-ac0cc4484ad4", &["0.0.0-20200131131040-063a3fb69896"]);
    yes(&a, "v0.0.0-20200131131039-aaaaaaaaaaaa", &["0.0.0-20200131131040-063a3fb69896"]);
    no(&a, "v0.0.0-20200131131040-063a3fb69896");
    no(&a, "v0.0.1");
}

#[test]
fn go_several_intervals_with_prereleases() {
    let a = affected("GO-2026-5169.json", "github.com/coder/coder/v2");
    yes(&a, "v0.1.0", &["2.24.5"]);
    yes(&a, "v2.24.4", &["2.24.5"]);
    no(&a, "v2.24.5");
    no(&a, "v2.28.9");
    yes(&a, "v2.29.0", &["2.29.13"]);
    yes(&a, "v2.29.12", &["2.29.13"]);
    no(&a, "v2.29.13");
    yes(&a, "v2.31.11", &["2.31.12"]);
    no(&a, "v2.31.12");
    no(&a, "v2.31.99");
    // introduced 2.32.0-rc.0: the prerelease is inside, the one before it is not.
    no(&a, "v2.32.0-beta.1");
    yes(&a, "v2.32.0-rc.0", &["2.32.2"]);
    yes(&a, "v2.32.1", &["2.32.2"]);
    no(&a, "v2.32.2");
    yes(&a, "v2.33.2+incompatible", &["2.33.3"]);
    no(&a, "v2.34.0");
    // `introduced: 0` alone: every version.
    let all = affected("GO-2026-5169.json", "github.com/coder/coder");
    yes(&all, "v0.0.0-20200101000000-abcdefabcdef", &[]);
    yes(&all, "v99.0.0", &[]);
    // Not a Go version: an error naming it, never a panic.
    let e = check(&a, "v2.x").unwrap_err().to_string();
    assert!(e.contains("`v2.x`") && e.contains("Go"), "{e}");
}

#[test]
fn rustsec_semver_ranges() {
    let a = affected("RUSTSEC-2024-0439.json", "wasmtime");
    no(&a, "18.0.4");
    yes(&a, "19.0.0", &["21.0.2"]);
    yes(&a, "21.0.1", &["21.0.2"]);
    no(&a, "21.0.2");
    no(&a, "21.1.0");
    yes(&a, "22.0.0", &["22.0.1"]);
    no(&a, "22.0.1");
    yes(&a, "25.0.1", &["25.0.2"]);
    no(&a, "25.0.2");
    no(&a, "26.0.0");
    // A prerelease of a fixed version is still below it.
    yes(&a, "25.0.2-pre.1", &["25.0.2"]);
}

#[test]
fn pypi_git_ranges_and_versions_list() {
    // Two GIT ranges, an ECOSYSTEM range `introduced: 0` with no end, and versions 0.4.0, 0.5.0.
    let a = affected("PYSEC-2024-6.json", "cdo-local-uuid");
    let m = check(&a, "0.4.0").unwrap();
    assert!(m.affected && m.fixed.is_empty(), "{m:?}");
    assert_eq!(m.notes.iter().filter(|n| n.contains("GIT range ignored")).count(), 2, "{m:?}");
    // The open ECOSYSTEM range covers every version, as the schema's evaluation says.
    assert!(check(&a, "0.6.0").unwrap().affected);
    // The versions list alone (GIT ranges only): exact matches, in PEP 440 equality (0.4 == 0.4.0).
    let mut listed = a.clone();
    listed.ranges.retain(|r| r.kind == RangeKind::Git);
    assert!(check(&listed, "0.4").unwrap().affected);
    assert!(check(&listed, "0.5.0").unwrap().affected);
    let m = check(&listed, "0.4.1").unwrap();
    assert!(!m.affected && m.notes.len() == 2, "{m:?}");
    // GIT ranges only, no versions: nothing can be said, and the notes say why.
    listed.versions.clear();
    let m = check(&listed, "0.4.0").unwrap();
    assert!(!m.affected && m.notes.iter().all(|n| n.contains("GIT")), "{m:?}");
}

#[test]
fn last_affected_is_inclusive() {
    // The schema's `last_affected` example: introduced 0, last_affected 2.1.214.
    let a = hand(
        Ecosystem::Maven,
        RangeKind::Ecosystem,
        vec![Event::Introduced("0".into()), Event::LastAffected("2.1.214".into())],
    );
    yes(&a, "2.1.213", &[]);
    yes(&a, "2.1.214", &[]);
    yes(&a, "2.1.214.0", &[]); // Maven: trailing zeros are equal
    no(&a, "2.1.215");
    no(&a, "2.1.214-sp1");
}

#[test]
fn limit_caps_the_range() {
    let a =
        hand(Ecosystem::PyPI, RangeKind::Ecosystem, vec![Event::Introduced("1.0".into()), Event::Limit("2.0".into())]);
    no(&a, "0.9");
    yes(&a, "1.0", &[]);
    yes(&a, "1.9.9", &[]);
    no(&a, "2.0");
    no(&a, "3.0");
    let star =
        hand(Ecosystem::PyPI, RangeKind::Ecosystem, vec![Event::Introduced("1.0".into()), Event::Limit("*".into())]);
    yes(&star, "9999", &[]);
}

#[test]
fn unsorted_events_are_sorted_first() {
    // Records do not have to keep events in order: evaluation sorts them.
    let a = hand(
        Ecosystem::Npm,
        RangeKind::Semver,
        vec![
            Event::Fixed("3.2.5".into()),
            Event::Introduced("3.0.0".into()),
            Event::Fixed("1.0.2".into()),
            Event::Introduced("1.0.0".into()),
        ],
    );
    no(&a, "0.9.0");
    yes(&a, "1.0.1", &["1.0.2"]);
    no(&a, "2.0.0");
    yes(&a, "3.2.4", &["3.2.5"]);
    no(&a, "3.2.5");
}

#[test]
fn invalid_event_versions_are_skipped_and_noted() {
    let a = hand(
        Ecosystem::Debian,
        RangeKind::Ecosystem,
        vec![Event::Introduced("0".into()), Event::Fixed("1:".into()), Event::Fixed("2.36-9+deb12u3".into())],
    );
    let m = check(&a, "2.36-9+deb12u2").unwrap();
    assert!(m.affected, "{m:?}");
    assert_eq!(m.fixed, ["2.36-9+deb12u3"]);
    assert_eq!(m.notes.len(), 1, "{m:?}");
    assert!(m.notes[0].contains("`fixed: 1:`"), "{m:?}");
    no(&a, "2.36-9+deb12u3");
    // Installed version invalid: the one error `check` returns.
    assert!(check(&a, "").is_err());
    assert!(check(&a, "not a version!").is_err());
}

#[test]
fn status_and_empty_entries() {
    let mut a = hand(Ecosystem::Debian, RangeKind::Ecosystem, vec![]);
    a.ranges.clear();
    yes(&a, "1.0-1", &[]);
    a.status = Status::NotAffected;
    no(&a, "1.0-1");
    // SEMVER range against a Debian version that is not SemVer: skipped with a note.
    let b = hand(Ecosystem::Debian, RangeKind::Semver, vec![Event::Introduced("0".into())]);
    let m = check(&b, "1:2.0-1").unwrap();
    assert!(!m.affected && m.notes[0].contains("not SemVer"), "{m:?}");
    // Debian: the tracker's fixed versions, dpkg order (DSA-5514-1, glibc CVE-2023-4911).
    let g = hand(
        Ecosystem::Debian,
        RangeKind::Ecosystem,
        vec![Event::Introduced("0".into()), Event::Fixed("2.36-9+deb12u3".into())],
    );
    yes(&g, "2.36-9+deb12u2", &["2.36-9+deb12u3"]);
    yes(&g, "2.36-9~bpo1", &["2.36-9+deb12u3"]);
    no(&g, "2.36-9+deb12u14");
}
