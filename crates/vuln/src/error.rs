use std::path::PathBuf;

/// Everything that can go wrong in this crate. Each variant names what it is about
/// (the file, the record, the field) so the CLI can print it as is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Source data that does not parse: `location` is a file (and line or record id when known).
    #[error("{location}: {message}")]
    Malformed { location: String, message: String },
    #[error("invalid {ecosystem} version `{version}`: {reason}")]
    Version { ecosystem: String, version: String, reason: String },
    #[error("vulnerability database {path}: {message}")]
    Database { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{url}: {message}")]
    Fetch { url: String, message: String },
    #[error("VEX document {location}: {message}")]
    Vex { location: String, message: String },
    /// Reading the Debian archive (signed Releases, indexes) failed.
    #[error(transparent)]
    Archive(Box<pare_deb::Error>),
    /// Cataloging the image to scan failed.
    #[error(transparent)]
    Catalog(Box<pare_sbom::Error>),
    /// Something this crate does not handle, with what to do instead.
    #[error("{message}")]
    Unsupported { message: String },
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
            Error::Archive(e) => e.hint(),
            Error::Catalog(e) => e.hint(),
            Error::Hinted { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }

    /// This error with a hint (which replaces the variant's own).
    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        Error::Hinted { error: Box::new(self), hint: hint.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn malformed(location: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Malformed { location: location.into(), message: message.into() }
    }
}
