//! Debian archives for pare: from a mirror URL to verified `.deb` files and a resolved package set.
//!
//! The path of the data: [`ArchiveClient::fetch_release`] fetches `InRelease` and checks its
//! OpenPGP signature against a [`Keyring`] (Debian's by default), its `Valid-Until` and its suite;
//! [`ArchiveClient::fetch_index`] fetches `Packages.xz` (by hash), checks it against the signed
//! `Release` and parses it into [`PackageRecord`]s; [`resolve()`] picks the packages a request needs
//! for one architecture; [`ArchiveClient::fetch_debs`] downloads them in parallel, each checked
//! against the signed index, into a verified [`Cache`]; [`DebArchive`] reads a `.deb`'s control
//! files and streams its `data.tar` entries. Nothing here runs maintainer scripts or writes an
//! image: that is the builder's part. [`version`] depends on nothing and is what `sbom` and
//! `vuln` use for Debian version order.
//!
//! | module | what |
//! |---|---|
//! | [`version`] | Debian versions: strict parsing, dpkg's order, relation operators (no dependencies) |
//! | [`deb822`] | deb822 paragraphs, streamed, with continuation lines |
//! | [`relation`] | relationship fields: alternatives, version constraints, architecture qualifiers |
//! | [`release`] | `Release` files: dates, suites, architectures, components, by-hash, index checksums |
//! | [`signature`] | OpenPGP checks of `InRelease` and `Release.gpg` against a keyring (rPGP) |
//! | [`packages`] | `Packages` indexes as typed [`PackageRecord`]s |
//! | [`checksum`] | SHA-256 sums and a hashing reader |
//! | [`cache`] | the verified content-addressed cache (`debs-v1/sha256/<hex>`, `indexes-v1/...`) |
//! | [`archive`] | the archive client: pockets, signed releases, indexes, parallel `.deb` downloads |
//! | [`debfile`] | `.deb` reading: control fields, md5sums, conffiles; streamed `data.tar` entries |
//! | [`mod@resolve`] | dependency resolution for one architecture: alternatives, virtual packages, `why` |
//! | `testing` | test keys, signed test repositories, a 127.0.0.1 file server, test `.deb`s (feature `test-support`) |
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
pub mod releases;
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
pub use signature::{Keyring, Signer, VerifiedText, verify_message};
pub use version::{Version, VersionConstraint, VersionOp};
