//! Image locations as the CLI writes them, in skopeo's transport syntax.

use std::fmt;
use std::path::PathBuf;

use crate::reference::Reference;
use crate::{Error, Result};

/// Where an image is read from or written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// `oci:DIR[:NAME]`: an OCI layout directory, optionally one named entry.
    Layout { path: PathBuf, name: Option<String> },
    /// `oci-archive:FILE[:NAME]`: an OCI layout in a tar file.
    OciArchive { path: PathBuf, name: Option<String> },
    /// `docker-archive:FILE[:REPO:TAG|@N]`: `docker save` format.
    DockerArchive { path: PathBuf, name: Option<String> },
    /// `dir:PATH`: a directory read as a one-layer image (read only).
    Dir { path: PathBuf },
    /// `REGISTRY/REPO[:TAG][@DIGEST]`, optionally prefixed with `docker://`.
    Registry(Reference),
}

impl Location {
    pub fn parse(value: &str) -> Result<Location> {
        let invalid = |reason: &str| Error::InvalidLocation { value: value.to_string(), reason: reason.to_string() };
        // Paths end at the first ':' after the transport, as in skopeo.
        let split = |rest: &str| -> Result<(PathBuf, Option<String>)> {
            let (path, name) = match rest.split_once(':') {
                Some((p, n)) => (p, Some(n.to_string()).filter(|n| !n.is_empty())),
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(invalid("the path is empty"));
            }
            Ok((PathBuf::from(path), name))
        };
        if let Some(rest) = value.strip_prefix("oci:") {
            let (path, name) = split(rest)?;
            Ok(Location::Layout { path, name })
        } else if let Some(rest) = value.strip_prefix("oci-archive:") {
            let (path, name) = split(rest)?;
            Ok(Location::OciArchive { path, name })
        } else if let Some(rest) = value.strip_prefix("docker-archive:") {
            let (path, name) = split(rest)?;
            Ok(Location::DockerArchive { path, name })
        } else if let Some(rest) = value.strip_prefix("dir:") {
            if rest.is_empty() {
                return Err(invalid("the path is empty"));
            }
            Ok(Location::Dir { path: PathBuf::from(rest) })
        } else if let Some(rest) = value.strip_prefix("docker://") {
            Ok(Location::Registry(Reference::parse(rest)?))
        } else if value.starts_with('/') || value.starts_with("./") || value.starts_with("../") {
            Err(invalid("a path needs a transport prefix"))
        } else {
            Reference::parse(value).map(Location::Registry).map_err(|e| invalid(&e.to_string()))
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_name = |f: &mut fmt::Formatter<'_>, prefix: &str, path: &PathBuf, name: &Option<String>| {
            write!(f, "{prefix}:{}", path.display())?;
            match name {
                Some(n) => write!(f, ":{n}"),
                None => Ok(()),
            }
        };
        match self {
            Location::Layout { path, name } => with_name(f, "oci", path, name),
            Location::OciArchive { path, name } => with_name(f, "oci-archive", path, name),
            Location::DockerArchive { path, name } => with_name(f, "docker-archive", path, name),
            Location::Dir { path } => write!(f, "dir:{}", path.display()),
            Location::Registry(r) => write!(f, "{r}"),
        }
    }
}

impl std::str::FromStr for Location {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Location::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_transports() -> Result<()> {
        assert_eq!(
            Location::parse("oci:/tmp/x:v1")?,
            Location::Layout { path: "/tmp/x".into(), name: Some("v1".into()) }
        );
        assert_eq!(Location::parse("oci:out")?, Location::Layout { path: "out".into(), name: None });
        assert_eq!(
            Location::parse("docker-archive:a.tar:app:1.0")?,
            Location::DockerArchive { path: "a.tar".into(), name: Some("app:1.0".into()) }
        );
        assert_eq!(Location::parse("oci-archive:a.tar")?, Location::OciArchive { path: "a.tar".into(), name: None });
        assert_eq!(Location::parse("dir:rootfs")?, Location::Dir { path: "rootfs".into() });
        assert_eq!(Location::parse("docker://alpine")?, Location::Registry(Reference::parse("alpine")?));
        assert_eq!(Location::parse("127.0.0.1:5000/a:b")?.to_string(), "127.0.0.1:5000/a:b");
        for bad in ["oci:", "dir:", "/abs/path", "./rel", "Bad Ref"] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
