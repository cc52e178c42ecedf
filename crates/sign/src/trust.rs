//! Trust anchors for keyless verification: a Sigstore `TrustedRoot` (protobuf-specs
//! `sigstore_trustroot.proto`).

use std::sync::Arc;

use crate::error::{Error, Result};

/// Sigstore public-good's trusted root, embedded (see `data/SOURCE.md`).
const PUBLIC_GOOD: &str = include_str!("../data/trusted_root.public-good.json");
/// Trusted roots are tens of KiB; refuse to parse much more.
pub const MAX_TRUSTED_ROOT_SIZE: usize = 4 * 1024 * 1024;

/// A parsed, checked trusted root, with the keyless verifier built from it once.
#[derive(Clone)]
pub struct TrustedRoot {
    pub(crate) inner: sigstore_trust_root::TrustedRoot,
    pub(crate) verifier: Arc<sigstore_verify::Verifier>,
}

impl std::fmt::Debug for TrustedRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedRoot")
            .field("certificate_authorities", &self.inner.certificate_authorities.len())
            .field("tlogs", &self.inner.tlogs.len())
            .field("ctlogs", &self.inner.ctlogs.len())
            .field("timestamp_authorities", &self.inner.timestamp_authorities.len())
            .finish()
    }
}

impl TrustedRoot {
    /// Parses trusted root JSON and checks its keys and certificates.
    pub fn from_json(bytes: &[u8]) -> Result<TrustedRoot> {
        if bytes.len() > MAX_TRUSTED_ROOT_SIZE {
            return Err(Error::TrustedRootInvalid {
                reason: format!("{} bytes, the limit is {MAX_TRUSTED_ROOT_SIZE}", bytes.len()),
            });
        }
        let text =
            std::str::from_utf8(bytes).map_err(|_| Error::TrustedRootInvalid { reason: "not UTF-8".to_owned() })?;
        let inner = sigstore_trust_root::TrustedRoot::from_json(text)
            .map_err(|e| Error::TrustedRootInvalid { reason: e.to_string() })?;
        // Building the verifier checks every key, certificate and validity window up front.
        let verifier =
            sigstore_verify::Verifier::new(&inner).map_err(|e| Error::TrustedRootInvalid { reason: e.to_string() })?;
        Ok(TrustedRoot { inner, verifier: Arc::new(verifier) })
    }

    /// Sigstore's public-good instance, as embedded in pare.
    pub fn public_good() -> Result<TrustedRoot> {
        TrustedRoot::from_json(PUBLIC_GOOD.as_bytes())
    }
}
