//! The policy crate's errors.

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
    #[error(transparent)]
    Oci(#[from] pare_oci::Error),
    #[error(transparent)]
    Vuln(#[from] pare_vuln::Error),
    #[error(transparent)]
    Sign(#[from] pare_sign::Error),
    #[error(transparent)]
    Sbom(#[from] pare_sbom::Error),
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
            Error::Oci(e) => e.hint(),
            Error::Vuln(e) => e.hint(),
            Error::Sign(e) => e.hint(),
            Error::Sbom(e) => e.hint(),
        }
    }

    pub(crate) fn parse(file: &str, text: &str, offset: usize, message: impl Into<String>, hint: &str) -> Error {
        let (line, column) = line_col(text, offset);
        let hint = (!hint.is_empty()).then(|| hint.to_string());
        Error::Parse { file: file.to_string(), line, column, message: message.into(), hint }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
