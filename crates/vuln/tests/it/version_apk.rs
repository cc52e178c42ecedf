//! Alpine order against apk-tools' own test vectors (fixtures/versions/apk-version.data, from
//! alpinelinux/apk-tools test/version.data). Debian has no `apk-tools` package to compare against.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::cmp::Ordering;

use pare_vuln::Ecosystem;
use pare_vuln::version;

#[test]
fn apk_tools_vectors() {
    let data = include_str!("../fixtures/versions/apk-version.data");
    let mut checked = 0;
    for line in data.lines() {
        let line = line.split('#').next().unwrap().trim();
        let f: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = f[..] else { panic!("bad line {line}") };
        let (pa, pb) = (version::parse(Ecosystem::Alpine, a), version::parse(Ecosystem::Alpine, b));
        if a == "1.0bc" || b == "1.0bc" || a == "23_foo" {
            // The file marks these invalid ("do string sort"); pare refuses them instead.
            assert!(pa.is_err() || pb.is_err(), "{line}");
            continue;
        }
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("bad op in {line}"),
        };
        let (pa, pb) = (pa.unwrap(), pb.unwrap());
        assert_eq!(pa.compare(&pb), Some(want), "{line}");
        assert_eq!(pb.compare(&pa), Some(want.reverse()), "{line} reversed");
        checked += 1;
    }
    assert!(checked > 650, "{checked}");
}

#[test]
fn invalid_apk_versions_are_errors() {
    for bad in ["", "abc", "1.0-x", "1.0_nope"] {
        let e = version::parse(Ecosystem::Alpine, bad);
        assert!(e.is_err(), "{bad:?} parsed: {e:?}");
    }
    let e = version::parse(Ecosystem::Alpine, "1.0_nope").unwrap_err().to_string();
    assert!(e.contains("Alpine") && e.contains("`1.0_nope`"), "{e}");
}
