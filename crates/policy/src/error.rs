//! The one error type of pare-policy.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy file is not valid TOML or has an unknown key or a bad value.
    #[error("{file}:{line}:{column}: {message}")]
    Parse { file: String, line: usize, column: usize, message: String, hint: Option<String> },
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// A rule needs something the caller did not give (a vulnerability database for a CVE rule).
    #[error("rule `{rule}` needs {what}")]
    Missing { rule: String, what: String, hint: String },
    /// The admission server cannot start or cannot check an image.
    #[error("{message}")]
    Admission { message: String, hint: Option<String> },
    /// An evidence document that cannot be read.
    #[error("malformed evidence document: {0}")]
    Evidence(String),
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
    #[error(transparent)]
    Vuln(#[from] pare_vuln::Error),
    #[error(transparent)]
    Sign(#[from] pare_sign::Error),
    #[error(transparent)]
    Sbom(#[from] pare_sbom::Error),
    /// Another error with the fix added where it was made.
    #[error("{error}")]
    Hinted {
        #[source]
        error: Box<Error>,
        hint: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What to do about it, when the error knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Parse { hint, .. } => hint.clone(),
            Error::Missing { hint, .. } => Some(hint.clone()),
            Error::Io { .. } => None,
            Error::Admission { hint, .. } => hint.clone(),
            Error::Evidence(_) => Some("give a file `pare evidence` wrote".into()),
            Error::DockerfileSyntax { .. } => Some(
                "fix the instruction at that line and column (the Dockerfile reference: docs.docker.com/reference/dockerfile)"
                    .into(),
            ),
            Error::DockerfileTooLarge { .. } => Some("name the Dockerfile itself, a text file".into()),
            Error::DockerfileUnreadable { .. } => Some("save the Dockerfile as UTF-8 text".into()),
            Error::Base { .. } => Some("name the base with --base LOCATION (oci:DIR, a registry reference)".into()),
            Error::Oci(e) => e.hint(),
            Error::Vuln(e) => e.hint(),
            Error::Sign(e) => e.hint(),
            Error::Sbom(e) => e.hint(),
            Error::Hinted { hint, .. } => Some(hint.clone()),
        }
    }

    /// The same error with a fix to print after it.
    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        Error::Hinted { error: Box::new(self), hint: hint.into() }
    }

    pub(crate) fn parse(file: &str, text: &str, offset: usize, message: impl Into<String>, hint: &str) -> Error {
        let (line, column) = pare_oci::line_col(text, offset);
        let hint = (!hint.is_empty()).then(|| hint.to_string());
        Error::Parse { file: file.to_string(), line, column, message: message.into(), hint }
    }
}
