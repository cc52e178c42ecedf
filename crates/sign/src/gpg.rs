//! Containers simple signing: OpenPGP signatures of containers/image (skopeo `--sign-by`,
//! podman), stored in a lookaside directory ("signature storage", `lookaside` /
//! `lookaside-staging` in containers-registries.d(5)).
//!
//! - The signature is an OpenPGP signed message (not detached) whose content is the
//!   simple-signing payload of type `atomic container signature` (containers-signature(5)).
//! - It is stored as `<dir>/<repository>@<algorithm>=<hex>/signature-<N>`, N counting from 1, the
//!   repository without its registry host (containers/image `docs/signature-protocols.md`).
//!
//! Signing runs `gpg` with the user's GnuPG home, as skopeo does through gpgme: the secret key
//! stays where it is (GnuPG's agent keeps it; rPGP cannot read `private-keys-v1.d`) and the agent
//! asks for its passphrase. Verifying needs no GnuPG: rPGP checks the message against a keyring
//! file with pare-deb's key policy (expiry, revocation, subkey bindings).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pare_oci::{Digest, Reference};

use crate::simple_signing::{ATOMIC_TYPE, Payload};
use crate::{Error, Result};

/// The largest signature file read (skopeo's are under 1 KiB).
pub const MAX_SIGNATURE_BYTES: u64 = 64 << 10;
/// Signatures read per image at most (`signature-1` … `signature-N`).
pub const MAX_SIGNATURES: usize = 128;

/// The directory holding the signatures of `digest` in `repository`: `<dir>/<repo>@sha256=<hex>`.
pub fn signature_dir(base: &Path, reference: &Reference, digest: &Digest) -> Result<PathBuf> {
    let repository = reference.repository();
    // A repository name is `[a-z0-9]+(?:[._-][a-z0-9]+)*(/...)*`: no `..`, no absolute path.
    if repository.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
        return Err(Error::InvalidInput(format!("repository `{repository}` cannot name a directory")));
    }
    Ok(base.join(format!("{repository}@{}={}", digest.algorithm(), digest.digest())))
}

/// The payload pare signs for `reference` (shown with its tag) at `digest`.
pub fn payload(reference: &Reference, digest: &Digest, timestamp: i64) -> Payload {
    let mut payload = Payload::new(ATOMIC_TYPE, digest.as_ref(), &docker_reference(reference));
    payload.optional.insert("creator".into(), format!("pare {}", env!("CARGO_PKG_VERSION")).into());
    payload.optional.insert("timestamp".into(), timestamp.into());
    payload
}

/// The fully expanded reference a signature claims: `registry/repository:tag` (or the
/// repository alone when the image was named by digest).
pub fn docker_reference(reference: &Reference) -> String {
    let name = format!("{}/{}", reference.registry(), reference.repository());
    match reference.tag() {
        Some(tag) => format!("{name}:{tag}"),
        None => name,
    }
}

/// Signs `payload` with the secret key `key` (a fingerprint, key ID or user ID) of the GnuPG
/// home `gnupg_home` (default: `$GNUPGHOME`, else `~/.gnupg`): `gpg --sign`, binary output.
pub fn sign_with_gpg(payload: &[u8], key: &str, gnupg_home: Option<&Path>) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut cmd = Command::new("gpg");
    if let Some(home) = gnupg_home {
        cmd.arg("--homedir").arg(home);
    }
    cmd.args(["--batch", "--no-tty", "--quiet", "--yes", "--local-user", key, "--output", "-", "--sign"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let gpg_error = |reason: String| Error::Gpg { key: key.to_string(), reason };
    let mut child = cmd.spawn().map_err(|e| {
        gpg_error(format!("cannot run `gpg`: {e}")).with_hint("install GnuPG (Debian: `apt-get install gpg`)")
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(payload).map_err(|e| gpg_error(format!("writing to gpg: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| gpg_error(format!("waiting for gpg: {e}")))?;
    if !out.status.success() || out.stdout.is_empty() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(gpg_error(format!("gpg failed ({}): {stderr}", out.status))
            .with_hint("`gpg --list-secret-keys` lists the keys that can sign"));
    }
    Ok(out.stdout)
}

/// Signs the image `reference` at `digest` with the GnuPG key `key` and stores the signature
/// under the lookaside directory `base`. Returns the file and whether it is new (signing again
/// with the same key and time finds the same bytes and writes nothing).
pub fn sign(base: &Path, reference: &Reference, digest: &Digest, key: &str, timestamp: i64) -> Result<(PathBuf, bool)> {
    let dir = signature_dir(base, reference, digest)?;
    let bytes = payload(reference, digest, timestamp).to_bytes();
    let signature = sign_with_gpg(&bytes, key, None)?;
    store_signature(&dir, &signature)
}

/// Stores a signature in the next free `signature-N` of `dir` (created if needed), unless a
/// signature with the same bytes is there already. Returns its path and whether it was written.
pub fn store_signature(dir: &Path, signature: &[u8]) -> Result<(PathBuf, bool)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for index in 1..=MAX_SIGNATURES {
        let path = dir.join(format!("signature-{index}"));
        match std::fs::read(&path) {
            Ok(existing) if existing == signature => return Ok((path, false)),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                pare_oci::write_atomic(&path, signature).map_err(Error::Oci)?;
                return Ok((path, true));
            }
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Err(Error::InvalidInput(format!("{} holds {MAX_SIGNATURES} signatures already", dir.display())))
}

/// Reads `signature-1`, `signature-2`, … of `dir` until one is missing.
pub fn read_signatures(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    use std::io::Read;
    let mut out = Vec::new();
    for index in 1..=MAX_SIGNATURES {
        let path = dir.join(format!("signature-{index}"));
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(Error::io(&path, e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_SIGNATURE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| Error::io(&path, e))?;
        out.push((path, bytes));
    }
    Ok(out)
}

/// One OpenPGP signature that verified.
#[derive(Clone, Debug)]
pub struct GpgVerified {
    pub file: PathBuf,
    pub payload: Payload,
    pub signers: Vec<pare_deb::Signer>,
}

/// Checks the signatures of `reference` at `digest` in the lookaside directory `base` against
/// `keyring`: the OpenPGP signature first, then the payload (type, digest, identity). Returns
/// the good ones and the reason each other one was refused.
pub fn verify(
    base: &Path,
    reference: &Reference,
    digest: &Digest,
    keyring: &pare_deb::Keyring,
) -> Result<(Vec<GpgVerified>, Vec<String>)> {
    let dir = signature_dir(base, reference, digest)?;
    let mut good = Vec::new();
    let mut refused = Vec::new();
    let now = jiff::Timestamp::now();
    for (path, bytes) in read_signatures(&dir)? {
        let file = path.display().to_string();
        if bytes.len() as u64 > MAX_SIGNATURE_BYTES {
            refused.push(format!("{file}: larger than {MAX_SIGNATURE_BYTES} bytes, not a signature"));
            continue;
        }
        let (content, signers) = match pare_deb::verify_message(keyring, &bytes, MAX_SIGNATURE_BYTES, &file, now) {
            Ok(v) => v,
            Err(e) => {
                refused.push(pare_oci::error_chain(&e));
                continue;
            }
        };
        match check_payload(&content, reference, digest) {
            Ok(payload) => good.push(GpgVerified { file: path, payload, signers }),
            Err(reason) => refused.push(format!("{file}: {reason}")),
        }
    }
    if good.is_empty() && refused.is_empty() {
        refused.push(format!("no signature in {}", dir.display()));
    }
    Ok((good, refused))
}

/// Checks a verified payload against the image: the type, the manifest digest, and the identity
/// (the same repository; the same tag when the image was named by one: containers-policy.json(5)
/// `matchRepoDigestOrExact`).
fn check_payload(content: &[u8], reference: &Reference, digest: &Digest) -> std::result::Result<Payload, String> {
    let payload = Payload::parse(content).map_err(|e| e.to_string())?;
    if payload.kind != ATOMIC_TYPE {
        return Err(format!("`critical.type` is `{}`, not `{ATOMIC_TYPE}`", payload.kind));
    }
    if payload.manifest_digest != digest.to_string() {
        return Err(format!(
            "the signature is for the manifest `{}`, not `{digest}` (payload for another digest)",
            payload.manifest_digest
        ));
    }
    let claimed = Reference::parse(&payload.docker_reference)
        .map_err(|e| format!("`critical.identity.docker-reference` is not a reference: {e}"))?;
    let same_repository = claimed.registry() == reference.registry() && claimed.repository() == reference.repository();
    let same_tag = match reference.tag() {
        Some(tag) if reference.digest().is_none() => claimed.tag() == Some(tag),
        _ => true,
    };
    if !same_repository || !same_tag {
        return Err(format!(
            "the signature claims the identity `{}`, not `{}`",
            payload.docker_reference,
            docker_reference(reference)
        ));
    }
    Ok(payload)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lookaside_paths_leave_out_the_registry() {
        let r = Reference::parse("127.0.0.1:5000/team/app:1.0").unwrap();
        let d = pare_oci::sha256(b"x");
        let dir = signature_dir(Path::new("/s"), &r, &d).unwrap();
        assert_eq!(dir, Path::new(&format!("/s/team/app@sha256={}", d.digest())));
        assert_eq!(docker_reference(&r), "127.0.0.1:5000/team/app:1.0");
    }

    #[test]
    fn storing_twice_keeps_one_copy() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, new) = store_signature(tmp.path(), b"one").unwrap();
        assert!(new);
        let (b, new) = store_signature(tmp.path(), b"one").unwrap();
        assert!(!new);
        assert_eq!(a, b);
        let (c, _) = store_signature(tmp.path(), b"two").unwrap();
        assert!(c.ends_with("signature-2"));
        assert_eq!(read_signatures(tmp.path()).unwrap().len(), 2);
    }
}
