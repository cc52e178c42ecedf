//! The integration tests of this crate, in one binary (one link instead of one per file).

mod db_file;
mod db_sources;
mod match_debian;
mod match_osv;
mod range_osv;
mod version_apk;
mod version_debian;
mod version_maven;
mod version_pep440;
mod version_semver;

/// An error as the CLI prints it: the message, then its hint.
pub fn shown(err: &pare_vuln::Error) -> String {
    match err.hint() {
        Some(hint) => format!("{err}\nhint: {hint}"),
        None => err.to_string(),
    }
}
