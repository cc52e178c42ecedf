//! Debian package versions: parsing and dpkg's ordering.
//!
//! Hand-written rather than wrapping the `debversion` crate: dpkg's algorithm (`verrevcmp` in
//! dpkg's `lib/dpkg/version.c`) is short, `debversion` parses leniently (`1:`, `:1.0`) so it would
//! need its own validation anyway, and `sbom`/`vuln` get a module that depends on nothing.
//!
//! Equality follows dpkg, not the text: `1.0`, `0:1.0`, `1.00` and `1.0-0` are equal versions
//! (their [`Version::as_str`] differ). `Hash` agrees with that equality.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::Error;

/// A Debian version `[epoch:]upstream[-revision]`, validated once, ordered like `dpkg --compare-versions`.
#[derive(Clone)]
pub struct Version {
    text: Box<str>,
    epoch: u32,
    /// Byte range of the upstream part in `text`.
    upstream: (u32, u32),
    /// Start of the revision in `text` (after the last `-`), if any.
    revision: Option<u32>,
}

impl Version {
    /// Parses `[epoch:]upstream[-revision]`, strictly: dpkg's errors are errors, and so are the
    /// characters that dpkg only warns about. Surrounding whitespace is trimmed (as dpkg does).
    pub fn parse(value: &str) -> Result<Version, Error> {
        let err = |reason: &str| Error::InvalidVersion { value: value.to_string(), reason: reason.to_string() };
        let text = value.trim();
        if text.is_empty() {
            return Err(err("the version is empty"));
        }
        if text.len() > 4096 {
            return Err(err("the version is longer than 4096 bytes"));
        }
        if text.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(err("the version contains whitespace"));
        }
        let (epoch, rest_start) = match text.find(':') {
            Some(colon) => {
                let digits = &text[..colon];
                if digits.is_empty() {
                    return Err(err("the epoch before `:` is empty"));
                }
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("the epoch before `:` is not a number"));
                }
                let epoch = digits
                    .parse::<u32>()
                    .ok()
                    .filter(|e| *e <= i32::MAX as u32)
                    .ok_or_else(|| err("the epoch is too big"))?;
                if colon + 1 == text.len() {
                    return Err(err("nothing after the epoch's `:`"));
                }
                (epoch, colon + 1)
            }
            None => (0, 0),
        };
        let rest = &text[rest_start..];
        let (upstream, revision) = match rest.rfind('-') {
            Some(hyphen) => {
                if hyphen + 1 == rest.len() {
                    return Err(err("the revision after the last `-` is empty"));
                }
                (&rest[..hyphen], Some(&rest[hyphen + 1..]))
            }
            None => (rest, None),
        };
        if upstream.is_empty() {
            return Err(err("the upstream version is empty"));
        }
        // Policy says the upstream part "should" start with a digit; dpkg only warns. Accepted.
        if let Some(c) = upstream.chars().find(|c| !(c.is_ascii_alphanumeric() || ".+~-:".contains(*c))) {
            return Err(err(&format!("invalid character `{}` in the upstream version", c.escape_default())));
        }
        if let Some(c) = revision.and_then(|r| r.chars().find(|c| !(c.is_ascii_alphanumeric() || ".+~".contains(*c)))) {
            return Err(err(&format!("invalid character `{}` in the revision", c.escape_default())));
        }
        let up_start = rest_start as u32;
        let up_end = (rest_start + upstream.len()) as u32;
        Ok(Version { text: text.into(), epoch, upstream: (up_start, up_end), revision: revision.map(|_| up_end + 1) })
    }

    /// The version as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The epoch (0 when absent).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The upstream part, between the epoch's `:` and the last `-`.
    pub fn upstream(&self) -> &str {
        &self.text[self.upstream.0 as usize..self.upstream.1 as usize]
    }

    /// The Debian revision after the last `-`, if any.
    pub fn revision(&self) -> Option<&str> {
        self.revision.map(|start| &self.text[start as usize..])
    }

    fn revision_or_empty(&self) -> &str {
        self.revision().unwrap_or("")
    }
}

/// dpkg's character weight: `~` sorts before the end of a part, letters before other symbols.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn is_digit(c: Option<&u8>) -> bool {
    c.is_some_and(u8::is_ascii_digit)
}

/// dpkg's `verrevcmp`: alternating non-digit parts (by [`weight`]) and digit parts (numerically).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (wa, wb) = (weight(a.get(i).copied()), weight(b.get(j).copied()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while is_digit(a.get(i)) && is_digit(b.get(j)) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if is_digit(a.get(i)) {
            return Ordering::Greater;
        }
        if is_digit(b.get(j)) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// Feeds `hasher` the parts of `s` that [`verrevcmp`] looks at: equal strings hash equally.
fn hash_part<H: Hasher>(s: &[u8], hasher: &mut H) {
    let mut tokens: Vec<(&[u8], &[u8])> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let start = i;
        while i < s.len() && !s[i].is_ascii_digit() {
            i += 1;
        }
        let non_digits = &s[start..i];
        while s.get(i) == Some(&b'0') {
            i += 1;
        }
        let digit_start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        tokens.push((non_digits, &s[digit_start..i]));
    }
    while tokens.last().is_some_and(|(n, d)| n.is_empty() && d.is_empty()) {
        tokens.pop();
    }
    tokens.len().hash(hasher);
    for (n, d) in tokens {
        n.hash(hasher);
        d.hash(hasher);
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream().as_bytes(), other.upstream().as_bytes()))
            .then_with(|| verrevcmp(self.revision_or_empty().as_bytes(), other.revision_or_empty().as_bytes()))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.epoch.hash(state);
        hash_part(self.upstream().as_bytes(), state);
        hash_part(self.revision_or_empty().as_bytes(), state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({:?})", &*self.text)
    }
}

impl FromStr for Version {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl TryFrom<&str> for Version {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Version::parse(s)
    }
}

/// A relation operator as written in Debian control fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VersionOp {
    /// `<<`
    Less,
    /// `<=` (also the obsolete `<`)
    LessEq,
    /// `=`
    Eq,
    /// `>=` (also the obsolete `>`)
    GreaterEq,
    /// `>>`
    Greater,
}

impl VersionOp {
    /// Parses `<<`, `<=`, `=`, `>=`, `>>` and the obsolete `<` (= `<=`) and `>` (= `>=`).
    pub fn parse(s: &str) -> Option<VersionOp> {
        Some(match s {
            "<<" => VersionOp::Less,
            "<=" | "<" => VersionOp::LessEq,
            "=" => VersionOp::Eq,
            ">=" | ">" => VersionOp::GreaterEq,
            ">>" => VersionOp::Greater,
            _ => return None,
        })
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionOp::Less => "<<",
            VersionOp::LessEq => "<=",
            VersionOp::Eq => "=",
            VersionOp::GreaterEq => ">=",
            VersionOp::Greater => ">>",
        }
    }

    /// Whether `ordering` (of a candidate compared to the constraint's version) satisfies this operator.
    pub fn accepts(self, ordering: Ordering) -> bool {
        match self {
            VersionOp::Less => ordering == Ordering::Less,
            VersionOp::LessEq => ordering != Ordering::Greater,
            VersionOp::Eq => ordering == Ordering::Equal,
            VersionOp::GreaterEq => ordering != Ordering::Less,
            VersionOp::Greater => ordering == Ordering::Greater,
        }
    }
}

impl fmt::Display for VersionOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `(op version)` as in `libc6 (>= 2.36)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VersionConstraint {
    pub op: VersionOp,
    pub version: Version,
}

impl VersionConstraint {
    /// Whether `candidate` satisfies the constraint.
    pub fn matches(&self, candidate: &Version) -> bool {
        self.op.accepts(candidate.cmp(&self.version))
    }
}

impl fmt::Display for VersionConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn v(s: &str) -> Version {
        match Version::parse(s) {
            Ok(v) => v,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn hash(v: &Version) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn parts() {
        let x = v("1:2.30-1~bpo12+1");
        assert_eq!((x.epoch(), x.upstream(), x.revision()), (1, "2.30", Some("1~bpo12+1")));
        let x = v("2:1.0-rc1-3");
        assert_eq!((x.epoch(), x.upstream(), x.revision()), (2, "1.0-rc1", Some("3")));
        let x = v("1.2.3");
        assert_eq!((x.epoch(), x.upstream(), x.revision()), (0, "1.2.3", None));
        let x = v("1:2:3-4");
        assert_eq!((x.epoch(), x.upstream(), x.revision()), (1, "2:3", Some("4")));
        assert_eq!(v(" 1.0 ").as_str(), "1.0");
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            " ",
            "1:",
            ":1.0",
            "a:1.0",
            "-1:1.0",
            "1.0-",
            "-1",
            "1 0",
            "1.0_1",
            "1.0-1:2",
            "1.0-a_b",
            "99999999999:1",
            "1.0/2",
            "é",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        // Policy's "should start with a digit" is only a warning in dpkg.
        assert!(Version::parse("a1.0").is_ok());
    }

    #[test]
    fn hard_cases() {
        let lt = [
            ("1.0~rc1", "1.0"),
            ("9.9", "1:0.1"),
            ("1.0-1", "1.0-1+b1"),
            ("2.30-1~bpo12+1", "2.30-1"),
            ("1.0~~", "1.0~"),
            ("1.0~", "1.0"),
            ("1.0", "1.0a"),
            ("1.0a", "1.0+"),
            ("1.0+", "1.0."),
            ("1.0", "1.0.1"),
            ("1.2", "1.10"),
            ("0:1.0", "1:0"),
            ("1.0-1", "1.0-2"),
            ("1.0-9", "1.0-10"),
            ("2.36-9+deb12u8", "2.36-9+deb12u9"),
            ("3.0.15-1~deb12u1", "3.0.15-1"),
            ("1a", "1b"),
            ("1~", "1"),
        ];
        for (a, b) in lt {
            assert!(v(a) < v(b), "{a} < {b}");
            assert!(v(b) > v(a), "{b} > {a}");
        }
        for (a, b) in [("1.0", "1.00"), ("1.0", "0:1.0"), ("1.0", "1.0-0"), ("1a", "1a0"), ("01", "1")] {
            assert_eq!(v(a), v(b), "{a} = {b}");
            assert_eq!(hash(&v(a)), hash(&v(b)), "hash {a} = {b}");
        }
        assert_ne!(v("1"), v("1."));
    }

    #[test]
    fn constraints() {
        let c = |op: &str, ver: &str| VersionConstraint {
            op: VersionOp::parse(op).unwrap_or(VersionOp::Eq),
            version: v(ver),
        };
        assert!(c(">=", "1.0").matches(&v("1.0")));
        assert!(!c(">>", "1.0").matches(&v("1.0")));
        assert!(c("<<", "1.0").matches(&v("1.0~rc1")));
        assert!(c("=", "1.0").matches(&v("0:1.0-0")));
        assert!(c("<=", "1.0").matches(&v("1.0")));
        assert_eq!(VersionOp::parse("<"), Some(VersionOp::LessEq));
        assert_eq!(VersionOp::parse("=>"), None);
    }
}
