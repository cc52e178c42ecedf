//! Node: `node_modules/NAME/package.json` and `node_modules/@SCOPE/NAME/package.json`, and npm's
//! lockfiles (`package-lock.json`, `npm-shrinkwrap.json`, and the hidden lockfile
//! `node_modules/.package-lock.json`) for what they say is installed.

use serde_json::Value;

/// Whether `path` is a package's own `package.json` directly under a `node_modules` directory
/// (not one inside a package's test fixtures).
pub(crate) fn is_package_json(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else { return false };
    let Some(index) = dir.rfind("/node_modules/") else { return false };
    let rest = &dir[index + "/node_modules/".len()..];
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [name] => !name.is_empty() && !name.starts_with('.'),
        [scope, name] => scope.starts_with('@') && scope.len() > 1 && !name.is_empty(),
        _ => false,
    }
}

/// Whether `path` is an npm lockfile: an application's `package-lock.json` or
/// `npm-shrinkwrap.json` (not one shipped inside an installed package), or the hidden lockfile
/// npm 7+ writes at `node_modules/.package-lock.json`.
pub(crate) fn is_lockfile(path: &str) -> bool {
    if let Some(dir) = path.strip_suffix("/node_modules/.package-lock.json") {
        return !dir.contains("/node_modules/");
    }
    let Some((dir, name)) = path.rsplit_once('/') else { return false };
    matches!(name, "package-lock.json" | "npm-shrinkwrap.json") && !dir.contains("/node_modules/")
}

/// One package a lockfile lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Locked {
    pub name: String,
    pub version: String,
    pub license: Option<String>,
}

/// The packages of an npm lockfile, development dependencies left out (an image ships what
/// `npm ci --omit=dev` installs). Version 2 and 3 lockfiles list `packages` by install path;
/// version 1 nests `dependencies`. Links (workspace members) and entries without a version are
/// skipped.
pub(crate) fn parse_lockfile(text: &str) -> Result<Vec<Locked>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let mut out = Vec::new();
    if let Some(packages) = value.get("packages").and_then(Value::as_object) {
        for (key, entry) in packages {
            // "" is the project itself; keys are `node_modules/a/node_modules/@s/b`.
            let Some(index) = key.rfind("node_modules/") else { continue };
            let flag = |k: &str| entry.get(k).and_then(Value::as_bool).unwrap_or(false);
            if flag("link") || flag("dev") || flag("extraneous") {
                continue;
            }
            let from_key = &key[index + "node_modules/".len()..];
            // An alias (`"x": "npm:y@1"`) installs y under x's path; `name` says so.
            let name = entry.get("name").and_then(Value::as_str).unwrap_or(from_key);
            let Some(version) = entry.get("version").and_then(Value::as_str) else { continue };
            let license = entry.get("license").and_then(Value::as_str).map(str::to_string);
            out.push(Locked { name: name.to_string(), version: version.to_string(), license });
        }
        return Ok(out);
    }
    if let Some(dependencies) = value.get("dependencies").and_then(Value::as_object) {
        let mut stack: Vec<&serde_json::Map<String, Value>> = vec![dependencies];
        while let Some(map) = stack.pop() {
            for (name, entry) in map {
                if entry.get("dev").and_then(Value::as_bool).unwrap_or(false) {
                    continue;
                }
                if let Some(version) = entry.get("version").and_then(Value::as_str)
                    // v1 writes `file:`/`git+` specs as versions for non-registry packages.
                    && !version.contains(':')
                {
                    out.push(Locked { name: name.clone(), version: version.to_string(), license: None });
                }
                if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                    stack.push(nested);
                }
            }
        }
        return Ok(out);
    }
    Err("neither `packages` nor `dependencies`".into())
}

/// Name, version, license of a package.json. `Err` says what is missing.
pub(crate) fn parse(text: &str) -> Result<(String, String, Option<String>), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let field = |k: &str| value.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let name = field("name").ok_or("no `name` string")?.to_string();
    let version = field("version").ok_or("no `version` string")?.to_string();
    // `license` is a string (SPDX expression) or, in old packages, `{ "type": … }` or `licenses: [{ "type": … }]`.
    let license = match value.get("license") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o.get("type").and_then(Value::as_str).map(str::to_string),
        _ => value
            .get("licenses")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|l| l.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    Ok((name, version, license))
}

/// `pkg:npm/%40scope/name@version` or `pkg:npm/name@version`.
pub(crate) fn purl(name: &str, version: &str) -> Option<String> {
    match name.split_once('/') {
        Some((scope, short)) if scope.starts_with('@') => crate::lang::purl("npm", Some(scope), short, version, &[]),
        _ => crate::lang::purl("npm", None, name, version, &[]),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_purls() {
        assert!(is_package_json("/app/node_modules/semver/package.json"));
        assert!(is_package_json("/app/node_modules/a/node_modules/@types/semver/package.json"));
        assert!(!is_package_json("/app/node_modules/semver/test/package.json"));
        assert!(!is_package_json("/app/package.json"));
        assert_eq!(purl("@types/semver", "7.3.9").as_deref(), Some("pkg:npm/%40types/semver@7.3.9"));
        assert_eq!(
            parse(r#"{"name":"x","version":"1","licenses":[{"type":"MIT"}]}"#).unwrap().2.as_deref(),
            Some("MIT")
        );
        assert!(parse("{\"name\":\"x\"}").is_err());
    }

    #[test]
    fn lockfiles() {
        assert!(is_lockfile("/app/package-lock.json"));
        assert!(is_lockfile("/app/node_modules/.package-lock.json"));
        assert!(is_lockfile("/srv/npm-shrinkwrap.json"));
        assert!(!is_lockfile("/app/node_modules/x/package-lock.json"));
        assert!(!is_lockfile("/app/node_modules/x/node_modules/.package-lock.json"));
        let v3 = r#"{"lockfileVersion": 3, "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/express": {"version": "4.18.2", "license": "MIT"},
            "node_modules/@types/node": {"version": "20.1.0", "dev": true},
            "node_modules/a/node_modules/ms": {"version": "2.0.0"},
            "node_modules/lodash-es": {"name": "lodash", "version": "4.17.21"},
            "packages/lib": {"version": "0.1.0"},
            "node_modules/lib": {"resolved": "packages/lib", "link": true}}}"#;
        let got = parse_lockfile(v3).unwrap();
        // (Key order depends on serde_json's preserve_order feature: compare sorted.)
        let mut names: Vec<String> = got.iter().map(|l| format!("{}@{}", l.name, l.version)).collect();
        names.sort();
        assert_eq!(names, ["express@4.18.2", "lodash@4.17.21", "ms@2.0.0"]);
        let express = got.iter().find(|l| l.name == "express").unwrap();
        assert_eq!(express.license.as_deref(), Some("MIT"));
        let v1 = r#"{"lockfileVersion": 1, "dependencies": {
            "debug": {"version": "2.6.9", "dependencies": {"ms": {"version": "2.0.0"}}},
            "mocha": {"version": "10.0.0", "dev": true},
            "local": {"version": "file:../local"}}}"#;
        let mut names: Vec<String> =
            parse_lockfile(v1).unwrap().iter().map(|l| format!("{}@{}", l.name, l.version)).collect();
        names.sort();
        assert_eq!(names, ["debug@2.6.9", "ms@2.0.0"]);
        assert!(parse_lockfile("[1]").is_err());
        assert!(parse_lockfile("{").is_err());
    }
}
