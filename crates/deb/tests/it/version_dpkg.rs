//! `Version`'s order against `dpkg --compare-versions` on generated pairs.

#![allow(clippy::print_stdout)]

use std::cmp::Ordering;
use std::process::Command;

use pare_deb::Version;

/// xorshift64*: a fixed-seed generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn part(rng: &mut Rng, alphabet: &[&str]) -> String {
    let len = 1 + rng.below(6);
    let mut s = String::new();
    for _ in 0..len {
        s.push_str(rng.pick(alphabet));
    }
    s
}

/// Versions that look like real ones: short alphabets so that pairs share prefixes often.
fn generate(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.below(5) == 0 {
        s.push_str(&format!("{}:", rng.below(3)));
    }
    s.push_str(rng.pick(&["0", "1", "2", "10", "01"]));
    s.push_str(&part(rng, &["0", "1", "9", "10", "00", ".", "~", "+", "a", "b", "rc", "~rc", "Z", "-"]));
    if s.ends_with('-') {
        s.push('0');
    }
    if rng.below(2) == 0 {
        s.push('-');
        s.push_str(rng.pick(&["0", "1", "2", "10"]));
        if rng.below(2) == 0 {
            s.push_str(&part(rng, &["0", "1", "~", "+b", "deb12u", "~bpo", ".", "a", "+"]));
        }
    }
    s
}

fn dpkg_holds(a: &str, op: &str, b: &str) -> Option<bool> {
    let status = Command::new("dpkg")
        .args(["--compare-versions", a, op, b])
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    match status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

fn dpkg_order(a: &str, b: &str) -> Option<Ordering> {
    Some(if dpkg_holds(a, "lt", b)? {
        Ordering::Less
    } else if dpkg_holds(a, "eq", b)? {
        Ordering::Equal
    } else {
        Ordering::Greater
    })
}

#[test]
fn matches_dpkg_on_generated_pairs() {
    assert_eq!(dpkg_holds("1", "lt", "2"), Some(true), "`dpkg --compare-versions` is needed: this test runs on Debian");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut pairs = Vec::new();
    while pairs.len() < 3000 {
        let a = generate(&mut rng);
        // Half the pairs are near-misses: the same version with one edit.
        let b = if rng.below(2) == 0 {
            generate(&mut rng)
        } else {
            let mut b = a.clone();
            let extra = rng.pick(&["~", "0", "1", ".0", "+b1", "a", "~rc1"]);
            let first = b.find(':').map_or(1, |colon| colon + 2);
            let at = (rng.below(b.len() as u64 + 1) as usize).max(first);
            b.insert_str(at.min(b.len()), extra);
            b
        };
        match (Version::parse(&a), Version::parse(&b)) {
            (Ok(va), Ok(vb)) => pairs.push((a, b, va, vb)),
            _ => continue,
        }
    }
    let chunks: Vec<_> = pairs.chunks(pairs.len() / 4 + 1).collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for (a, b, va, vb) in chunk.iter() {
                        let ours = va.cmp(vb);
                        match dpkg_order(a, b) {
                            Some(theirs) if theirs == ours => {}
                            theirs => failures.push(format!("{a} vs {b}: ours {ours:?}, dpkg {theirs:?}")),
                        }
                    }
                    failures
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|_| vec!["thread panicked".into()])).collect()
    });
    assert!(failures.is_empty(), "{} mismatches, first: {:?}", failures.len(), &failures[..failures.len().min(10)]);
}

#[test]
fn matches_dpkg_on_hard_cases() {
    assert_eq!(dpkg_holds("1", "lt", "2"), Some(true), "`dpkg --compare-versions` is needed: this test runs on Debian");
    let cases = [
        ("1.0~rc1", "1.0"),
        ("1:0.1", "9.9"),
        ("1.0-1+b1", "1.0-1"),
        ("2.30-1~bpo12+1", "2.30-1"),
        ("1.0", "1.0-0"),
        ("1.0~~a", "1.0~"),
        ("1.0+dfsg", "1.0.1"),
        ("7.88.1-10+deb12u8", "7.88.1-10+deb12u12"),
        ("2:1.2", "1:9"),
        ("1.0a", "1.0+"),
        ("1.0.", "1.0"),
    ];
    for (a, b) in cases {
        let ours = Version::parse(a).map(|va| Version::parse(b).map(|vb| va.cmp(&vb)));
        let ours = match ours {
            Ok(Ok(o)) => o,
            _ => panic!("{a} or {b} did not parse"),
        };
        assert_eq!(Some(ours), dpkg_order(a, b), "{a} vs {b}");
    }
}
