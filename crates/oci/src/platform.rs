use std::fmt;

use crate::{Error, Result};

/// `os/architecture[/variant]`, as in `linux/arm64/v8`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        Platform { os: os.to_string(), architecture: architecture.to_string(), variant: variant.map(str::to_string) }
    }

    /// The platform of this machine, in OCI's names (`amd64`, `arm64`).
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "arm" => "arm",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            other => other,
        };
        Platform::new("linux", architecture, None)
    }

    pub fn parse(value: &str) -> Result<Platform> {
        let parts: Vec<&str> = value.split('/').collect();
        let bad = || Error::InvalidLocation {
            value: value.to_string(),
            reason: "a platform is OS/ARCH[/VARIANT], such as linux/amd64 or linux/arm64/v8".into(),
        };
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform::new(os, arch, Some(variant)))
            }
            _ => Err(bad()),
        }
    }

    /// Whether an image of platform `other` can serve a request for `self`.
    /// A request without a variant accepts any variant; `arm64` treats a missing variant as `v8`.
    pub fn matches(&self, other: &Platform) -> bool {
        if self.os != other.os || self.architecture != other.architecture {
            return false;
        }
        match (&self.variant, &other.variant) {
            (None, _) => true,
            (Some(want), Some(have)) => want == have,
            (Some(want), None) => self.architecture == "arm64" && want == "v8",
        }
    }

    pub(crate) fn from_oci(p: &oci_spec::image::Platform) -> Platform {
        Platform { os: p.os().to_string(), architecture: p.architecture().to_string(), variant: p.variant().clone() }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}
