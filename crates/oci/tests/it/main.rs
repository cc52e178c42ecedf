//! The integration tests of this crate, in one binary (one link instead of one per file).

#[path = "../common_fs/mod.rs"]
mod common_fs;
mod fs;
mod fs_unpack;
mod model;
mod referrers;
mod registry;
