//! Test harness shared by pare's integration tests: real tools, fixtures, the `pare` binary, a
//! real registry.
//!
//! Tests fail (they do not skip) when a tool they need is missing: `scripts/test.sh` installs them.

mod pare;
pub mod postgres;
pub mod registry;
pub mod tools;

pub use pare::Pare;
