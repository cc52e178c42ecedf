//! The gallery: golden definitions compiled into the binary (`gallery/<suite>/<name>.toml`),
//! each with a `-debug` variant that adds busybox.
//!
//! Names: `static` (bookworm), `bookworm/static`, `trixie/static`, and `-debug` after any of them.

use crate::Error;
use crate::definition::{FileKind, FileSpec, Loaded};

/// (suite, name, TOML)
const DEFINITIONS: &[(&str, &str, &str)] = &[
    ("bookworm", "static", include_str!("../../../gallery/bookworm/static.toml")),
    ("bookworm", "base", include_str!("../../../gallery/bookworm/base.toml")),
    ("bookworm", "cc", include_str!("../../../gallery/bookworm/cc.toml")),
    ("bookworm", "python3", include_str!("../../../gallery/bookworm/python3.toml")),
    ("bookworm", "java", include_str!("../../../gallery/bookworm/java.toml")),
    ("bookworm", "nodejs", include_str!("../../../gallery/bookworm/nodejs.toml")),
    ("trixie", "static", include_str!("../../../gallery/trixie/static.toml")),
    ("trixie", "base", include_str!("../../../gallery/trixie/base.toml")),
    ("trixie", "cc", include_str!("../../../gallery/trixie/cc.toml")),
    ("trixie", "python3", include_str!("../../../gallery/trixie/python3.toml")),
    ("trixie", "java", include_str!("../../../gallery/trixie/java.toml")),
    ("trixie", "nodejs", include_str!("../../../gallery/trixie/nodejs.toml")),
];

/// The suite plain names refer to.
pub const DEFAULT_SUITE: &str = "bookworm";

/// busybox applets linked under `/busybox` in `-debug` variants.
const APPLETS: &[&str] = &[
    "sh", "ash", "ls", "cat", "cp", "mv", "rm", "mkdir", "ln", "chmod", "chown", "env", "id", "ps", "top", "grep",
    "sed", "awk", "find", "head", "tail", "less", "vi", "wc", "sort", "uniq", "tr", "du", "df", "free", "which",
    "wget", "nslookup", "ping", "netstat", "hostname", "uname", "date", "sleep", "kill", "tar", "gzip", "gunzip",
    "stat", "touch", "printf", "echo", "test", "true", "false", "xargs", "dmesg", "mount", "pwd", "realpath",
];

/// One gallery entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `bookworm/static-debug`
    pub name: String,
    pub suite: String,
    pub description: String,
    pub debug: bool,
}

/// Every entry, release images first, `-debug` after each.
pub fn list() -> Vec<Entry> {
    let mut out = Vec::new();
    for (suite, name, text) in DEFINITIONS {
        let description = toml::from_str::<toml::Table>(text)
            .ok()
            .and_then(|t| t.get("description").and_then(|d| d.as_str()).map(str::to_string))
            .unwrap_or_default();
        out.push(Entry {
            name: format!("{suite}/{name}"),
            suite: suite.to_string(),
            description: description.clone(),
            debug: false,
        });
        out.push(Entry {
            name: format!("{suite}/{name}-debug"),
            suite: suite.to_string(),
            description: format!("{description}; with busybox in /busybox"),
            debug: true,
        });
    }
    out
}

/// Loads `NAME` (`static`, `trixie/python3-debug`).
pub fn load(name: &str) -> Result<Loaded, Error> {
    let (suite, rest) = name.split_once('/').unwrap_or((DEFAULT_SUITE, name));
    let (base, debug) = match rest.strip_suffix("-debug") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let Some((_, _, text)) = DEFINITIONS.iter().find(|(s, n, _)| *s == suite && *n == base) else {
        let available: Vec<String> = DEFINITIONS.iter().map(|(s, n, _)| format!("{s}/{n}")).collect();
        return Err(Error::Gallery { name: name.to_string(), available: available.join(", ") });
    };
    let origin = format!("gallery:{suite}/{rest}");
    let mut loaded = Loaded::from_text(text, &origin, None)?;
    if debug {
        let d = &mut loaded.definition;
        d.name = Some(format!("{}-debug", d.name.clone().unwrap_or_else(|| base.to_string())));
        d.packages.push("busybox-static".into());
        d.env.insert("PATH".into(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/busybox".into());
        for applet in APPLETS {
            d.files.push(FileSpec {
                path: format!("/busybox/{applet}"),
                kind: FileKind::Symlink,
                target: Some("/bin/busybox".into()),
                ..FileSpec::default()
            });
        }
        if d.entrypoint.is_none() {
            d.entrypoint = Some(vec!["/busybox/sh".into()]);
        }
        d.check(&origin)?;
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_loads() {
        for entry in list() {
            let loaded = load(&entry.name).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
            assert_eq!(loaded.definition.suite, entry.suite);
            assert!(!entry.description.is_empty(), "{}", entry.name);
        }
        assert_eq!(load("static").map(|l| l.origin).ok().as_deref(), Some("gallery:bookworm/static"));
        assert!(matches!(load("nope"), Err(Error::Gallery { .. })));
    }
}
