//! Maven order against the vectors of Maven's own ComparableVersionTest
//! (apache/maven master, compat/maven-artifact/src/test/java/org/apache/maven/artifact/versioning/
//! ComparableVersionTest.java @ a8a99e08; Apache-2.0, copied as data).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::cmp::Ordering;

use pare_vuln::Ecosystem;
use pare_vuln::version::{self, Version};

fn v(s: &str) -> Version {
    version::parse(Ecosystem::Maven, s).unwrap()
}

fn canonical(s: &str) -> String {
    match v(s) {
        Version::Maven(m) => m.canonical(),
        other => panic!("{other:?}"),
    }
}

fn check_order(a: &str, b: &str) {
    assert_eq!(v(a).compare(&v(b)), Some(Ordering::Less), "expected {a} < {b}");
    assert_eq!(v(b).compare(&v(a)), Some(Ordering::Greater), "expected {b} > {a}");
    // The test's newComparable: the canonical form parses to itself.
    for s in [a, b] {
        assert_eq!(canonical(&canonical(s)), canonical(s), "canonical of {s}");
    }
}

fn check_equal(a: &str, b: &str) {
    assert_eq!(v(a).compare(&v(b)), Some(Ordering::Equal), "expected {a} == {b}");
    assert_eq!(v(b).compare(&v(a)), Some(Ordering::Equal), "expected {b} == {a}");
}

fn check_chain(versions: &[&str]) {
    for i in 1..versions.len() {
        for j in i..versions.len() {
            check_order(versions[i - 1], versions[j]);
        }
    }
}

const VERSIONS_QUALIFIER: [&str; 22] = [
    "1-alpha2snapshot",
    "1-alpha2",
    "1-alpha-123",
    "1-beta-2",
    "1-beta123",
    "1-m2",
    "1-m11",
    "1-rc",
    "1-cr2",
    "1-rc123",
    "1-SNAPSHOT",
    "1",
    "1-sp",
    "1-sp2",
    "1-sp123",
    "1-abc",
    "1-def",
    "1-pom-1",
    "1-1-snapshot",
    "1-1",
    "1-2",
    "1-123",
];

const VERSIONS_NUMBER: [&str; 24] = [
    "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1", "2.2", "2.123",
    "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m",
];

#[test]
fn versions_qualifier_and_number() {
    check_chain(&VERSIONS_QUALIFIER);
    check_chain(&VERSIONS_NUMBER);
}

#[test]
fn versions_equal() {
    for (a, b) in [
        ("1", "1"),
        ("1", "1.0"),
        ("1", "1.0.0"),
        ("1.0", "1.0.0"),
        ("1", "1-0"),
        ("1", "1.0-0"),
        ("1.0", "1.0-0"),
        ("1a", "1-a"),
        ("1a", "1.0-a"),
        ("1a", "1.0.0-a"),
        ("1.0a", "1-a"),
        ("1.0.0a", "1-a"),
        ("1x", "1-x"),
        ("1x", "1.0-x"),
        ("1x", "1.0.0-x"),
        ("1.0x", "1-x"),
        ("1.0.0x", "1-x"),
        ("1cr", "1rc"),
        ("1a1", "1-alpha-1"),
        ("1b2", "1-beta-2"),
        ("1m3", "1-milestone-3"),
        ("1X", "1x"),
        ("1A", "1a"),
        ("1B", "1b"),
        ("1M", "1m"),
        ("1Cr", "1Rc"),
        ("1cR", "1rC"),
        ("1m3", "1Milestone3"),
        ("1m3", "1MileStone3"),
        ("1m3", "1MILESTONE3"),
        // testVersionsHaveSameOrderButAreNotEqual
        ("1ga", "1"),
        ("1release", "1"),
        ("1final", "1"),
        ("1Ga", "1"),
        ("1GA", "1"),
        ("1RELEASE", "1"),
        ("1RELeaSE", "1"),
        ("1Final", "1"),
        ("1FinaL", "1"),
        ("1FINAL", "1"),
        ("1-abcdefghijklmnopqrstuvwxyz", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ] {
        check_equal(a, b);
    }
}

#[test]
fn version_comparing() {
    for (a, b) in [
        ("1", "2"),
        ("1.5", "2"),
        ("1", "2.5"),
        ("1.0", "1.1"),
        ("1.1", "1.2"),
        ("1.0.0", "1.1"),
        ("1.0.1", "1.1"),
        ("1.1", "1.2.0"),
        ("1.0-alpha-1", "1.0"),
        ("1.0-alpha-1", "1.0-alpha-2"),
        ("1.0-alpha-1", "1.0-beta-1"),
        ("1.0-beta-1", "1.0-SNAPSHOT"),
        ("1.0-SNAPSHOT", "1.0"),
        ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
        ("1.0", "1.0-1"),
        ("1.0-1", "1.0-2"),
        ("1.0.0", "1.0-1"),
        ("2.0-1", "2.0.1"),
        ("2.0.1-klm", "2.0.1-lmn"),
        ("2.0.1", "2.0.1-xyz"),
        ("2.0.1", "2.0.1-123"),
        ("2.0.1-xyz", "2.0.1-123"),
        // testLeadingZeroes
        ("0.7", "2"),
        ("0.2", "1.0.7"),
        // testMng5568
        ("6.1.0rc3", "6.1.0"),
        ("6.1.0rc3", "6.1H.5-beta"),
        ("6.1.0", "6.1H.5-beta"),
        // testMng6572
        ("20190126.230843", "1234567890.12345"),
        ("1234567890.12345", "123456789012345.1H.5-beta"),
        ("20190126.230843", "123456789012345.1H.5-beta"),
        ("123456789012345.1H.5-beta", "12345678901234567890.1H.5-beta"),
        ("1234567890.12345", "12345678901234567890.1H.5-beta"),
        ("20190126.230843", "12345678901234567890.1H.5-beta"),
        // testMng6964
        ("1-0.alpha", "1"),
        ("1-0.beta", "1"),
        ("1-0.alpha", "1-0.beta"),
        // testMng7714
        ("1.0.final-redhat", "1.0-sp1-redhat"),
        ("1.0.final-redhat", "1.0-sp-1-redhat"),
        ("1.0.final-redhat", "1.0-sp.1-redhat"),
        // testCompareDigitToLetter, testLexicographicOrder
        ("J", "7"),
        ("c", "7"),
        ("aardvark", "zebra"),
        ("zebra", "ζέβρα"),
    ] {
        check_order(a, b);
    }
}

#[test]
fn leading_zeroes_and_mng_7644() {
    let ones: Vec<String> = (1..=19).map(|n| format!("{}1", "0".repeat(n - 1))).collect();
    let zeros: Vec<String> = (1..=19).map(|n| "0".repeat(n)).collect();
    for set in [&ones, &zeros] {
        for a in set {
            for b in set {
                check_equal(a, b);
            }
        }
    }
    for x in ["abc", "alpha", "a", "beta", "b", "def", "milestone", "m", "RC"] {
        check_order(&format!("1.0.0.{x}1"), &format!("1.0.0-{x}2"));
        check_equal(&format!("2-{x}"), &format!("2.0.{x}"));
        check_equal(&format!("2-{x}"), &format!("2.0.0.{x}"));
        check_equal(&format!("2.0.{x}"), &format!("2.0.0.{x}"));
    }
    // testGetCanonical (MNG-7700)
    assert_eq!(canonical("0.x"), "x");
    assert_eq!(canonical("0.2"), "0.2");
}

#[test]
fn empty_is_an_error() {
    let e = version::parse(Ecosystem::Maven, "").unwrap_err().to_string();
    assert!(e.contains("Maven"), "{e}");
    // Nesting grows with every letter/digit change; overlong strings are refused before parsing.
    let long = "a1".repeat(version::MAX_LEN);
    let e = version::parse(Ecosystem::Maven, &long).unwrap_err().to_string();
    assert!(e.contains("longer than 1024 bytes"), "{e}");
    let deep = "a1".repeat(version::MAX_LEN / 2);
    assert_eq!(v(&deep).compare(&v(&deep)), Some(Ordering::Equal));
}
