use std::path::PathBuf;

use crate::Digest;

/// Everything that can go wrong while reading, writing or moving images.
///
/// Each variant names the thing it is about (a blob digest, a file, a path inside a layer, a URL)
/// so the CLI can print a message a user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("I/O error on `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("I/O error while {context}")]
    Stream {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("Blob `{digest}` is corrupt: expected {expected_size} bytes, got {actual_size}")]
    SizeMismatch { digest: Digest, expected_size: u64, actual_size: u64 },
    #[error("Blob `{digest}` is corrupt: its content hashes to `{actual}`")]
    DigestMismatch { digest: Digest, actual: Digest },
    #[error("Blob `{digest}` not found in {location}")]
    BlobNotFound { digest: Digest, location: String },
    #[error("Invalid digest `{value}`: {reason}")]
    InvalidDigest { value: String, reason: String },
    #[error("Invalid image reference `{value}`: {reason}")]
    InvalidReference { value: String, reason: String },
    #[error(
        "Invalid image location `{value}`: {reason}\nhint: use oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF], dir:PATH or a registry reference such as registry.example.com/app:1.0"
    )]
    InvalidLocation { value: String, reason: String },
    #[error(
        "`{}`: no such file or directory\nhint: check the path; a registry reference has no leading `/`, `./` or `../` and no file extension (write docker://NAME for one)",
        path.display()
    )]
    NoSuchFile { path: PathBuf },
    #[error("`{}` is a file but not an image: {reason}", path.display())]
    NotAnImage { path: PathBuf, reason: String },
    #[error("Malformed {what} in {location}: {reason}")]
    Malformed { what: String, location: String, reason: String },
    #[error("Unsupported media type `{media_type}` for {what} in {location}")]
    UnsupportedMediaType { media_type: String, what: String, location: String },
    #[error(
        "`{location}` cannot hold referrers (SBOMs, signatures)\nhint: copy between oci:DIR layouts and registries to carry them, or drop --referrers"
    )]
    CannotHoldReferrers { location: String },
    #[error(
        "SOURCE_DATE_EPOCH=`{value}`: {reason}\nhint: set it to seconds since 1970 (e.g. `$(git log -1 --format=%ct)`), or unset it"
    )]
    SourceDateEpoch { value: String, reason: String },
    #[error("{what} `{name}` not found in {location}{hint}")]
    NotFound { what: String, name: String, location: String, hint: String },
    #[error("No image for platform `{platform}` in {location}; available: {available}")]
    NoMatchingPlatform { platform: String, location: String, available: String },
    // Paths from layers are shown escaped: a line break or escape sequence in a name stays visible.
    #[error("Layer `{layer}` entry `{}`: {reason}", crate::escape_control(path))]
    UnsafeEntry { layer: String, path: String, reason: String },
    #[error("Path `{}` in the image filesystem: {reason}", crate::escape_control(path))]
    FsPath { path: String, reason: String },
    #[error("Refusing to unpack into `{path}`: {reason}")]
    UnpackTarget { path: PathBuf, reason: String },
    #[error("Refusing to continue: {what} exceeds the limit of {limit} ({hint})")]
    LimitExceeded { what: String, limit: u64, hint: String },
    #[error("Registry {url}: {message}")]
    Registry { url: String, status: Option<u16>, message: String },
    #[error("Authentication to {registry} failed: {message}")]
    Auth { registry: String, message: String },
    #[error("HTTP request to {url} failed")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    pub(crate) fn stream(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Stream { context, source }
    }

    pub(crate) fn malformed(what: impl Into<String>, location: impl Into<String>, reason: impl ToString) -> Error {
        Error::Malformed { what: what.into(), location: location.into(), reason: reason.to_string() }
    }

    /// Turns an `io::Error` that carries one of our errors (from a verifying reader) back into it.
    pub(crate) fn from_io(context: impl Into<String>, err: std::io::Error) -> Error {
        match err.downcast::<Error>() {
            Ok(ours) => ours,
            Err(source) => Error::Stream { context: context.into(), source },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
