//! SemVer orders: npm against node-semver (`semver.compare`, Debian's node-semver, one node process),
//! crates.io against the `semver` crate's own `VersionReq`, Go against golang.org/x/mod/semver's test
//! vectors. Versions: fixtures/versions/semver-versions.txt (real Go and RustSec range events).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

use pare_vuln::version::{self, Version};
use pare_vuln::{Affected, Ecosystem, Event, Range, RangeKind, Status};

const VERSIONS: &str = include_str!("../fixtures/versions/semver-versions.txt");

/// Prereleases and build metadata beyond the real data: SemVer spec item 11's example chain and builds.
const EXTRA: [&str; 14] = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.0+build.1",
    "1.0.0+build.2",
    "1.0.0-rc.1+build.1",
    "1.0.0-0A.is.legal",
    "1.0.0-alpha-a.b-c",
    "2.0.0-x.7.z.92",
];

#[test]
fn npm_matches_node_semver() {
    // Go's `+incompatible` is build metadata; node compares it like any build.
    let mut versions: Vec<&str> = VERSIONS.lines().filter(|l| !l.is_empty()).collect();
    versions.extend(EXTRA);
    let mut pairs = Vec::new();
    let mut seed: u64 = 7;
    for i in 0..versions.len() {
        pairs.push((versions[i], versions[(i + 1) % versions.len()]));
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        pairs.push((versions[i], versions[(seed >> 33) as usize % versions.len()]));
    }
    for a in EXTRA {
        for b in EXTRA {
            pairs.push((a, b));
        }
    }
    let script = r#"
const semver = require('semver');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(l => l);
const out = lines.map(l => { const [a, b] = l.split('\t'); return String(semver.compare(a, b)); });
process.stdout.write(out.join('\n') + '\n');
"#;
    // Debian's node modules live in /usr/share/nodejs (a nodesource `node` does not look there).
    let mut child = Command::new("node")
        .env("NODE_PATH", "/usr/share/nodejs")
        .arg("-e")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node is needed (scripts/system-deps.sh installs nodejs and node-semver)");
    let input: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node: {}", String::from_utf8_lossy(&out.stderr));
    let answers: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(answers.len(), pairs.len());
    let mut wrong = Vec::new();
    for ((a, b), want) in pairs.iter().zip(&answers) {
        let x = version::parse(Ecosystem::Npm, a).unwrap();
        let y = version::parse(Ecosystem::Npm, b).unwrap();
        let got = match x.compare(&y).unwrap() {
            Ordering::Less => "-1",
            Ordering::Equal => "0",
            Ordering::Greater => "1",
        };
        if got != want {
            wrong.push(format!("{a} vs {b}: pare {got}, node-semver {want}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} disagree:\n{}", wrong.len(), pairs.len(), wrong.join("\n"));
    eprintln!("{} pairs agree with node-semver", pairs.len());
}

/// golang.org/x/mod semver/semver_test.go (BSD-3-Clause, The Go Authors), `tests`: in ascending order;
/// `""` marks an invalid version; equal canonical forms compare equal.
const GO_TESTS: [(&str, &str); 32] = [
    ("bad", ""),
    ("v1-alpha.beta.gamma", ""),
    ("v1-pre", ""),
    ("v1+meta", ""),
    ("v1-pre+meta", ""),
    ("v1.2-pre", ""),
    ("v1.2+meta", ""),
    ("v1.2-pre+meta", ""),
    ("v1.0.0-alpha", "v1.0.0-alpha"),
    ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
    ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
    ("v1.0.0-beta", "v1.0.0-beta"),
    ("v1.0.0-beta.2", "v1.0.0-beta.2"),
    ("v1.0.0-beta.11", "v1.0.0-beta.11"),
    ("v1.0.0-rc.1", "v1.0.0-rc.1"),
    ("v1", "v1.0.0"),
    ("v1.0", "v1.0.0"),
    ("v1.0.0", "v1.0.0"),
    ("v1.2", "v1.2.0"),
    ("v1.2.0", "v1.2.0"),
    ("v1.2.3-456", "v1.2.3-456"),
    ("v1.2.3-456.789", "v1.2.3-456.789"),
    ("v1.2.3-456-789", "v1.2.3-456-789"),
    ("v1.2.3-456a", "v1.2.3-456a"),
    ("v1.2.3-pre", "v1.2.3-pre"),
    ("v1.2.3-pre+meta", "v1.2.3-pre"),
    ("v1.2.3-pre.1", "v1.2.3-pre.1"),
    ("v1.2.3-zzz", "v1.2.3-zzz"),
    ("v1.2.3", "v1.2.3"),
    ("v1.2.3+meta", "v1.2.3"),
    ("v1.2.3+meta-pre", "v1.2.3"),
    ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
];

#[test]
fn go_matches_x_mod_semver_vectors() {
    for (input, canonical) in GO_TESTS {
        let r = version::parse(Ecosystem::Go, input);
        assert_eq!(r.is_ok(), !canonical.is_empty(), "{input}: {r:?}");
    }
    let valid: Vec<_> = GO_TESTS.iter().enumerate().filter(|(_, (_, c))| !c.is_empty()).collect();
    for (i, (a, ca)) in &valid {
        for (j, (b, cb)) in &valid {
            let want = if ca == cb { Ordering::Equal } else { i.cmp(j) };
            let got = version::parse(Ecosystem::Go, a).unwrap().compare(&version::parse(Ecosystem::Go, b).unwrap());
            assert_eq!(got, Some(want), "{a} vs {b}");
        }
    }
    // The explicit cases of TestCompare, then what OSV Go data holds: no `v`, pseudo-versions, +incompatible.
    let go = |s| version::parse(Ecosystem::Go, s).unwrap();
    assert_eq!(go("v1.19").compare(&go("v1.2")), Some(Ordering::Greater));
    assert_eq!(go("v2").compare(&go("v1")), Some(Ordering::Greater));
    let pseudo = go("v0.0.0-20200131131040-063a3fb69896");
    assert_eq!(pseudo.compare(&go("0.0.0-20160722212129-ac0cc4484ad4")), Some(Ordering::Greater));
    assert_eq!(pseudo.compare(&go("v0.0.1")), Some(Ordering::Less));
    assert_eq!(go("v10.0.0+incompatible").compare(&go("10.0.0")), Some(Ordering::Equal));
    assert_eq!(go("v10.0.0-rc1+incompatible").compare(&go("v10.0.0+incompatible")), Some(Ordering::Less));
    // OSV SEMVER ranges of Go records hold versions without `v`: they meet an installed `v…` version.
    let s = version::parse_semver("1.2.3").unwrap();
    assert_eq!(go("v1.2.3").compare(&s), Some(Ordering::Equal));
    assert!(matches!(go("v1.2.3"), Version::Semver(_)));
}

/// RustSec OSV ranges written as `VersionReq`s: for every release version in the fixtures (and each event
/// ± a patch), `check` on the range and the crate's `VersionReq::matches` agree.
#[test]
fn crates_io_ranges_match_version_req() {
    let record: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/versions/osv/RUSTSEC-2024-0439.json")).unwrap();
    let events = record["affected"][0]["ranges"][0]["events"].as_array().unwrap();
    let mut intervals = Vec::new();
    let mut open = None;
    let mut osv_events = Vec::new();
    for e in events {
        if let Some(v) = e["introduced"].as_str() {
            open = Some(v.to_string());
            osv_events.push(Event::Introduced(v.to_string()));
        }
        if let Some(v) = e["fixed"].as_str() {
            intervals.push(format!(">={}, <{v}", open.take().unwrap()));
            osv_events.push(Event::Fixed(v.to_string()));
        }
    }
    let reqs: Vec<semver::VersionReq> = intervals.iter().map(|r| semver::VersionReq::parse(r).unwrap()).collect();
    let affected = Affected {
        ecosystem: Ecosystem::CratesIo,
        release: None,
        package: "wasmtime".to_string(),
        status: Status::Fixed,
        ranges: vec![Range { kind: RangeKind::Semver, events: osv_events }],
        versions: vec![],
        urgency: None,
        note: None,
        imports: Vec::new(),
    };
    let mut candidates: Vec<semver::Version> =
        VERSIONS.lines().filter_map(|l| semver::Version::parse(l).ok()).filter(|v| v.pre.is_empty()).collect();
    for m in 17..27 {
        for p in 0..4 {
            candidates.push(semver::Version::new(m, 0, p));
        }
    }
    candidates.push(semver::Version::new(21, 0, 1));
    candidates.push(semver::Version::new(23, 0, 2));
    let mut hits = 0;
    for c in &candidates {
        let want = reqs.iter().any(|r| r.matches(c));
        let got = pare_vuln::range::check(&affected, &c.to_string()).unwrap();
        assert_eq!(got.affected, want, "{c}: {got:?}");
        hits += usize::from(want);
    }
    assert!(hits >= 10, "only {hits} candidates inside the ranges");
}
