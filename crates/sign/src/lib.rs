//! Signatures and attestations of images.
//!
//! # Overview
//! - [`image`]: cosign's two forms, written and verified on a registry repository or an OCI
//!   layout: a Sigstore bundle (DSSE over an in-toto Statement) attached as an OCI 1.1 referrer
//!   (cosign 3), and the legacy `sha256-<hex>.sig` / `.att` tags (cosign 2). [`image::sign`],
//!   [`image::attest`], [`image::verify`].
//! - [`simple_signing`]: the simple-signing payload (containers-signature(5)) that cosign's
//!   legacy signatures and containers/image OpenPGP signatures sign.
//! - [`gpg`]: containers simple signing: OpenPGP signatures (`gpg --sign`) kept in a lookaside
//!   directory as containers-registries.d(5) lays it out; skopeo and podman verify them with a
//!   `policy.json` `signedBy` rule.

mod error;
pub mod gpg;
pub mod image;
pub mod simple_signing;
mod standin;

pub use error::{Error, Result};
pub use standin::{bundle, dsse, key, statement};
