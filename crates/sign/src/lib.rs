//! Signatures and attestations of images.
//!
//! # Overview
//! - [`simple_signing`]: the simple-signing payload (containers-signature(5)) that cosign's
//!   legacy signatures and containers/image OpenPGP signatures sign.
//! - [`gpg`]: containers simple signing: OpenPGP signatures (`gpg --sign`) kept in a lookaside
//!   directory as containers-registries.d(5) lays it out; skopeo and podman verify them with a
//!   `policy.json` `signedBy` rule.

mod error;
pub mod gpg;
pub mod simple_signing;

pub use error::{Error, Result};
