//! Image references, parsed and normalised the way docker does.

use std::fmt;

use crate::digest::{Digest, parse_digest};
use crate::{Error, Result};

/// The registry that a reference without a domain points at.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// `registry/repository[:tag][@digest]`, normalised: `alpine` is `docker.io/library/alpine:latest`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses a reference like `docker pull` does. A reference with neither tag nor digest gets `latest`.
    pub fn parse(value: &str) -> Result<Reference> {
        let invalid = |reason: &str| Error::InvalidReference { value: value.to_string(), reason: reason.to_string() };
        if value.is_empty() {
            return Err(invalid("it is empty"));
        }
        if value.len() > 4096 {
            return Err(invalid("it is longer than 4096 characters"));
        }
        let (name_and_tag, digest) = match value.split_once('@') {
            Some((name, digest)) => (name, Some(parse_digest(digest).map_err(|e| invalid(&e.to_string()))?)),
            None => (value, None),
        };
        // A tag follows the last ':' that comes after the last '/'.
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => (&name_and_tag[..last_slash + i], Some(&name_and_tag[last_slash + i + 1..])),
            None => (name_and_tag, None),
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(invalid(&format!(
                "tag `{tag}` must be 1 to 128 characters of letters, digits, `_`, `.`, `-`, not starting with `.` or `-`"
            )));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        if !valid_registry(&registry) {
            return Err(invalid(&format!("registry `{registry}` is not a valid host[:port]")));
        }
        let registry = if registry == "index.docker.io" || registry == "registry-1.docker.io" {
            DEFAULT_REGISTRY.to_string()
        } else {
            registry
        };
        if repository.is_empty() {
            return Err(invalid("the repository name is empty"));
        }
        for component in repository.split('/') {
            if !valid_component(component) {
                return Err(invalid(&format!(
                    "repository component `{component}` must be lowercase letters and digits, separated by `.`, `_`, `__` or `-`"
                )));
            }
        }
        let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let tag = match (tag, &digest) {
            (Some(tag), _) => Some(tag.to_string()),
            (None, Some(_)) => None,
            (None, None) => Some("latest".to_string()),
        };
        Ok(Reference { registry, repository, tag, digest })
    }

    pub fn new(registry: &str, repository: &str, tag: Option<&str>, digest: Option<Digest>) -> Reference {
        Reference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest,
        }
    }

    /// The registry as written in references (`docker.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host to talk to: `docker.io` is served by `registry-1.docker.io`.
    pub fn registry_host(&self) -> &str {
        if self.registry == DEFAULT_REGISTRY { "registry-1.docker.io" } else { &self.registry }
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to ask the registry for: the digest when there is one, else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// The same repository at another tag.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference { tag: Some(tag.to_string()), digest: None, ..self.clone() }
    }

    /// The same repository pinned to a digest.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference { digest: Some(digest), ..self.clone() }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Reference::parse(s)
    }
}

/// Tags as the distribution spec defines them: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            i += 1;
            continue;
        }
        // A separator: `.`, `_`, `__` or a run of `-`.
        let start = i;
        match c {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < bytes.len() && bytes[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i >= bytes.len() || !(bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit()) || i == start {
            return false;
        }
    }
    true
}

fn valid_registry(registry: &str) -> bool {
    let (host, port) = match registry.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || registry.starts_with('[') => (h, Some(p)),
        _ => (registry, None),
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    if host.starts_with('[') && host.ends_with(']') {
        return host[1..host.len() - 1].parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        match Reference::parse(s) {
            Ok(r) => r.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn normalises_like_docker() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(norm("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(norm("alpine:3.20"), "docker.io/library/alpine:3.20");
        assert_eq!(norm("user/app"), "docker.io/user/app:latest");
        assert_eq!(norm("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("gcr.io/distroless/static:nonroot"), "gcr.io/distroless/static:nonroot");
        assert_eq!(norm("localhost/app"), "localhost/app:latest");
        assert_eq!(norm("127.0.0.1:5000/a/b/c:v1"), "127.0.0.1:5000/a/b/c:v1");
        assert_eq!(norm(&format!("host:5000/repo@{d}")), format!("host:5000/repo@{d}"));
        assert_eq!(norm(&format!("repo:tag@{d}")), format!("docker.io/library/repo:tag@{d}"));
        assert_eq!(
            norm("my-registry.local:443/team/app.svc_x__y:1.0-rc.1"),
            "my-registry.local:443/team/app.svc_x__y:1.0-rc.1"
        );
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "",
            "repo:",
            "repo:-tag",
            "repo@sha256:123",
            "a//b",
            "/abs",
            "repo/",
            "host:port/repo",
            "a_-b",
            &format!("repo:{}", "t".repeat(129)),
        ] {
            assert!(norm(bad).starts_with("error"), "{bad} parsed as {}", norm(bad));
        }
    }

    #[test]
    fn host_for_docker_hub() -> Result<()> {
        assert_eq!(Reference::parse("alpine")?.registry_host(), "registry-1.docker.io");
        assert_eq!(Reference::parse("127.0.0.1:5000/x")?.registry_host(), "127.0.0.1:5000");
        Ok(())
    }
}
