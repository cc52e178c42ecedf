//! The one error type of pare-sign.

use std::path::PathBuf;

/// What can go wrong while signing or verifying. Verification that finds no good signature is
/// not an error: it is a [`crate::Verification`] with the reasons.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Oci(#[from] pare_oci::Error),
    #[error("I/O error on `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Malformed signature payload: {reason}")]
    MalformedPayload { reason: String },
    #[error("Signing with the OpenPGP key `{key}` failed: {reason}")]
    Gpg { key: String, reason: String },
    #[error("{0}")]
    InvalidInput(String),
    #[error("Cannot sign `{location}`: {reason}")]
    CannotSign { location: String, reason: String },
    #[error("{0}")]
    Deb(#[from] pare_deb::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}

/// An error and its causes on one line, each once.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
