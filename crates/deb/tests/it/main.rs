//! The integration tests of this crate, in one binary (one link instead of one per file).

mod archive_local;
mod debfile;
mod fuzz_seeds;
mod live_debian;
mod version_dpkg;
