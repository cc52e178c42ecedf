use std::path::PathBuf;

/// Everything that can go wrong in `pare-build`.
///
/// Each variant names the file, field or package it is about; where there is a fix,
/// [`Error::hint`] says it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A definition or lock that is not valid TOML or does not match the schema.
    #[error("{file}:{line}:{column}: {message}")]
    Parse { file: String, line: usize, column: usize, message: String, hint: Option<String> },
    /// A definition whose values are wrong (checked after parsing).
    #[error("{file}: `{field}`: {reason}")]
    Field { file: String, field: String, reason: String, hint: Option<String> },
    #[error("{lock} was made for another version of {definition}")]
    StaleLock { lock: String, definition: String },
    #[error("{file}: {reason}")]
    Lock { file: String, reason: String },
    #[error("No image `{name}` in the gallery")]
    Gallery { name: String, available: String },
    #[error("Package `{package}` is not in the lock of {file}")]
    NotLocked { package: String, file: String },
    #[error("{package}: {reason}")]
    Package { package: String, reason: String },
    #[error("{architecture}: {source}")]
    Archive {
        architecture: String,
        #[source]
        source: Box<pare_deb::Error>,
    },
    /// A pocket whose signed Release lists no `Packages` index for a component the definition asks for.
    #[error("{pocket} has no `{index}` index: {offered}")]
    PocketComponent {
        /// The suite and its Release's URL.
        pocket: String,
        /// `contrib/binary-amd64/Packages`
        index: String,
        component: String,
        /// What the Release lists instead.
        offered: String,
    },
    #[error("`--add {spec}`: {reason}")]
    Add { spec: String, reason: String },
    #[error("Java trust store: certificate `{alias}` cannot be encoded: {source}")]
    Cacerts {
        alias: String,
        #[source]
        source: der::Error,
    },
    /// The image's packages (cataloged as `pare sbom` does) differ from the lock's: a builder bug.
    #[error("{architecture}: the image's packages differ from the lock's:\n  {}",
        differences.join("\n  "))]
    SbomMismatch { architecture: String, differences: Vec<String> },
    #[error("No SBOM is attached to {subject} in {location}")]
    NoAttachedSbom { subject: String, location: String },
    #[error("SBOM `{artifact}` in {location}: {reason}")]
    BadAttachedSbom { artifact: String, location: String, reason: String },
    #[error(transparent)]
    Sbom(Box<pare_sbom::Error>),
    #[error(transparent)]
    Deb(Box<pare_deb::Error>),
    #[error(transparent)]
    Oci(Box<pare_oci::Error>),
    #[error("I/O error on `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
            Error::Parse { hint: Some(hint), .. } | Error::Field { hint: Some(hint), .. } => Some(hint.clone()),
            Error::StaleLock { definition, .. } => Some(format!(
                "run `pare update {definition}` to lock again (or `pare build --no-lock` to ignore the lock)"
            )),
            Error::Lock { .. } => Some("run `pare lock` to write it again".into()),
            Error::Gallery { available, .. } => Some(format!("`pare gallery list` shows them: {available}")),
            Error::NotLocked { .. } => Some("`pare why` names packages of the lock; check the spelling".into()),
            Error::PocketComponent { component, .. } => {
                Some(format!("remove `{component}` from `components`, or the pocket from `pockets`, in the definition"))
            }
            Error::Add { .. } => {
                Some("use SRC:DEST with an existing file or directory SRC and an absolute DEST".into())
            }
            Error::Cacerts { alias, .. } => Some(format!("check that `{alias}` is a valid X.509 certificate")),
            Error::SbomMismatch { .. } => {
                Some("this is a bug in pare's builder; please report it with the definition and its lock".into())
            }
            Error::NoAttachedSbom { .. } => Some(
                "`pare build --sbom FILE` attaches one to the images it writes to `oci:DIR` and registries; without \
                 `--attached`, `pare sbom` catalogs the image itself"
                    .into(),
            ),
            Error::Oci(e) => e.hint(),
            Error::Deb(e) => e.hint(),
            Error::Sbom(e) => e.hint(),
            Error::Hinted { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }

    /// This error with a hint (which replaces the variant's own).
    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        Error::Hinted { error: Box::new(self), hint: hint.into() }
    }
}

impl From<pare_deb::Error> for Error {
    fn from(e: pare_deb::Error) -> Error {
        Error::Deb(Box::new(e))
    }
}

impl From<pare_sbom::Error> for Error {
    fn from(e: pare_sbom::Error) -> Error {
        Error::Sbom(Box::new(e))
    }
}

impl From<pare_oci::Error> for Error {
    fn from(e: pare_oci::Error) -> Error {
        Error::Oci(Box::new(e))
    }
}

impl Error {
    /// `source` on `architecture` (for `map_err`).
    pub(crate) fn archive(architecture: &str) -> impl FnOnce(pare_deb::Error) -> Error {
        let architecture = architecture.to_string();
        move |source| Error::Archive { architecture, source: Box::new(source) }
    }

    /// Maps an I/O error on `path` (for `map_err`).
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    pub(crate) fn field(file: &str, field: &str, reason: impl Into<String>, hint: &str) -> Error {
        let hint = (!hint.is_empty()).then(|| hint.to_string());
        Error::Field { file: file.to_string(), field: field.to_string(), reason: reason.into(), hint }
    }

    /// A TOML error with its line and column in `text`.
    pub(crate) fn toml(file: &str, text: &str, error: &toml::de::Error, hint: &str) -> Error {
        let (line, column) = error.span().map_or((1, 1), |span| pare_oci::line_col(text, span.start));
        let hint = (!hint.is_empty()).then(|| hint.to_string());
        Error::Parse { file: file.to_string(), line, column, message: error.message().trim().to_string(), hint }
    }
}
