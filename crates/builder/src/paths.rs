//! Path rules: which files of the packages are kept. Patterns are `/`-separated globs relative
//! to the root; `*` and `?` match within one component, `**` any number of components. A pattern
//! matches a path and everything under it.

use crate::definition::PathRules;

/// Left out by default: documentation, manuals, translations, lintian and bug-reporting files.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    "usr/share/doc",
    "usr/share/doc-base",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/share/linda",
    "usr/share/bug",
    "usr/share/reportbug",
];

/// Kept by default although excluded above: license texts.
pub const DEFAULT_INCLUDES: &[&str] = &["usr/share/doc/*/copyright"];

/// Compiled rules.
#[derive(Clone, Debug)]
pub struct PathFilter {
    exclude: Vec<Vec<String>>,
    include: Vec<Vec<String>>,
}

fn split(pattern: &str) -> Vec<String> {
    pattern.trim_matches('/').split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_string).collect()
}

impl PathFilter {
    pub fn new(rules: &PathRules) -> PathFilter {
        let defaults =
            |list: &[&str]| if rules.default_excludes { list.iter().map(|p| split(p)).collect() } else { Vec::new() };
        let mut exclude: Vec<Vec<String>> = defaults(DEFAULT_EXCLUDES);
        exclude.extend(rules.exclude.iter().map(|p| split(p)));
        let mut include: Vec<Vec<String>> = defaults(DEFAULT_INCLUDES);
        include.extend(rules.include.iter().map(|p| split(p)));
        PathFilter { exclude, include }
    }

    /// Whether `path` (relative, `/`-separated) stays in the image.
    pub fn keeps(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let hit = |patterns: &[Vec<String>]| patterns.iter().any(|p| matches_prefix(p, &parts));
        !hit(&self.exclude) || hit(&self.include)
    }

    /// Whether an excluded directory must stay because something kept may lie below it.
    pub fn may_keep_below(&self, dir: &str) -> bool {
        let parts: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
        self.include.iter().any(|p| could_extend(p, &parts))
    }
}

/// Whether `pattern` matches `path` or one of its ancestors.
fn matches_prefix(pattern: &[String], path: &[&str]) -> bool {
    (0..=path.len()).any(|n| glob_parts(pattern, &path[..n]))
}

/// Whether some path below `dir` could match `pattern`.
fn could_extend(pattern: &[String], dir: &[&str]) -> bool {
    if pattern.iter().any(|p| p == "**") {
        return true;
    }
    pattern.len() > dir.len() && pattern.iter().zip(dir).all(|(p, d)| glob(p, d))
}

fn glob_parts(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => (0..=path.len()).any(|n| glob_parts(rest, &path[n..])),
        Some((first, rest)) => path.split_first().is_some_and(|(p, prest)| glob(first, p) && glob_parts(rest, prest)),
    }
}

/// `*` and `?` within one component.
fn glob(pattern: &str, text: &str) -> bool {
    pare_oci::wildcard_match(pattern, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_copyright_only() {
        let f = PathFilter::new(&PathRules::default());
        assert!(!f.keeps("usr/share/doc"));
        assert!(!f.keeps("usr/share/doc/libc6/changelog.gz"));
        assert!(f.keeps("usr/share/doc/libc6/copyright"));
        assert!(!f.keeps("usr/share/man/man1/ls.1.gz"));
        assert!(!f.keeps("usr/share/locale/de/LC_MESSAGES/x.mo"));
        assert!(f.keeps("usr/share/zoneinfo/UTC"));
        assert!(f.keeps("usr/share/documentation"));
        assert!(f.may_keep_below("usr/share/doc"));
        assert!(f.may_keep_below("usr/share/doc/libc6"));
        assert!(!f.may_keep_below("usr/share/man"));
    }

    #[test]
    fn globs() {
        let rules = PathRules {
            default_excludes: false,
            exclude: vec!["usr/lib/**/*.a".into(), "usr/share/zoneinfo/right".into(), "etc/x?.conf".into()],
            include: vec![],
        };
        let f = PathFilter::new(&rules);
        assert!(!f.keeps("usr/lib/x86_64-linux-gnu/libc.a"));
        assert!(!f.keeps("usr/lib/libz.a"));
        assert!(f.keeps("usr/lib/libz.so"));
        assert!(!f.keeps("usr/share/zoneinfo/right/UTC"));
        assert!(!f.keeps("etc/x1.conf"));
        assert!(f.keeps("etc/x12.conf"));
        assert!(f.keeps("usr/share/doc/a/changelog"));
    }
}
