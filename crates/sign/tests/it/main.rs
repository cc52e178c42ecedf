//! pare-sign's integration tests (one test binary, see crates/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bundle;
mod conformance;
mod dsse;
mod image;
mod keys;

use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}
