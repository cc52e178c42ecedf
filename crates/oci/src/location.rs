//! Image locations as the CLI writes them, in skopeo's transport syntax.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

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
    /// Parses a location by its syntax alone (destinations, locations in definitions). A bare path
    /// (a leading `/`, `./`, `../`, or a file extension such as `.tar`) needs a transport prefix.
    pub fn parse(value: &str) -> Result<Location> {
        if let Some(location) = with_transport(value) {
            return location;
        }
        if looks_like_path(value) {
            return Err(invalid(value, "a path needs a transport prefix"));
        }
        Reference::parse(value).map(Location::Registry).map_err(|e| invalid(value, &e.to_string()))
    }

    /// Parses a location to write to: as [`Location::parse`], and a path that exists here is never a
    /// registry reference.
    pub fn parse_destination(value: &str) -> Result<Location> {
        if let Some(location) = with_transport(value) {
            return location;
        }
        if exists(value) {
            return Err(invalid(
                value,
                "it is a local path; name its transport (oci:PATH, oci-archive:PATH, docker-archive:PATH), \
                 or write docker://NAME for a registry",
            ));
        }
        Location::parse(value)
    }

    /// Parses a location to read from. Without a transport prefix, a path that exists is read by its
    /// content, never as a registry reference: a directory with `oci-layout` is an OCI layout, another
    /// directory a root filesystem (`dir:`), a tar archive an OCI or Docker archive. A file that is
    /// not an image archive is [`Error::NotAnImage`] (callers that read SBOMs take the path from it);
    /// a missing path that looks like one is [`Error::NoSuchFile`].
    pub fn parse_source(value: &str) -> Result<Location> {
        if let Some(location) = with_transport(value) {
            return location;
        }
        if exists(value) {
            return Location::from_path(Path::new(value));
        }
        if looks_like_path(value) {
            return Err(Error::NoSuchFile { path: PathBuf::from(value) });
        }
        Location::parse(value)
    }

    /// The location of an existing path, judged by its content (see [`Location::parse_source`]).
    pub fn from_path(path: &Path) -> Result<Location> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NoSuchFile { path: path.to_path_buf() },
            _ => Error::Io { path: path.to_path_buf(), source: e },
        })?;
        let not_image = |reason: &str| Error::NotAnImage { path: path.to_path_buf(), reason: reason.to_string() };
        if meta.is_dir() {
            return Ok(if path.join("oci-layout").is_file() {
                Location::Layout { path: path.to_path_buf(), name: None }
            } else {
                Location::Dir { path: path.to_path_buf() }
            });
        }
        if !meta.is_file() {
            // A pipe or device is read once, by whoever takes it.
            return Err(not_image("not a regular file or a directory"));
        }
        let mut file = File::open(path).map_err(Error::io(path))?;
        let mut head = Vec::with_capacity(512);
        (&mut file).take(512).read_to_end(&mut head).map_err(Error::io(path))?;
        if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            return Err(not_image("a compressed file; decompress an image archive first (gunzip, zstd -d)"));
        }
        if head.len() < 512 || head.get(257..262) != Some(b"ustar".as_slice()) {
            return Err(not_image("not a tar archive (an OCI archive or `docker save` output)"));
        }
        let (mut oci_layout, mut index, mut docker_manifest) = (false, false, false);
        file.seek(SeekFrom::Start(0)).map_err(Error::io(path))?;
        let mut archive = tar::Archive::new(BufReader::new(file));
        let location = path.display().to_string();
        // Only headers are read: entry data is skipped by seeking.
        let entries = archive.entries_with_seek().map_err(|e| Error::malformed("tar archive", &location, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::malformed("tar archive", &location, e))?;
            let name = entry.path().map_err(|e| Error::malformed("tar entry name", &location, e))?;
            match name.to_string_lossy().trim_start_matches("./") {
                "oci-layout" => oci_layout = true,
                "index.json" => index = true,
                "manifest.json" => docker_manifest = true,
                _ => {}
            }
        }
        // `docker save` of Docker 25+ is both; the OCI layout keeps the manifests as they are.
        if oci_layout && index {
            Ok(Location::OciArchive { path: path.to_path_buf(), name: None })
        } else if docker_manifest {
            Ok(Location::DockerArchive { path: path.to_path_buf(), name: None })
        } else {
            Err(not_image(
                "a tar archive with neither `oci-layout` and `index.json` (an OCI archive) nor `manifest.json` \
                 (`docker save` output)",
            ))
        }
    }
}

fn invalid(value: &str, reason: &str) -> Error {
    Error::InvalidLocation { value: value.to_string(), reason: reason.to_string() }
}

/// The location named by a transport prefix (`oci:`, `oci-archive:`, `docker-archive:`, `dir:`,
/// `docker://`), or `None` without one.
fn with_transport(value: &str) -> Option<Result<Location>> {
    // Paths end at the first ':' after the transport, as in skopeo.
    let split = |rest: &str| -> Result<(PathBuf, Option<String>)> {
        let (path, name) = match rest.split_once(':') {
            Some((p, n)) => (p, Some(n.to_string()).filter(|n| !n.is_empty())),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(invalid(value, "the path is empty"));
        }
        Ok((PathBuf::from(path), name))
    };
    Some(if let Some(rest) = value.strip_prefix("oci:") {
        split(rest).map(|(path, name)| Location::Layout { path, name })
    } else if let Some(rest) = value.strip_prefix("oci-archive:") {
        split(rest).map(|(path, name)| Location::OciArchive { path, name })
    } else if let Some(rest) = value.strip_prefix("docker-archive:") {
        split(rest).map(|(path, name)| Location::DockerArchive { path, name })
    } else if let Some(rest) = value.strip_prefix("dir:") {
        if rest.is_empty() { Err(invalid(value, "the path is empty")) } else { Ok(Location::Dir { path: rest.into() }) }
    } else if let Some(rest) = value.strip_prefix("docker://") {
        Reference::parse(rest).map(Location::Registry)
    } else {
        return None;
    })
}

fn exists(value: &str) -> bool {
    !value.is_empty() && std::fs::symlink_metadata(value).is_ok()
}

/// Whether a value without a transport is meant as a file: a registry reference never starts with
/// `/`, `./` or `../`, nor ends in a file extension.
fn looks_like_path(value: &str) -> bool {
    const EXTENSIONS: [&str; 9] = [".json", ".spdx", ".cdx", ".tar", ".tgz", ".gz", ".zst", ".xml", ".txt"];
    let lower = value.to_ascii_lowercase();
    value.starts_with('/')
        || value.starts_with("./")
        || value.starts_with("../")
        || value == "."
        || value == ".."
        || EXTENSIONS.iter().any(|e| lower.ends_with(e))
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
#[allow(clippy::unwrap_used)]
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

    fn tar_with(path: &Path, names: &[&str]) {
        let mut builder = tar::Builder::new(File::create(path).unwrap());
        for name in names {
            let mut header = tar::Header::new_ustar();
            header.set_size(2);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, &b"{}"[..]).unwrap();
        }
        builder.finish().unwrap();
    }

    #[test]
    fn sources_are_read_by_content_and_paths_are_never_registry_references() {
        let tmp = tempfile::tempdir().unwrap();
        let at = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
        std::fs::create_dir(tmp.path().join("layout")).unwrap();
        std::fs::write(tmp.path().join("layout/oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        std::fs::create_dir(tmp.path().join("rootfs")).unwrap();
        tar_with(&tmp.path().join("image.oci"), &["oci-layout", "index.json", "blobs/sha256/aa"]);
        tar_with(&tmp.path().join("saved"), &["manifest.json", "x/layer.tar"]);
        tar_with(&tmp.path().join("both.tar"), &["manifest.json", "./oci-layout", "./index.json"]);
        tar_with(&tmp.path().join("other.tar"), &["etc/passwd"]);
        std::fs::write(tmp.path().join("app"), "SPDXVersion: SPDX-2.3\n").unwrap();
        std::fs::write(tmp.path().join("bom.json"), "\u{feff}{}").unwrap();
        std::fs::write(tmp.path().join("app.tar.gz"), [0x1f, 0x8b, 8, 0]).unwrap();

        let layout = Location::parse_source(&at("layout")).unwrap();
        assert_eq!(layout, Location::Layout { path: at("layout").into(), name: None });
        assert_eq!(Location::parse_source(&at("rootfs")).unwrap(), Location::Dir { path: at("rootfs").into() });
        assert!(matches!(Location::parse_source(&at("image.oci")).unwrap(), Location::OciArchive { name: None, .. }));
        assert!(matches!(Location::parse_source(&at("saved")).unwrap(), Location::DockerArchive { name: None, .. }));
        assert!(matches!(Location::parse_source(&at("both.tar")).unwrap(), Location::OciArchive { .. }));
        for (file, says) in
            [("other.tar", "neither"), ("app", "not a tar"), ("bom.json", "not a tar"), ("app.tar.gz", "compressed")]
        {
            match Location::parse_source(&at(file)) {
                Err(e @ Error::NotAnImage { .. }) => assert!(e.to_string().contains(says), "{file}: {e}"),
                other => panic!("{file}: {other:?}"),
            }
        }
        for missing in [at("gone.json"), "./missing.spdx.json".into(), "app.spdx.json".into(), "x.tar".into()] {
            match Location::parse_source(&missing) {
                Err(e @ Error::NoSuchFile { .. }) => assert!(e.to_string().contains(&missing), "{e}"),
                other => panic!("{missing}: {other:?}"),
            }
        }
        assert!(matches!(Location::parse_source("alpine:3.20").unwrap(), Location::Registry(_)));
        assert!(matches!(
            Location::parse_source(&format!("oci:{}", at("image.oci"))).unwrap(),
            Location::Layout { .. }
        ));
        // A destination that exists here is refused rather than pushed to a registry of that name.
        assert!(Location::parse_destination(&at("rootfs")).is_err());
        assert!(matches!(Location::parse_destination("127.0.0.1:5000/a:b").unwrap(), Location::Registry(_)));
        assert!(Location::parse("app.tar").is_err(), "a file name is not a registry reference");
    }
}
