//! What a `FROM` names: the reference as written, its tag and digest, and what kind of base it is.

use pare_oci::Reference;
use serde::Serialize;

/// A base image as a `FROM` names it, after `ARG` substitution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BaseImage {
    /// The reference as written (`python:3.12-slim`, `gcr.io/distroless/static:nonroot`).
    pub written: String,
    /// Registry and repository, normalised (`docker.io/library/python`); `None` when it does not parse.
    pub name: Option<String>,
    /// The tag as written (`None`: no tag).
    pub tag: Option<String>,
    /// The digest as written (`sha256:…`).
    pub digest: Option<String>,
}

impl BaseImage {
    pub fn parse(written: &str) -> BaseImage {
        let (name_and_tag, digest) = match written.split_once('@') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (written, None),
        };
        // A tag follows the last ':' after the last '/' (a registry port comes before a '/').
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let tag = name_and_tag[last_slash..].rfind(':').map(|i| name_and_tag[last_slash + i + 1..].to_string());
        let name = Reference::parse(written).ok().map(|r| r.name());
        BaseImage { written: written.to_string(), name, tag, digest }
    }

    /// The repository without registry or `library/` (`python`, `distroless/static`), lowercase.
    pub fn short_name(&self) -> String {
        let name = self.name.clone().unwrap_or_else(|| self.written.to_ascii_lowercase());
        let name = name
            .strip_prefix("docker.io/library/")
            .or_else(|| name.strip_prefix("docker.io/"))
            .or_else(|| name.strip_prefix("mirror.gcr.io/library/"))
            .or_else(|| name.strip_prefix("mirror.gcr.io/"))
            .or_else(|| name.strip_prefix("public.ecr.aws/docker/library/"))
            .unwrap_or(&name);
        name.to_string()
    }

    /// The last path component of the repository (`python`, `static`).
    pub fn last_component(&self) -> String {
        let short = self.short_name();
        short.rsplit('/').next().unwrap_or(&short).to_string()
    }

    /// Whether the image is known to be a full operating system, and which family.
    pub fn full_os(&self) -> Option<&'static str> {
        let short = self.short_name();
        let tag = self.tag.as_deref().unwrap_or("").to_ascii_lowercase();
        if self.minimal() {
            return None;
        }
        let family = |name: &str| -> Option<&'static str> {
            Some(match name {
                "debian" | "buildpack-deps" => "Debian",
                "ubuntu" => "Ubuntu",
                "alpine" => "Alpine",
                "centos" | "fedora" | "rockylinux" | "almalinux" | "oraclelinux" | "amazonlinux" => "RPM-based",
                "archlinux" => "Arch",
                "opensuse/leap" | "opensuse/tumbleweed" => "openSUSE",
                "python" | "node" | "golang" | "rust" | "openjdk" | "eclipse-temurin" | "amazoncorretto" | "maven"
                | "gradle" | "php" | "ruby" | "perl" | "gcc" | "nginx" | "httpd" | "tomcat" | "haproxy" | "redis"
                | "postgres" | "mysql" | "mariadb" => {
                    if tag.contains("alpine") {
                        "Alpine"
                    } else if tag.contains("ubi") {
                        "RPM-based"
                    } else if tag.contains("jammy") || tag.contains("focal") || tag.contains("noble") {
                        "Ubuntu"
                    } else {
                        "Debian"
                    }
                }
                _ => return None,
            })
        };
        if let Some(f) = family(&short) {
            return Some(f);
        }
        // Red Hat's UBI and Microsoft's .NET images (Debian, or Ubuntu/Alpine by tag).
        if short.starts_with("ubi8/") || short.starts_with("ubi9/") || short.starts_with("ubi10/") {
            return Some("RPM-based");
        }
        if self.name.as_deref().is_some_and(|n| n.starts_with("mcr.microsoft.com/dotnet/")) {
            return Some(if tag.contains("alpine") { "Alpine" } else { "Debian" });
        }
        None
    }

    /// Whether the image is known to hold no shell and no package manager: distroless, Chainguard
    /// static, scratch.
    pub fn minimal(&self) -> bool {
        let name = self.name.as_deref().unwrap_or("");
        self.written == "scratch" || name.starts_with("gcr.io/distroless/") || name == "cgr.dev/chainguard/static"
    }

    /// Whether the image runs as a non-root user when the Dockerfile sets none: distroless
    /// `:nonroot` and `:debug-nonroot` tags, Chainguard images.
    pub fn runs_as_nonroot(&self) -> bool {
        let name = self.name.as_deref().unwrap_or("");
        let tag = self.tag.as_deref().unwrap_or("");
        (name.starts_with("gcr.io/distroless/") && tag.contains("nonroot")) || name.starts_with("cgr.dev/chainguard/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_digests_as_written() {
        let b = BaseImage::parse("127.0.0.1:5000/base/hello");
        assert_eq!((b.tag, b.digest), (None, None));
        let b = BaseImage::parse("python:3.12-slim@sha256:abc");
        assert_eq!((b.tag.as_deref(), b.digest.as_deref()), (Some("3.12-slim"), Some("sha256:abc")));
        assert_eq!(BaseImage::parse("docker.io/library/python:3").short_name(), "python");
    }

    #[test]
    fn families() {
        assert_eq!(BaseImage::parse("python:3.12-slim").full_os(), Some("Debian"));
        assert_eq!(BaseImage::parse("node:20-alpine").full_os(), Some("Alpine"));
        assert_eq!(BaseImage::parse("eclipse-temurin:17-jre-jammy").full_os(), Some("Ubuntu"));
        assert_eq!(BaseImage::parse("gcr.io/distroless/static:nonroot").full_os(), None);
        assert_eq!(BaseImage::parse("example.com/team/app:1").full_os(), None);
        assert!(BaseImage::parse("gcr.io/distroless/static:nonroot").runs_as_nonroot());
        assert!(!BaseImage::parse("gcr.io/distroless/static").runs_as_nonroot());
    }
}
