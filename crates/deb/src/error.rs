use std::path::PathBuf;

/// Everything that can go wrong in `pare-deb`.
///
/// Each variant names what it is about (a file, URL, field, package or relation); where there is
/// a fix, [`Error::hint`] says it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("Invalid Debian version `{value}`: {reason}")]
    InvalidVersion { value: String, reason: String },
    #[error("Invalid relation `{value}`: {reason}")]
    InvalidRelation { value: String, reason: String },
    #[error("{file}:{line}: {reason}")]
    Syntax { file: String, line: usize, reason: String },
    #[error("{file}: {paragraph}: field `{field}`: {reason}")]
    Field { file: String, paragraph: String, field: String, reason: String },
    #[error("Invalid SHA-256 `{value}`: {reason}")]
    InvalidChecksum { value: String, reason: String },
    #[error("{file} expired at {valid_until} (Valid-Until; now {now})")]
    Expired { file: String, valid_until: String, now: String },
    #[error("{file} is dated {date}, more than a day after now ({now})")]
    NotYetValid { file: String, date: String, now: String },
    #[error("{file}: cannot read the keyring: {reason}")]
    Keyring { file: String, reason: String },
    #[error("{file} is not signed")]
    Unsigned { file: String },
    #[error("{file}: signature check failed: {reason}")]
    Signature { file: String, reason: String },
    #[error("{what} is truncated: expected {expected} bytes, got {actual}")]
    Truncated { what: String, expected: u64, actual: u64 },
    #[error("{what} does not match the signed index: expected {expected}, got {actual}")]
    ChecksumMismatch { what: String, expected: String, actual: String },
    #[error("HTTP request to {url} failed")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: HTTP status {status}")]
    HttpStatus { url: String, status: u16, hint: Option<String> },
    #[error("Download of {url} failed: {reason}")]
    Download { url: String, reason: String },
    #[error("{file} lists no `{path}`")]
    NotInRelease { file: String, path: String, hint: Option<String> },
    #[error("{file}: not a valid .deb: {reason}")]
    Deb { file: String, reason: String },
    #[error("Cannot satisfy `{relation}` of {package} ({path}): {candidates}")]
    Unsatisfiable { package: String, relation: String, path: String, candidates: String },
    #[error("{package} ({path}) has `{relation}`, but {other} is also selected")]
    Conflict { package: String, relation: String, other: String, path: String },
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
            Error::Expired { .. } => {
                Some("the mirror serves a stale Release file; try another mirror or check the clock".into())
            }
            Error::NotYetValid { .. } => Some("check the clock".into()),
            Error::Unsigned { .. } => Some("the archive must serve InRelease, or Release with Release.gpg".into()),
            Error::Truncated { .. } => Some("the download was interrupted; run again".into()),
            Error::ChecksumMismatch { .. } => {
                Some("the mirror may be syncing or tampered with; try again later or another mirror".into())
            }
            Error::Unsatisfiable { .. } => Some("add or exclude a package, or name another alternative".into()),
            Error::Conflict { .. } => Some("exclude one of them or choose another alternative".into()),
            Error::HttpStatus { hint: Some(hint), .. } | Error::NotInRelease { hint: Some(hint), .. } => {
                Some(hint.clone())
            }
            Error::Hinted { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }

    /// This error with a hint (which replaces the variant's own).
    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        Error::Hinted { error: Box::new(self), hint: hint.into() }
    }
}

impl Error {
    /// Maps an I/O error on `path` (for `map_err`).
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// Maps an I/O error while doing `context` (for `map_err`).
    pub fn stream(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Stream { context, source }
    }
}
