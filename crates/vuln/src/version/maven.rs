//! Maven's version order: a port of `org.apache.maven.artifact.versioning.ComparableVersion` as in
//! apache/maven master (`compat/maven-artifact`, with `CombinationItem`, MNG-7644 and MNG-7714), because no
//! maintained crate implements it. Differences: only ASCII digits count as digits, and unknown qualifiers
//! compare by Unicode code point (Java compares UTF-16 units; they differ only above U+FFFF).

use std::cmp::Ordering;
use std::fmt;

/// A Maven version: never fails to parse (as in Maven), but the empty string is refused by [`Version::parse`].
#[derive(Clone, Debug)]
pub struct Version {
    text: String,
    items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    /// Digits without leading zeros; `width` is Maven's Int/Long/BigInteger class (0, 1, 2), which
    /// orders numbers of different classes regardless of value (only all-zero numbers can be affected).
    Number {
        width: u8,
        digits: String,
    },
    Str(String),
    Combination {
        string: String,
        digits: Box<Item>,
    },
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_QUALIFIERS: [&str; 3] = ["ga", "final", "release"];
/// `String.valueOf(QUALIFIERS.indexOf(""))`.
const RELEASE_INDEX: &str = "5";

fn comparable_qualifier(q: &str) -> String {
    if RELEASE_QUALIFIERS.contains(&q) {
        return RELEASE_INDEX.to_string();
    }
    match QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", QUALIFIERS.len()),
    }
}

fn string_item(value: &str, followed_by_digit: bool) -> String {
    let v = match value {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        other => other,
    };
    if v == "cr" { "rc".to_string() } else { v.to_string() }
}

fn number(buf: &str) -> Item {
    // stripLeadingZeroes keeps an all-zero string as it is.
    let stripped = buf.trim_start_matches('0');
    let kept = if buf.is_empty() {
        "0"
    } else if stripped.is_empty() {
        buf
    } else {
        stripped
    };
    let width = match kept.len() {
        0..=9 => 0,
        10..=18 => 1,
        _ => 2,
    };
    let value = kept.trim_start_matches('0');
    Item::Number { width, digits: value.to_string() }
}

fn parse_item(is_combination: bool, is_digit: bool, buf: &str) -> Item {
    if is_combination {
        let buf = buf.replace('-', "");
        let index = buf.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
        let (s, d) = buf.split_at(index);
        Item::Combination { string: string_item(s, true), digits: Box::new(number_or_zero(d)) }
    } else if is_digit {
        number(buf)
    } else {
        Item::Str(string_item(buf, false))
    }
}

/// Java would throw `NumberFormatException` on a combination without digits; that cannot come out of the
/// parser below, but a non-digit tail is read as 0 rather than failing.
fn number_or_zero(d: &str) -> Item {
    if d.bytes().all(|b| b.is_ascii_digit()) { number(d) } else { number("0") }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Number { digits, .. } => digits.is_empty(),
            Item::Str(s) => s.is_empty(),
            Item::Combination { .. } => false,
            Item::List(l) => l.is_empty(),
        }
    }

    fn cmp_numbers(aw: u8, ad: &str, bw: u8, bd: &str) -> Ordering {
        aw.cmp(&bw).then_with(|| ad.len().cmp(&bd.len())).then_with(|| ad.cmp(bd))
    }

    /// `Item.compareTo(item)`, with `None` for Java's `null`.
    fn compare(&self, other: Option<&Item>) -> Ordering {
        use Ordering::{Equal, Greater, Less};
        match self {
            Item::Number { width, digits } => match other {
                None => {
                    if digits.is_empty() {
                        Equal
                    } else {
                        Greater
                    }
                }
                Some(Item::Number { width: w, digits: d }) => Item::cmp_numbers(*width, digits, *w, d),
                Some(_) => Greater,
            },
            Item::Str(value) => match other {
                None => comparable_qualifier(value).as_str().cmp(RELEASE_INDEX),
                Some(Item::Number { .. }) | Some(Item::List(_)) => Less,
                Some(Item::Str(o)) => comparable_qualifier(value).cmp(&comparable_qualifier(o)),
                Some(Item::Combination { string, .. }) => {
                    match comparable_qualifier(value).cmp(&comparable_qualifier(string)) {
                        Equal => Less,
                        r => r,
                    }
                }
            },
            Item::Combination { string, digits } => match other {
                None => Item::Str(string.clone()).compare(None),
                Some(Item::Number { .. }) | Some(Item::List(_)) => Less,
                Some(Item::Str(o)) => match comparable_qualifier(string).cmp(&comparable_qualifier(o)) {
                    Equal => Greater,
                    r => r,
                },
                Some(Item::Combination { string: os, digits: od }) => {
                    match comparable_qualifier(string).cmp(&comparable_qualifier(os)) {
                        Equal => digits.compare(Some(od)),
                        r => r,
                    }
                }
            },
            Item::List(items) => match other {
                None => {
                    for i in items {
                        let r = i.compare(None);
                        if r != Equal {
                            return r;
                        }
                    }
                    Equal
                }
                Some(Item::Number { .. }) => Less,
                Some(Item::Str(_)) | Some(Item::Combination { .. }) => Greater,
                Some(Item::List(o)) => compare_lists(items, o),
            },
        }
    }
}

fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    let n = a.len().max(b.len());
    for k in 0..n {
        let r = match (a.get(k), b.get(k)) {
            (None, None) => Ordering::Equal,
            (None, Some(r)) => r.compare(None).reverse(),
            (Some(l), r) => l.compare(r),
        };
        if r != Ordering::Equal {
            return r;
        }
    }
    Ordering::Equal
}

fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if !list[i].is_null() {
            continue;
        }
        let remove = match list.get(i + 1) {
            None => true,
            Some(Item::Str(_)) => true,
            Some(Item::List(next)) => matches!(next.first(), Some(Item::Combination { .. }) | Some(Item::Str(_))),
            Some(_) => false,
        };
        if remove {
            list.remove(i);
        }
    }
}

/// A tree under construction: the Java code keeps a stack of nested lists, each new one the last element of
/// the previous; here `path` holds the nesting depth and items are pushed at the deepest open list.
struct Builder {
    lists: Vec<Vec<Item>>,
}

impl Builder {
    fn current(&mut self) -> &mut Vec<Item> {
        // `lists` always holds the root.
        let last = self.lists.len() - 1;
        &mut self.lists[last]
    }

    fn add(&mut self, item: Item) {
        self.current().push(item);
    }

    fn open_sublist(&mut self) {
        self.lists.push(Vec::new());
    }

    fn finish(mut self) -> Vec<Item> {
        while self.lists.len() > 1 {
            let mut inner = self.lists.pop().unwrap_or_default();
            normalize(&mut inner);
            self.current().push(Item::List(inner));
        }
        let mut root = self.lists.pop().unwrap_or_default();
        normalize(&mut root);
        root
    }
}

fn parse_items(version: &str) -> Vec<Item> {
    let lower = version.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let text = |from: usize, to: usize| -> String { chars[from..to].iter().collect() };
    let mut b = Builder { lists: vec![Vec::new()] };
    let mut is_digit = false;
    let mut is_combination = false;
    let mut start = 0usize;
    let mut i = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c == '.' {
            if i == start {
                b.add(number("0"));
            } else {
                b.add(parse_item(is_combination, is_digit, &text(start, i)));
            }
            is_combination = false;
            start = i + 1;
        } else if c == '-' {
            if i == start {
                b.add(number("0"));
            } else {
                // `X-1` is read as `X1`.
                if !is_digit && i != chars.len() - 1 && chars[i + 1].is_ascii_digit() {
                    is_combination = true;
                    i += 1;
                    continue;
                }
                b.add(parse_item(is_combination, is_digit, &text(start, i)));
            }
            start = i + 1;
            if !b.current().is_empty() {
                b.open_sublist();
            }
            is_combination = false;
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                is_combination = true;
                if !b.current().is_empty() {
                    b.open_sublist();
                }
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                b.add(parse_item(is_combination, true, &text(start, i)));
                start = i;
                b.open_sublist();
                is_combination = false;
            }
            is_digit = false;
        }
        i += 1;
    }
    if chars.len() > start {
        // 1.0.0.X1 < 1.0.0-X2: `.X` is read as `-X` for a qualifier X.
        if !is_digit && !b.current().is_empty() {
            b.open_sublist();
        }
        b.add(parse_item(is_combination, is_digit, &text(start, chars.len())));
    }
    b.finish()
}

impl Version {
    pub fn parse(s: &str) -> Result<Version, String> {
        if s.trim().is_empty() {
            return Err("the version is empty".to_string());
        }
        Ok(Version { text: s.to_string(), items: parse_items(s) })
    }

    /// Maven's `getCanonical()`.
    pub fn canonical(&self) -> String {
        fn list(items: &[Item], out: &mut String) {
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(if matches!(item, Item::List(_)) { '-' } else { '.' });
                }
                one(item, out);
            }
        }
        fn one(item: &Item, out: &mut String) {
            match item {
                Item::Number { digits, .. } => out.push_str(if digits.is_empty() { "0" } else { digits }),
                Item::Str(s) => out.push_str(s),
                Item::Combination { string, digits } => {
                    out.push_str(string);
                    one(digits, out);
                }
                Item::List(l) => list(l, out),
            }
        }
        let mut out = String::new();
        list(&self.items, &mut out);
        out
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_lists(&self.items, &other.items)
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
