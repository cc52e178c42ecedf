//! The crate's one error type.

/// Everything that can go wrong in the monitor: the store, the vulnerability database, uploads, the
/// server and its peers. Input errors (`BadUpload`, `BadRequest`) are the caller's; the API answers
/// them with 400 and the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store (SQLite or PostgreSQL) refused a connection or a statement.
    #[error("Monitor database `{url}`: {message}")]
    Store { url: String, message: String },
    /// The store's schema could not be brought up to date.
    #[error("Migrating the monitor database `{url}`")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A database URL that is neither `sqlite:` nor `postgres:`.
    #[error("Unsupported database URL `{url}`")]
    DatabaseUrl { url: String },
    /// The vulnerability database could not be opened or read.
    #[error(transparent)]
    Vuln(#[from] pare_vuln::Error),
    /// A watched registry (or an image in it) could not be read.
    #[error(transparent)]
    Registry(#[from] pare_oci::Error),
    /// An uploaded SBOM or VEX document that pare cannot read.
    #[error("{message}")]
    BadUpload { message: String },
    /// A request whose parameters are wrong.
    #[error("{message}")]
    BadRequest { message: String },
    /// A stored inventory that no longer parses (written by another version, or damaged).
    #[error("The stored inventory of `{digest}` cannot be read: {reason}")]
    StoredInventory { digest: String, reason: String },
    /// Reading or writing a local file.
    #[error("`{path}`")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The server or a client could not talk over HTTP.
    #[error("{message}")]
    Http { message: String },
    /// The monitor server answered a client request with an error.
    #[error("The monitor at `{url}` answered {status}: {message}")]
    Server { url: String, status: u16, message: String },
    /// A background task stopped unexpectedly.
    #[error("A monitor task failed: {message}")]
    Task { message: String },
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Store { .. } => Some(
                "check --database: `sqlite:PATH` (created if missing) or `postgres://USER@HOST:PORT/DB` for a running \
                 server"
                    .into(),
            ),
            Error::DatabaseUrl { .. } => Some("use `sqlite:PATH` or `postgres://USER@HOST:PORT/DB`".into()),
            Error::Migrate { .. } => {
                Some("the database may belong to a newer pare; use that version or a fresh database".into())
            }
            Error::Vuln(e) => e.hint(),
            Error::Registry(e) => e.hint(),
            Error::BadUpload { .. } => Some(
                "upload an SBOM pare reads (pare's JSON, SPDX 2.x JSON or tag-value, CycloneDX JSON), or an OpenVEX \
                 / CycloneDX VEX document for VEX"
                    .into(),
            ),
            Error::Server { status: 401, .. } => Some("pass a token made by `pare monitor token create`".into()),
            Error::Server { status: 403, .. } => {
                Some("this needs a token with write scope (`pare monitor token create --scope write`)".into())
            }
            _ => None,
        }
    }

    pub(crate) fn store(url: &str, e: impl std::fmt::Display) -> Error {
        Error::Store { url: redact(url), message: e.to_string() }
    }
}

/// A database URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact("postgres://pare:secret@127.0.0.1:5432/db"), "postgres://pare:***@127.0.0.1:5432/db");
        assert_eq!(redact("postgres://pare@127.0.0.1/db"), "postgres://pare@127.0.0.1/db");
        assert_eq!(redact("sqlite:/tmp/x.db"), "sqlite:/tmp/x.db");
    }
}
