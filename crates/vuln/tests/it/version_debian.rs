//! Debian order against `dpkg --compare-versions` on real versions: every `[bookworm]`/`[trixie]` fixed
//! version of the DSA/DLA lists and the bookworm archive's versions (fixtures/versions/README.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

use pare_vuln::Ecosystem;
use pare_vuln::version::{self, Version};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/versions");

fn fixed_versions() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for list in ["DSA-list", "DLA-list"] {
        let text = std::fs::read_to_string(format!("{FIXTURES}/debian-tracker-lists-merged/{list}")).unwrap();
        for line in text.lines() {
            let t = line.trim();
            if !(t.starts_with("[bookworm] - ") || t.starts_with("[trixie] - ")) {
                continue;
            }
            let fields: Vec<&str> = t.split_whitespace().collect();
            if fields.len() == 4 && !fields[3].starts_with('<') {
                out.push((fields[2].to_string(), fields[3].to_string()));
            }
        }
    }
    out
}

fn archive_versions() -> Vec<(String, String)> {
    let path = format!("{FIXTURES}/debian-bookworm-archive-versions/bookworm-archive-versions.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        out.push((f[1].to_string(), f[2].to_string()));
        for v in f[4].split_whitespace() {
            out.push((f[1].to_string(), v.split('@').next().unwrap().to_string()));
        }
    }
    out
}

/// Asks dpkg, in one `sh`, whether each pair stands in the relation pare computed; returns the
/// pairs where dpkg disagrees.
fn dpkg_disagrees(pairs: &[(String, String, Ordering)]) -> Vec<String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"while read -r a op b; do if dpkg --compare-versions "$a" "$op" "$b"; then echo y; else echo n; fi; done"#)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh and dpkg are needed (Debian's dpkg package)");
    let mut input = String::new();
    for (a, b, o) in pairs {
        let op = match o {
            Ordering::Less => "lt",
            Ordering::Equal => "eq",
            Ordering::Greater => "gt",
        };
        input.push_str(&format!("{a} {op} {b}\n"));
    }
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let answers: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(answers.len(), pairs.len(), "dpkg answered {} of {} pairs", answers.len(), pairs.len());
    pairs
        .iter()
        .zip(answers)
        .filter(|(_, ans)| *ans != "y")
        .map(|((a, b, o), _)| format!("pare says {a} {o:?} {b}, dpkg does not"))
        .collect()
}

fn cmp(a: &str, b: &str) -> Ordering {
    let va = version::parse(Ecosystem::Debian, a).unwrap();
    let vb = version::parse(Ecosystem::Debian, b).unwrap();
    assert!(matches!(va, Version::Debian(_)));
    va.compare(&vb).unwrap()
}

#[test]
fn real_tracker_and_archive_versions_match_dpkg() {
    let fixed = fixed_versions();
    let archive = archive_versions();
    assert!(fixed.len() > 1000, "only {} fixed versions read", fixed.len());
    let mut all: Vec<String> = fixed.iter().chain(&archive).map(|(_, v)| v.clone()).collect();
    all.sort();
    all.dedup();

    let mut pairs = Vec::new();
    // Each fixed version against the archive versions of its source package.
    for (src, f) in &fixed {
        for (asrc, a) in &archive {
            if asrc == src {
                pairs.push((f.clone(), a.clone(), cmp(f, a)));
            }
        }
    }
    // Neighbours in text order (close versions of one package) and a fixed pseudo-random partner.
    let mut seed: u64 = 0x5eed;
    for i in 0..all.len() {
        if let Some(b) = all.get(i + 1) {
            pairs.push((all[i].clone(), b.clone(), cmp(&all[i], b)));
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let b = &all[(seed >> 33) as usize % all.len()];
        pairs.push((all[i].clone(), b.clone(), cmp(&all[i], b)));
    }
    // The edge cases vulndata/README.md lists.
    for (a, b) in [
        ("3.0.17-1~deb12u2", "3.0.17-1"),
        ("1:9.2p1-2+deb12u7", "1:9.2p1-2+deb12u9"),
        ("4:22.12.3-1", "22.12.3-1"),
        ("5.2.15-2+b13", "5.2.15-2"),
        ("5.4.1-1", "5.4.1-1+deb12u1"),
        ("3.0.19-1~deb12u2", "3.0.20-1~deb12u2"),
        ("2.36-9+deb12u3", "2.36-9+deb12u14"),
        ("1.0", "1.0-0"),
        ("1.0~rc1", "1.0~~"),
    ] {
        pairs.push((a.to_string(), b.to_string(), cmp(a, b)));
    }
    assert!(pairs.len() > 2500, "only {} pairs", pairs.len());
    let wrong = dpkg_disagrees(&pairs);
    assert!(wrong.is_empty(), "{} of {} pairs disagree with dpkg:\n{}", wrong.len(), pairs.len(), wrong.join("\n"));
    eprintln!("{} pairs agree with dpkg", pairs.len());
}

#[test]
fn the_readme_cases() {
    assert_eq!(cmp("3.0.17-1~deb12u2", "3.0.17-1~deb12u3"), Ordering::Less);
    assert_eq!(cmp("1:9.2p1-2+deb12u7", "1:9.2p1-2+deb12u9"), Ordering::Less);
    assert_eq!(cmp("1:9.2p1-2+deb12u10", "1:9.2p1-2+deb12u9"), Ordering::Greater);
    assert_eq!(cmp("3.0.17-1~deb12u2", "3.0.17-1"), Ordering::Less);
    let e = version::parse(Ecosystem::Debian, "1:").unwrap_err().to_string();
    assert!(e.contains("Debian") && e.contains("`1:`"), "{e}");
}
