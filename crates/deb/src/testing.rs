//! Test keys and signing, for hermetic tests of archive code here and in other crates
//! (feature `test-support`). Not for production keys: seeds are fixed.

use pgp::composed::{
    CleartextSignedMessage, DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::ser::Serialize;
use pgp::types::Password;
use rand08::SeedableRng;
use rand08::rngs::StdRng;

use crate::Error;

/// An ed25519 signing key made from a seed.
pub struct TestKey {
    secret: SignedSecretKey,
    seed: u64,
}

fn fail(e: impl std::fmt::Display) -> Error {
    Error::Unsupported(format!("test key: {e}"))
}

impl TestKey {
    /// A key whose primary ed25519 key signs; the same seed gives the same key material.
    pub fn generate(seed: u64, user_id: &str) -> Result<TestKey, Error> {
        let mut rng = StdRng::seed_from_u64(seed);
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.into())
            .build()
            .map_err(fail)?;
        let secret = params.generate(&mut rng).map_err(fail)?;
        Ok(TestKey { secret, seed })
    }

    /// The public key, binary, as a keyring file holds it.
    pub fn public_keyring(&self) -> Result<Vec<u8>, Error> {
        SignedPublicKey::from(self.secret.clone()).to_bytes().map_err(fail)
    }

    /// `text` as a cleartext-signed message (an `InRelease` file).
    pub fn clearsign(&self, text: &str) -> Result<String, Error> {
        let rng = StdRng::seed_from_u64(self.seed ^ 1);
        let msg =
            CleartextSignedMessage::sign(rng, text, &self.secret.primary_key, &Password::empty()).map_err(fail)?;
        msg.to_armored_string(Default::default()).map_err(fail)
    }

    /// An armored detached signature of `data` (a `Release.gpg` file).
    pub fn detach_sign(&self, data: &[u8]) -> Result<String, Error> {
        let rng = StdRng::seed_from_u64(self.seed ^ 2);
        let sig = DetachedSignature::sign_binary_data(
            rng,
            &self.secret.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha256,
            data,
        )
        .map_err(fail)?;
        sig.to_armored_string(Default::default()).map_err(fail)
    }
}
