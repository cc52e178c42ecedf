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
    #[error("Invalid image location `{value}`: {reason}")]
    InvalidLocation { value: String, reason: String },
    #[error("`{}`: no such file or directory",
        path.display())]
    NoSuchFile { path: PathBuf },
    #[error("`{}` is a file but not an image: {reason}", path.display())]
    NotAnImage { path: PathBuf, reason: String },
    #[error("Malformed {what} in {location}: {reason}")]
    Malformed { what: String, location: String, reason: String },
    #[error("Unsupported media type `{media_type}` for {what} in {location}")]
    UnsupportedMediaType { media_type: String, what: String, location: String },
    #[error("`{location}` cannot hold referrers (SBOMs, signatures)")]
    CannotHoldReferrers { location: String },
    #[error("SOURCE_DATE_EPOCH=`{value}`: {reason}")]
    SourceDateEpoch { value: String, reason: String },
    #[error("{what} `{name}` not found in {location}")]
    NotFound { what: String, name: String, location: String, hint: Option<String> },
    #[error("No image for platform `{platform}` in {location}; available: {available}")]
    NoMatchingPlatform { platform: String, location: String, available: String },
    // Paths from layers are shown escaped: a line break or escape sequence in a name stays visible.
    #[error("Layer `{layer}` entry `{}`: {reason}", crate::escape_control(path))]
    UnsafeEntry { layer: String, path: String, reason: String },
    #[error("Path `{}` in the image filesystem: {reason}", crate::escape_control(path))]
    FsPath { path: String, reason: String },
    #[error("Refusing to unpack into `{path}`: {reason}")]
    UnpackTarget { path: PathBuf, reason: String },
    #[error("Refusing to continue: {what} exceeds the limit of {limit}")]
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
    /// Another error with a hint that only the place it was made knows. Shown as that error (it is
    /// also the source, so its own causes follow; the CLI prints a repeated message once).
    #[error("{error}")]
    Hinted {
        #[source]
        error: Box<Error>,
        hint: String,
    },
}

impl Error {
    /// What to do about it, when there is something: the CLI prints it after the error chain.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::InvalidLocation { .. } => Some(
                "use oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF], dir:PATH or a registry \
                 reference such as registry.example.com/app:1.0"
                    .into(),
            ),
            Error::NoSuchFile { .. } => Some(
                "check the path; a registry reference has no leading `/`, `./` or `../` and no file extension \
                 (write docker://NAME for one)"
                    .into(),
            ),
            Error::CannotHoldReferrers { .. } => {
                Some("copy between oci:DIR layouts and registries to carry them, or drop --referrers".into())
            }
            Error::SourceDateEpoch { .. } => {
                Some("set it to seconds since 1970 (e.g. `$(git log -1 --format=%ct)`), or unset it".into())
            }
            Error::NotFound { hint: Some(hint), .. } | Error::LimitExceeded { hint, .. } => Some(hint.clone()),
            Error::Registry { status: Some(status), .. } => match status {
                404 => Some("check the repository name and that it exists on this registry".into()),
                405 => {
                    Some("the registry does not allow this operation here (read-only, or a pull-through cache?)".into())
                }
                413 => Some("the registry refuses bodies this large".into()),
                500..=599 => Some("the registry failed; it was retried with backoff, try again later".into()),
                _ => None,
            },
            Error::Hinted { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }

    /// The error under any hint wrapped around it: match on this.
    pub fn root(&self) -> &Error {
        match self {
            Error::Hinted { error, .. } => error.root(),
            other => other,
        }
    }

    /// This error with a hint (which replaces the variant's own).
    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        Error::Hinted { error: Box::new(self), hint: hint.into() }
    }
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
