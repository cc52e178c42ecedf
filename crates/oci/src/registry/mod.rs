//! OCI distribution (registry) client: pull and push manifests, indexes and blobs, list tags,
//! find and attach referrers, with a verified local blob cache.
//!
//! # Why not oci-client
//! The client is written on `reqwest::blocking` rather than taken from oci-client because pare
//! needs things that crate does not do the way pare needs them: retries with exponential backoff
//! and jitter (honouring `Retry-After`) on every request, downloads that resume with `Range` after
//! a dropped connection, a content-addressed cache that verifies blobs on write and again on
//! read, the referrers tag fallback (`sha256-<hex>`) that registries without the referrers API
//! (Debian's registry 2.8) need, and a blocking API behind the same [`crate::Source`] and
//! [`crate::Sink`] traits as layouts and archives (oci-client is async only).
//!
//! # Pieces
//! - [`Client`]: one per process; learns each registry's scheme and auth from `GET /v2/` (HTTPS
//!   first; plain HTTP only for loopback hosts or when configured insecure), authenticates with
//!   Basic or bearer tokens (scoped `repository:NAME:pull` / `pull,push`, cached per scope) using
//!   [`Credentials`] from docker and containers auth files.
//! - [`RegistrySource`] and [`RegistrySink`]: the [`crate::Source`] / [`crate::Sink`] for a
//!   [`crate::Reference`], so [`crate::copy`] pulls and pushes.
//! - [`BlobCache`]: `blobs-v1/sha256/<hex>` under `$PARE_CACHE_DIR` (or the XDG cache directory).

mod auth;
mod blobs;
mod cache;
mod client;
mod manifests;
mod referrers;
mod sink;
mod source;

pub use auth::{Credential, Credentials};
pub use blobs::{BlobPush, BlobReader};
pub use cache::{BlobCache, CachingReader};
pub use client::{Client, ClientConfig, STALL_MIN_BYTES, Stats, is_loopback};
pub use referrers::referrers_tag;
pub use sink::RegistrySink;
pub use source::RegistrySource;
