//! Vulnerability data and matching: a local database built from the Debian Security Tracker and OSV,
//! version orders per ecosystem, matching an `Inventory` to `Finding`s, VEX, and reports.

mod error;
pub mod model;

pub use error::{Error, Result};
pub use model::{Advisory, Affected, Cvss, Ecosystem, Event, Origin, Range, RangeKind, Severity, Status};
