//! The one error type of pare-policy.

/// What can go wrong in pare-policy's own work (image errors come through as `Oci`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Dockerfile does not parse (the position is 1-based; line 0 when the parser gives none).
    #[error("{path}:{line}:{column}: {message}")]
    DockerfileSyntax { path: String, line: usize, column: usize, message: String },
    /// The Dockerfile is not text pare can read.
    #[error("{path}:{line}: {reason}")]
    DockerfileUnreadable { path: String, line: usize, reason: String },
    /// The file is larger than a Dockerfile may be.
    #[error("{path}: larger than the {limit} bytes a Dockerfile may have")]
    DockerfileTooLarge { path: String, limit: usize },
    /// A base reference that drift cannot compare.
    #[error("Base `{reference}` cannot be compared: {reason}")]
    Base { reference: String, reason: String },
    #[error(transparent)]
    Oci(#[from] pare_oci::Error),
    /// Another error with the fix added where it was made.
    #[error("{error}")]
    Hinted {
        #[source]
        error: Box<Error>,
        hint: String,
    },
}

impl Error {
    /// What to do about it, when there is something to do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::DockerfileSyntax { .. } => {
                Some("fix the instruction at that line and column (the Dockerfile reference: docs.docker.com/reference/dockerfile)".into())
            }
            Error::DockerfileTooLarge { .. } => Some("name the Dockerfile itself, a text file".into()),
            Error::DockerfileUnreadable { .. } => Some("save the Dockerfile as UTF-8 text".into()),
            Error::Base { .. } => Some("name the base with --base LOCATION (oci:DIR, a registry reference)".into()),
            Error::Oci(e) => e.hint(),
            Error::Hinted { hint, .. } => Some(hint.clone()),
        }
    }

    /// The same error with a fix to print after it.
    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        Error::Hinted { error: Box::new(self), hint: hint.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
