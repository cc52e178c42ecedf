//! `pare sign-blob`: a key-based Sigstore bundle over a file, offline.

use anyhow::{Context, Result};
use pare_sign::{Bundle, SigningKey};
use sha2::{Digest, Sha256};

use crate::ExitStatus;
use crate::args::SignBlobArgs;
use crate::output::Printer;

pub(crate) fn sign_blob(printer: &Printer, args: &SignBlobArgs) -> Result<ExitStatus> {
    let key = super::key::load_signing_key(&args.key)?;
    let (digest, signature) = match &key {
        // Ed25519 signs the bytes themselves.
        SigningKey::Ed25519(_) => {
            let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
            (Sha256::digest(&bytes).into(), key.sign(&bytes))
        }
        SigningKey::EcdsaP256(_) => {
            let digest = sha256_file(&args.file)?;
            (digest, key.sign_sha256(&digest)?)
        }
    };
    let bundle = Bundle::from_message_signature_with_key(digest, signature, &key.public_key());
    pare_oci::write_atomic(&args.bundle, &bundle.to_json())
        .with_context(|| format!("writing {}", args.bundle.display()))?;
    printer.status(&format!(
        "Signed {} (sha256:{}) with key {}; bundle written to {}",
        args.file.display(),
        hex::encode(digest),
        key.public_key().hint(),
        args.bundle.display()
    ));
    Ok(ExitStatus::Success)
}

/// SHA-256 of a file, streamed.
pub(crate) fn sha256_file(path: &std::path::Path) -> Result<[u8; 32]> {
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hasher.finalize().into())
}
