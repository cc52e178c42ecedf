//! Vulnerability data and matching: a local database built from the Debian Security Tracker and OSV,
//! version orders per ecosystem, matching an `Inventory` to `Finding`s, VEX, and reports.

pub mod db;
mod error;
pub mod matcher;
pub mod memo;
pub mod model;
pub mod outdated;
pub mod pipeline;
pub mod range;
pub mod reach;
pub mod report;
pub mod source;
pub mod version;
pub mod vex;

pub use db::{Database, DbInfo, MemoryLookup};
pub use error::{Error, Result};
pub use model::{Advisory, Affected, Cvss, Ecosystem, Event, GoImport, Origin, Range, RangeKind, Severity, Status};
pub use pipeline::{Diff, Subject, diff, scan};
pub use range::RangeMatch;
pub use source::{SourceKind, SourceSpec, read_source};
pub use version::Version;

/// Where the matcher reads advisories from: the database, or records held in memory (tests, `--from` scans).
pub trait Lookup {
    /// Every advisory with an `affected` entry for `package` in `ecosystem`; each returned advisory's
    /// `affected` holds only the entries for that package (all releases).
    /// Shared: a scan asks for the same packages again and again, and a cache hands out its copy.
    fn advisories(&self, ecosystem: Ecosystem, package: &str) -> Result<std::sync::Arc<Vec<Advisory>>>;
    /// CVSS scores known for a vulnerability id (CVE records, OSV `severity`), any source.
    fn cvss(&self, id: &str) -> Result<Vec<Cvss>>;
    /// Where package versions' matches may be kept for as long as this lookup's data does not change
    /// (a server's database); none by default: each scan matches afresh.
    fn match_cache(&self) -> Option<&matcher::MatchCache> {
        None
    }
}
