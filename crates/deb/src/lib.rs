//! Debian archives for pare.
//!
//! | module | what |
//! |---|---|
//! | [`version`] | Debian versions: strict parsing, dpkg's ordering, relation operators (no dependencies) |
//! | [`Error`] | the crate's one error type |

mod error;
pub mod version;

pub use error::Error;
pub use version::{Version, VersionConstraint, VersionOp};
