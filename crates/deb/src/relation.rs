//! Relationship fields: `Depends: a (>= 1.0) | b:any, c [amd64]`.
//!
//! A field is a comma-separated list of [`Alternatives`], each a `|`-separated list of
//! [`Relation`]s: `name[:arch] [(op version)] [[arch list]] [<profiles>]...`.

use std::fmt;

use crate::Error;
use crate::version::{Version, VersionConstraint, VersionOp};

/// One package relation: `name[:arch] [(op version)] [[arch list]] [<profiles>]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Relation {
    pub name: String,
    /// `any`, `native` or an architecture after `:`.
    pub arch_qualifier: Option<String>,
    pub version: Option<VersionConstraint>,
    /// The `[...]` list as written (`amd64`, `!i386`, `linux-any`); empty when absent.
    pub arch_restrictions: Vec<String>,
    /// Each `<...>` build-profile formula as written; not evaluated.
    pub profiles: Vec<String>,
}

/// `a | b | c`: satisfied by the first relation that can be.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Alternatives(pub Vec<Relation>);

impl Relation {
    /// Parses a single relation (no `|` or `,`).
    pub fn parse(text: &str) -> Result<Relation, Error> {
        let err = |reason: String| Error::InvalidRelation { value: text.to_string(), reason };
        let s = text.trim();
        let name_end = s.find(|c: char| c.is_whitespace() || ":([<".contains(c)).unwrap_or(s.len());
        let name = &s[..name_end];
        if name.is_empty() {
            return Err(err("the package name is empty".into()));
        }
        if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "+-._".contains(*c))) {
            return Err(err(format!("invalid character `{}` in the package name", c.escape_default())));
        }
        let mut rest = &s[name_end..];
        let mut arch_qualifier = None;
        if let Some(after) = rest.strip_prefix(':') {
            let end = after.find(|c: char| c.is_whitespace() || "([<".contains(c)).unwrap_or(after.len());
            let qualifier = &after[..end];
            if qualifier.is_empty() || !qualifier.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(err(format!("invalid architecture qualifier `:{qualifier}`")));
            }
            arch_qualifier = Some(qualifier.to_string());
            rest = &after[end..];
        }
        rest = rest.trim_start();
        let mut version = None;
        if let Some(after) = rest.strip_prefix('(') {
            let close = after.find(')').ok_or_else(|| err("`(` without `)`".into()))?;
            let inside = after[..close].trim();
            let op_end = inside.find(|c: char| !"<>=".contains(c)).unwrap_or(inside.len());
            let op = VersionOp::parse(&inside[..op_end])
                .ok_or_else(|| err(format!("unknown version operator `{}`", &inside[..op_end])))?;
            let v = Version::parse(&inside[op_end..]).map_err(|e| err(e.to_string()))?;
            version = Some(VersionConstraint { op, version: v });
            rest = after[close + 1..].trim_start();
        }
        let mut arch_restrictions = Vec::new();
        if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or_else(|| err("`[` without `]`".into()))?;
            arch_restrictions = after[..close].split_whitespace().map(str::to_string).collect();
            if arch_restrictions.is_empty() {
                return Err(err("empty architecture list `[]`".into()));
            }
            rest = after[close + 1..].trim_start();
        }
        let mut profiles = Vec::new();
        while let Some(after) = rest.strip_prefix('<') {
            let close = after.find('>').ok_or_else(|| err("`<` without `>`".into()))?;
            profiles.push(after[..close].trim().to_string());
            rest = after[close + 1..].trim_start();
        }
        if !rest.is_empty() {
            return Err(err(format!("unexpected `{rest}`")));
        }
        Ok(Relation { name: name.to_string(), arch_qualifier, version, arch_restrictions, profiles })
    }

    /// Whether the `[...]` list lets this relation apply on `arch` (always, when there is none).
    pub fn applies_to(&self, arch: &str) -> bool {
        if self.arch_restrictions.is_empty() {
            return true;
        }
        let negated = self.arch_restrictions.iter().all(|a| a.starts_with('!'));
        let hit = self.arch_restrictions.iter().any(|a| arch_matches(a.trim_start_matches('!'), arch));
        if negated { !hit } else { hit }
    }

    /// Whether a package version satisfies the version constraint (always, when there is none).
    pub fn accepts_version(&self, version: &Version) -> bool {
        self.version.as_ref().is_none_or(|c| c.matches(version))
    }
}

/// Matches an architecture against a name or wildcard (`any`, `linux-any`, `any-amd64`).
fn arch_matches(pattern: &str, arch: &str) -> bool {
    pattern == arch
        || pattern == "any"
        || pattern == "linux-any"
        || pattern.strip_prefix("any-").is_some_and(|cpu| cpu == arch)
        || pattern.strip_prefix("linux-").is_some_and(|cpu| cpu == arch)
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(q) = &self.arch_qualifier {
            write!(f, ":{q}")?;
        }
        if let Some(c) = &self.version {
            write!(f, " ({c})")?;
        }
        if !self.arch_restrictions.is_empty() {
            write!(f, " [{}]", self.arch_restrictions.join(" "))?;
        }
        for p in &self.profiles {
            write!(f, " <{p}>")?;
        }
        Ok(())
    }
}

impl fmt::Display for Alternatives {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Parses a field with alternatives (`Depends`, `Pre-Depends`, `Recommends`, ...).
pub fn parse_alternatives(field: &str) -> Result<Vec<Alternatives>, Error> {
    let mut out = Vec::new();
    for group in split_list(field, field)? {
        let relations = group
            .split('|')
            .map(|r| {
                if r.trim().is_empty() {
                    Err(Error::InvalidRelation { value: group.trim().to_string(), reason: "empty alternative".into() })
                } else {
                    Relation::parse(r)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Alternatives(relations));
    }
    Ok(out)
}

/// Parses a field without alternatives (`Provides`, `Conflicts`, `Breaks`, `Replaces`).
pub fn parse_relations(field: &str) -> Result<Vec<Relation>, Error> {
    split_list(field, field)?
        .into_iter()
        .map(|r| {
            if r.contains('|') {
                Err(Error::InvalidRelation {
                    value: r.trim().to_string(),
                    reason: "alternatives (`|`) are not allowed here".into(),
                })
            } else {
                Relation::parse(r)
            }
        })
        .collect()
}

fn split_list<'a>(field: &'a str, whole: &str) -> Result<Vec<&'a str>, Error> {
    if field.trim().is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<&str> = field.split(',').collect();
    // A trailing comma is tolerated (as dpkg does); an empty item elsewhere is not.
    let last = items.len() - 1;
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if item.trim().is_empty() {
            if i == last && i > 0 {
                continue;
            }
            return Err(Error::InvalidRelation {
                value: whole.trim().to_string(),
                reason: "empty item between commas".into(),
            });
        }
        out.push(item);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_full_syntax() -> Result<(), Error> {
        let deps =
            parse_alternatives("a (>= 1.0) | b:any, c [amd64 !i386]\n , d:native (<<2:3~rc1) <!nocheck> <cross>,")?;
        assert_eq!(deps.len(), 3);
        assert_eq!(deps[0].0.len(), 2);
        let a = &deps[0].0[0];
        assert_eq!(a.name, "a");
        assert_eq!(a.version.as_ref().map(|c| (c.op, c.version.as_str())), Some((VersionOp::GreaterEq, "1.0")));
        assert_eq!(deps[0].0[1].arch_qualifier.as_deref(), Some("any"));
        assert_eq!(deps[1].0[0].arch_restrictions, ["amd64", "!i386"]);
        let d = &deps[2].0[0];
        assert_eq!(d.version.as_ref().map(|c| (c.op, c.version.as_str())), Some((VersionOp::Less, "2:3~rc1")));
        assert_eq!(d.profiles, ["!nocheck", "cross"]);
        assert_eq!(deps[0].to_string(), "a (>= 1.0) | b:any");
        assert_eq!(deps[2].to_string(), "d:native (<< 2:3~rc1) <!nocheck> <cross>");
        assert_eq!(parse_alternatives("")?, vec![]);
        Ok(())
    }

    #[test]
    fn display_parses_back() -> Result<(), Error> {
        for text in ["a", " a:any ( <  1.0~rc1 ) ", "a [ x  !y ] <  > <p q>", "a(>=1)", "lib.foo+_x:amd64 (>> 1:2-3)"] {
            let r = Relation::parse(text)?;
            assert_eq!(Relation::parse(&r.to_string())?, r, "{text:?}");
        }
        Ok(())
    }

    #[test]
    fn arch_restrictions() -> Result<(), Error> {
        let r = Relation::parse("x [amd64 arm64]")?;
        assert!(r.applies_to("amd64") && !r.applies_to("i386"));
        let r = Relation::parse("x [!amd64]")?;
        assert!(!r.applies_to("amd64") && r.applies_to("arm64"));
        assert!(Relation::parse("x [linux-any]")?.applies_to("arm64"));
        Ok(())
    }

    #[test]
    fn rejects_bad_relations() {
        for bad in [
            "a (>= 1.0",
            "a (=> 1.0)",
            "a (>= )",
            "a b",
            "(>= 1)",
            "a:",
            "a []",
            "a | | b",
            "a,,b",
            "a [amd64",
            "a <x",
            "a (>= 1:)",
            ", a",
        ] {
            assert!(parse_alternatives(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_relations("a | b").is_err());
        assert!(parse_relations("a (= 1.0), b").is_ok());
    }
}
