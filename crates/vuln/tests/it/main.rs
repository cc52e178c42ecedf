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
