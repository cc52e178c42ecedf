//! Node: `node_modules/NAME/package.json` and `node_modules/@SCOPE/NAME/package.json`.

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
}
