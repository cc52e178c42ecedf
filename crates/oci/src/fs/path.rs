//! Lexical path handling for the merged filesystem: every path in a view is absolute and
//! normalised (`/usr/bin/x`), the root is `/`.

/// The components of a tar entry name after lexical normalisation (`./a//b/../c` → `a`, `c`).
/// A leading `/` is rootfs-relative, like in a container. `None` when `..` climbs above the root.
pub(crate) fn components(name: &str) -> Option<Vec<&str>> {
    let mut out: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// Joins components into an absolute path.
pub(crate) fn join(parts: &[&str]) -> String {
    let mut path = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>().max(1));
    for part in parts {
        path.push('/');
        path.push_str(part);
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

/// Normalises a path for lookups: relative paths start at the root and `..` stops there, as in
/// a container's root filesystem.
pub fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    join(&out)
}

/// The parent of a normalised path (`/` for top-level entries and for the root itself).
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of a normalised path (empty for the root).
pub(crate) fn file_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// The prefix every descendant of `dir` starts with.
pub(crate) fn subtree_prefix(dir: &str) -> String {
    if dir == "/" { "/".to_string() } else { format!("{dir}/") }
}

/// Whether a relative symlink target, resolved lexically from the directory holding the link,
/// climbs above the root. Absolute targets never do: they are rootfs-relative.
pub fn symlink_escapes(link_path: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut depth = components(parent(link_path)).map_or(0, |c| c.len());
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_names() {
        assert_eq!(components("./usr/bin/x"), Some(vec!["usr", "bin", "x"]));
        assert_eq!(components("/etc/passwd"), Some(vec!["etc", "passwd"]));
        assert_eq!(components("a/../b/"), Some(vec!["b"]));
        assert_eq!(components("./"), Some(vec![]));
        assert_eq!(components("../etc/x"), None);
        assert_eq!(components("a/../../x"), None);
        assert_eq!(join(&[]), "/");
        assert_eq!(join(&["a", "b"]), "/a/b");
        assert_eq!(normalize("../../etc//x/."), "/etc/x");
        assert_eq!(normalize(""), "/");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/"), "/");
        assert_eq!(file_name("/a/b"), "b");
        assert_eq!(file_name("/"), "");
    }

    #[test]
    fn symlink_escape_is_lexical() {
        assert!(!symlink_escapes("/usr/lib/x", "../../bin/sh"));
        assert!(symlink_escapes("/usr/lib/x", "../../../bin/sh"));
        assert!(symlink_escapes("/link", "../outside"));
        assert!(!symlink_escapes("/link", "/etc/../../x"));
        assert!(!symlink_escapes("/a/link", "b/../../c"));
        assert!(symlink_escapes("/a/link", "b/../../../c"));
    }
}
