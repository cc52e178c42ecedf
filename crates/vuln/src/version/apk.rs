//! Alpine's apk version order, ported from apk-tools 2.x `src/version.c` (`apk_version_compare_blob`),
//! because no maintained crate implements it. Versions look like `1.2.3_rc1-r4`:
//! digits separated by dots, one optional letter, `_suffix[N]` parts (`alpha`, `beta`, `pre`, `rc` sort
//! before the release; `cvs`, `svn`, `git`, `hg`, `p` after), then `-rN`. Numbers are kept as 128-bit
//! integers (saturating), where apk-tools uses a C `int`.

use std::cmp::Ordering;
use std::fmt;

/// A valid apk version (`apk_version_validate`).
#[derive(Clone, Debug)]
pub struct Version {
    text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    Invalid = -1,
    DigitOrZero = 0,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &[u8] {
        self.s.get(self.pos..).unwrap_or(&[])
    }

    fn next_token(&mut self, ty: &mut Token) {
        let rest = self.rest();
        let first = rest.first().copied().unwrap_or(0);
        let mut n = Token::Invalid;
        if rest.is_empty() || first == 0 {
            n = Token::End;
        } else if matches!(*ty, Token::Digit | Token::DigitOrZero) && first.is_ascii_lowercase() {
            n = Token::Letter;
        } else if *ty == Token::Letter && first.is_ascii_digit() {
            n = Token::Digit;
        } else if *ty == Token::Suffix && first.is_ascii_digit() {
            n = Token::SuffixNo;
        } else {
            match first {
                b'.' => n = Token::DigitOrZero,
                b'_' => n = Token::Suffix,
                b'-' if rest.get(1) == Some(&b'r') => {
                    n = Token::RevisionNo;
                    self.pos += 1;
                }
                _ => {}
            }
            self.pos += 1;
        }
        if n < *ty
            && !((n == Token::DigitOrZero && *ty == Token::Digit)
                || (n == Token::Suffix && *ty == Token::SuffixNo)
                || (n == Token::Digit && *ty == Token::Letter))
        {
            n = Token::Invalid;
        }
        *ty = n;
    }

    fn get_token(&mut self, ty: &mut Token) -> i128 {
        let rest = self.rest();
        if rest.is_empty() {
            *ty = Token::End;
            return 0;
        }
        let mut i = 0usize;
        let mut v: i128 = 0;
        let mut nt = Token::Invalid;
        let digits = |i: &mut usize, v: &mut i128| {
            while let Some(c) = rest.get(*i).filter(|c| c.is_ascii_digit()) {
                *v = v.saturating_mul(10).saturating_add(i128::from(c - b'0'));
                *i += 1;
            }
        };
        match *ty {
            Token::DigitOrZero if rest.first() == Some(&b'0') => {
                // Leading zeros: the more there are, the smaller (apk's "0.01 < 0.1").
                while rest.get(i) == Some(&b'0') {
                    i += 1;
                }
                nt = Token::Digit;
                v = -(i as i128);
            }
            Token::DigitOrZero | Token::Digit | Token::SuffixNo | Token::RevisionNo => digits(&mut i, &mut v),
            Token::Letter => {
                v = i128::from(rest[0]);
                i = 1;
            }
            Token::Suffix => {
                if let Some(k) = PRE_SUFFIXES.iter().position(|p| rest.starts_with(p.as_bytes())) {
                    i = PRE_SUFFIXES[k].len();
                    v = k as i128 - PRE_SUFFIXES.len() as i128;
                } else if let Some(k) = POST_SUFFIXES.iter().position(|p| rest.starts_with(p.as_bytes())) {
                    i = POST_SUFFIXES[k].len();
                    v = k as i128;
                } else {
                    *ty = Token::Invalid;
                    return -1;
                }
            }
            Token::Invalid | Token::End => {
                *ty = Token::Invalid;
                return -1;
            }
        }
        self.pos += i;
        if self.rest().is_empty() {
            *ty = Token::End;
        } else if nt != Token::Invalid {
            *ty = nt;
        } else {
            self.next_token(ty);
        }
        v
    }
}

fn compare(a: &str, b: &str) -> Ordering {
    let (mut ca, mut cb) = (Cursor { s: a.as_bytes(), pos: 0 }, Cursor { s: b.as_bytes(), pos: 0 });
    let (mut at, mut bt) = (Token::Digit, Token::Digit);
    let (mut av, mut bv) = (0i128, 0i128);
    while at == bt && at != Token::End && at != Token::Invalid && av == bv {
        av = ca.get_token(&mut at);
        bv = cb.get_token(&mut bt);
    }
    match av.cmp(&bv) {
        Ordering::Equal => {}
        o => return o,
    }
    if at == bt {
        return Ordering::Equal;
    }
    // Equal so far: the longer one is greater unless what follows is a pre-release suffix.
    let mut tt = at;
    if at == Token::Suffix && ca.get_token(&mut tt) < 0 {
        return Ordering::Less;
    }
    let mut tt = bt;
    if bt == Token::Suffix && cb.get_token(&mut tt) < 0 {
        return Ordering::Greater;
    }
    bt.cmp(&at)
}

impl Version {
    /// Accepts what `apk_version_validate` accepts (and not the empty string).
    pub fn parse(s: &str) -> Result<Version, String> {
        if s.is_empty() {
            return Err("the version is empty".to_string());
        }
        let mut c = Cursor { s: s.as_bytes(), pos: 0 };
        let mut t = Token::Digit;
        while t != Token::End && t != Token::Invalid {
            c.get_token(&mut t);
        }
        if t == Token::End {
            Ok(Version { text: s.to_string() })
        } else {
            Err(format!(
                "not an apk version near byte {} (apk versions look like `1.2.3`, `1.2.3a_rc1`, `1.2.3_p2-r4`)",
                c.pos.min(s.len())
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.text, &other.text)
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

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
