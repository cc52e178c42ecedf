//! Keys, signatures and attestations for pare: cosign-compatible keys, DSSE envelopes over
//! in-toto statements, Sigstore bundles, and their verification.
//!
//! # Overview
//! - [`SigningKey`] / [`PublicKey`]: ECDSA P-256 (cosign's default) and Ed25519; cosign's
//!   encrypted PEM (scrypt + NaCl secretbox), PKCS#8, SEC1 and PKIX PEM.
//! - [`Envelope`] (DSSE) signs a payload's PAE; [`Statement`] is the in-toto statement inside.
//! - [`Bundle`] is a Sigstore bundle v0.1–v0.3; pare writes v0.3 with a key hint.
//! - [`verify_bundle`] checks a bundle against a [`Subject`] and a [`Trust`]: key-based bundles
//!   in this crate, keyless ones (Fulcio, Rekor, RFC 3161, SCTs) through `sigstore-verify`.
//!
//! - [`image`]: cosign's two forms for images, written and verified on a registry repository or
//!   an OCI layout: a Sigstore bundle attached as an OCI 1.1 referrer (cosign 3) and the legacy
//!   `sha256-<hex>.sig` / `.att` tags (cosign 2): [`image::sign`], [`image::attest`],
//!   [`image::verify`].
//! - [`simple_signing`]: the simple-signing payload (containers-signature(5)) that cosign's legacy
//!   signatures and containers/image OpenPGP signatures sign.
//! - [`gpg`]: containers simple signing: OpenPGP signatures (`gpg --sign`) kept in a lookaside
//!   directory as containers-registries.d(5) lays it out (skopeo's and podman's `signedBy`).
//!
//! ```
//! use pare_sign::{Bundle, Envelope, Statement, SigningKey, Subject, Trust, verify_bundle};
//! let key = SigningKey::generate_p256();
//! let digest = [7u8; 32];
//! let statement = Statement::new("img", digest, pare_sign::COSIGN_SIGN_PREDICATE_TYPE, None);
//! let envelope = Envelope::sign(pare_sign::PAYLOAD_TYPE, statement.to_json(), &key);
//! let bundle = Bundle::parse(&Bundle::from_dsse_with_key(envelope, &key.public_key()).to_json())?;
//! verify_bundle(&bundle, Subject::Sha256(digest), &Trust::Key(key.public_key()))?;
//! # Ok::<(), pare_sign::Error>(())
//! ```

mod bundle;
mod dsse;
mod encoding;
mod error;
pub mod gpg;
pub mod image;
mod key;
pub mod simple_signing;
mod statement;
mod trust;
mod verify;

pub use bundle::{
    ANNOTATION_BUNDLE_CONTENT, ANNOTATION_BUNDLE_PREDICATE_TYPE, BUNDLE_MEDIA_TYPE_V03, BUNDLE_MEDIA_TYPES, Bundle,
    Certificate, CertificateChain, Content, HashOutput, MAX_BUNDLE_SIZE, MessageSignature, PublicKeyIdentifier,
    TlogEntry, VerificationMaterial,
};
pub use dsse::{Envelope, EnvelopeSignature, pae};
pub use error::{Error, Result};
pub use key::{COSIGN_PRIVATE_KEY_PEM, PublicKey, SIGSTORE_PRIVATE_KEY_PEM, SigningKey};
pub use statement::{
    COSIGN_SIGN_PREDICATE_TYPE, PAYLOAD_TYPE, STATEMENT_V01, STATEMENT_V1, Statement, StatementSubject,
};
pub use trust::{MAX_TRUSTED_ROOT_SIZE, TrustedRoot};
pub use verify::{LogEvidence, SignedContent, Signer, Subject, Trust, Verified, verify_bundle};
