//! Debian archives for pare.
//!
//! | module | what |
//! |---|---|
//! | [`version`] | Debian versions: strict parsing, dpkg's ordering, relation operators (no dependencies) |
//! | [`deb822`] | deb822 paragraphs (streaming, continuation lines) |
//! | [`relation`] | relationship fields: alternatives, version constraints, architecture qualifiers |
//! | [`release`] | `Release` files: dates, architectures, components, by-hash, index checksums |
//! | [`debfile`] | `.deb` reading: control fields, md5sums, conffiles; streamed `data.tar` entries |
//! | [`resolve`] | dependency resolution for one architecture: alternatives, virtual packages, Multi-Arch, `why` |
//! | [`signature`] | OpenPGP checks of `InRelease` and `Release.gpg` against a keyring |
//! | [`packages`] | `Packages` indexes as typed [`PackageRecord`]s |
//! | [`archive`] | the archive client: pockets, signed releases, indexes, `.deb` downloads |
//! | [`cache`] | the verified content-addressed cache (`debs-v1`, `indexes-v1`) |
//! | [`checksum`] | SHA-256 sums and a hashing reader |
//! | `testing` | test keys, clearsigning and detached signing (feature `test-support`) |
//! | [`Error`] | the crate's one error type |

pub mod archive;
pub mod cache;
pub mod checksum;
pub mod deb822;
pub mod debfile;
mod error;
pub mod packages;
pub mod relation;
pub mod release;
pub mod resolve;
pub mod signature;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod version;

pub use archive::{ArchiveClient, DebRequest, DownloadEvent, PackageIndex, Pocket, SignedRelease};
pub use cache::Cache;
pub use checksum::Sha256Sum;
pub use deb822::{Deb822Reader, Paragraph};
pub use debfile::{DebArchive, DebControl};
pub use error::Error;
pub use packages::{MultiArch, PackageRecord, PackagesReader, parse_packages};
pub use relation::{Alternatives, Relation};
pub use release::{IndexEntry, Release};
pub use resolve::{Reason, Resolution, ResolveOptions, ResolvedPackage, Universe, resolve, resolve_in};
pub use signature::{Keyring, Signer, VerifiedText};
pub use version::{Version, VersionConstraint, VersionOp};
