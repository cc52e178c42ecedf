//! OpenPGP checks of `InRelease` (cleartext-signed) and `Release` + `Release.gpg` (detached).
//!
//! rPGP (`pgp`) checks the cryptography; the policy is here, as apt applies it:
//! - a signature by a key that is not in the keyring is ignored; at least one signature must be
//!   good, by a key (or signing subkey) that is valid now: not expired, not revoked, with a
//!   self-signature (primary) or binding signature with back-signature (subkey);
//! - a signature by a keyring key that does not verify fails the whole file (tampering);
//! - `SignedPublicKey::verify_bindings()` is not used: it also checks third-party certifications
//!   and fails on most Debian keys. Expiry and revocation are checked here (rPGP does not).
//!
//! Only the signed text is returned: whatever surrounds it in the file is never parsed.

use std::io::Cursor;
use std::path::Path;

use jiff::Timestamp;
use pgp::composed::{CleartextSignedMessage, Deserializable, DetachedSignature, SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Tag};

use crate::Error;

/// Debian's archive keyring as installed by `debian-archive-keyring`.
pub const DEBIAN_ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The largest keyring file read (Debian's archive keyring is 56 KiB).
pub const MAX_KEYRING_BYTES: u64 = 4 << 20;

/// Public keys trusted to sign Release files.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
    source: String,
}

/// The key that made a good signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    /// Fingerprint (uppercase hex) of the key or subkey that signed.
    pub fingerprint: String,
    /// Fingerprint of its primary key.
    pub primary_fingerprint: String,
    /// The primary user ID, when it is UTF-8.
    pub user_id: Option<String>,
}

/// The signed text of an `InRelease` file and who signed it.
#[derive(Clone, Debug)]
pub struct VerifiedText {
    /// The text as signed, with `\n` line endings and a final newline.
    pub text: String,
    pub signers: Vec<Signer>,
}

impl Keyring {
    /// Reads a keyring file: binary (`.gpg`) or ASCII-armored (`.asc`), one or more keys.
    /// Keyrings are read only from regular files of at most [`MAX_KEYRING_BYTES`]: a path naming
    /// `/dev/zero` or a FIFO is refused, not read without end (or waited on).
    pub fn load(path: &Path) -> Result<Keyring, Error> {
        use std::io::Read;
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let refuse = |reason: String| Error::Keyring { file: path.display().to_string(), reason };
        // Non-blocking, so that opening a FIFO does not wait for a writer; regular files ignore it.
        let nonblock = rustix::fs::OFlags::NONBLOCK.bits() as i32;
        let file = std::fs::OpenOptions::new().read(true).custom_flags(nonblock).open(path).map_err(Error::io(path))?;
        let meta = file.metadata().map_err(Error::io(path))?;
        let kind = meta.file_type();
        if !kind.is_file() {
            let what = if kind.is_dir() {
                "a directory"
            } else if kind.is_char_device() || kind.is_block_device() {
                "a device"
            } else if kind.is_fifo() {
                "a FIFO"
            } else {
                "a special file"
            };
            return Err(refuse(format!("is {what}, not a regular file")));
        }
        let mut bytes = Vec::new();
        // Never past the cap, even should the file grow while it is read.
        file.take(MAX_KEYRING_BYTES + 1).read_to_end(&mut bytes).map_err(Error::io(path))?;
        if bytes.len() as u64 > MAX_KEYRING_BYTES {
            return Err(refuse(format!("is larger than {} MiB: not a keyring", MAX_KEYRING_BYTES >> 20)));
        }
        Keyring::from_bytes(&bytes, &path.display().to_string())
    }

    /// Debian's archive keyring ([`DEBIAN_ARCHIVE_KEYRING`]).
    pub fn debian() -> Result<Keyring, Error> {
        Keyring::load(Path::new(DEBIAN_ARCHIVE_KEYRING)).map_err(|e| match e {
            Error::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::Keyring { file: path.display().to_string(), reason: "not found".into() }
                    .with_hint("install `debian-archive-keyring` or name a keyring file")
            }
            other => other,
        })
    }

    /// Parses keys from bytes; `source` names them in errors.
    pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Keyring, Error> {
        let err = |reason: String| Error::Keyring { file: source.to_string(), reason };
        let (keys, _) = SignedPublicKey::from_reader_many(Cursor::new(bytes)).map_err(|e| err(e.to_string()))?;
        let keys = keys.collect::<Result<Vec<_>, _>>().map_err(|e| err(e.to_string()))?;
        if keys.is_empty() {
            return Err(err("no public keys found".into()));
        }
        Ok(Keyring { keys, source: source.to_string() })
    }

    /// Where the keys came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Primary key fingerprints (uppercase hex).
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(|k| format!("{:X}", k.primary_key.fingerprint())).collect()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Checks an `InRelease` file and returns its signed text. `file` names it in errors.
pub fn verify_cleartext(keyring: &Keyring, data: &[u8], file: &str, now: Timestamp) -> Result<VerifiedText, Error> {
    let start = data.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(data.len());
    if !data[start..].starts_with(b"-----BEGIN PGP SIGNED MESSAGE-----") {
        return Err(Error::Unsigned { file: file.to_string() });
    }
    let (message, _) = CleartextSignedMessage::from_armor(Cursor::new(&data[start..])).map_err(|e| {
        Error::Signature { file: file.to_string(), reason: format!("malformed cleartext signature: {e}") }
    })?;
    let signed = message.signed_text();
    let signers = check_signatures(keyring, message.signatures(), signed.as_bytes(), file, now)?;
    let mut text = signed.replace("\r\n", "\n");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(VerifiedText { text, signers })
}

/// Checks `data` (a `Release` file) against a detached signature (`Release.gpg`, armored or binary).
pub fn verify_detached(
    keyring: &Keyring,
    data: &[u8],
    signature: &[u8],
    file: &str,
    now: Timestamp,
) -> Result<Vec<Signer>, Error> {
    let (sigs, _) = DetachedSignature::from_reader_many(Cursor::new(signature)).map_err(|e| Error::Signature {
        file: file.to_string(),
        reason: format!("malformed detached signature: {e}"),
    })?;
    let sigs = sigs.map(|s| s.map(|s| s.signature)).collect::<Result<Vec<_>, _>>().map_err(|e| Error::Signature {
        file: file.to_string(),
        reason: format!("malformed detached signature: {e}"),
    })?;
    if sigs.is_empty() {
        return Err(Error::Unsigned { file: file.to_string() });
    }
    check_signatures(keyring, &sigs, data, file, now)
}

/// Checks an OpenPGP signed message (RFC 4880 section 11.3, binary or armored, compressed or
/// not: what `gpg --sign` writes, and the container signatures of containers-signature(5)) and
/// returns its content, at most `max_bytes`, with who signed it. A literal message without a
/// signature is refused, and so is anything whose content exceeds the cap. The content is only
/// returned once the signature checked out: callers parse nothing before.
pub fn verify_message(
    keyring: &Keyring,
    data: &[u8],
    max_bytes: u64,
    file: &str,
    now: Timestamp,
) -> Result<(Vec<u8>, Vec<Signer>), Error> {
    use pgp::composed::Message;
    use std::io::Read;
    let malformed = |e: &dyn std::fmt::Display| Error::Signature {
        file: file.to_string(),
        reason: format!("malformed signed message: {e}"),
    };
    let message = if data.starts_with(b"-----BEGIN PGP") {
        Message::from_armor(Cursor::new(data)).map(|(m, _)| m)
    } else {
        Message::from_bytes(Cursor::new(data))
    }
    .map_err(|e| malformed(&e))?;
    let mut message = message.decompress().map_err(|e| malformed(&e))?;
    if !message.is_signed() {
        return Err(Error::Unsigned { file: file.to_string() });
    }
    let mut content = Vec::new();
    (&mut message).take(max_bytes + 1).read_to_end(&mut content).map_err(|e| malformed(&e))?;
    if content.len() as u64 > max_bytes {
        return Err(Error::Signature {
            file: file.to_string(),
            reason: format!("the signed content is larger than {max_bytes} bytes"),
        });
    }
    let sigs: Vec<Signature> = match &message {
        Message::Signed { reader, .. } => {
            (0..reader.num_signatures()).filter_map(|i| reader.signature(i).cloned()).collect()
        }
        _ => Vec::new(),
    };
    if sigs.is_empty() {
        return Err(Error::Unsigned { file: file.to_string() });
    }
    let signers = check_each(keyring, &sigs, file, now, "the signed content", |index, _, key, subkey| match subkey {
        Some(sub) => message.verify_nested_explicit(index, &sub.key).map(|_| ()),
        None => message.verify_nested_explicit(index, &key.primary_key).map(|_| ()),
    })?;
    Ok((content, signers))
}

/// The signer of a signature that verified, when its key (or subkey) is valid now and the
/// signature is neither from the future nor expired.
fn signer_if_valid(
    key: &SignedPublicKey,
    subkey: Option<&SignedPublicSubKey>,
    sig: &Signature,
    issuer: &str,
    now_secs: i64,
) -> Result<Signer, String> {
    let validity = match subkey {
        Some(sub) => key_validity(key, now_secs).and_then(|_| subkey_validity(key, sub, now_secs)),
        None => key_validity(key, now_secs).and_then(|flags_sign| {
            if flags_sign { Ok(()) } else { Err("the primary key is not marked for signing".into()) }
        }),
    };
    validity.map_err(|problem| format!("key {issuer}: {problem}"))?;
    if let Some(created) = sig.created()
        && i64::from(created.as_secs()) > now_secs + 86_400
    {
        return Err(format!("signature by {issuer} is dated in the future"));
    }
    if let (Some(created), Some(expires)) = (sig.created(), sig.signature_expiration_time()) {
        let secs = std::time::Duration::from(expires).as_secs() as i64;
        if secs != 0 && i64::from(created.as_secs()) + secs < now_secs {
            return Err(format!("signature by {issuer} has expired"));
        }
    }
    Ok(Signer {
        fingerprint: match subkey {
            Some(sub) => format!("{:X}", sub.key.fingerprint()),
            None => format!("{:X}", key.primary_key.fingerprint()),
        },
        primary_fingerprint: format!("{:X}", key.primary_key.fingerprint()),
        user_id: key.details.users.first().and_then(|u| u.id.as_str()).map(str::to_string),
    })
}

/// The verdict over every signature: any that a keyring key made and that does not verify fails
/// (tampering); else at least one good one is needed.
fn finish(
    keyring: &Keyring,
    good: Vec<Signer>,
    unknown: Vec<String>,
    rejected: Vec<String>,
    file: &str,
) -> Result<Vec<Signer>, Error> {
    if let Some(problem) = rejected.iter().find(|p| p.contains("does not verify")) {
        return Err(Error::Signature { file: file.to_string(), reason: problem.clone() });
    }
    if good.is_empty() {
        return Err(match rejected.first() {
            Some(problem) => Error::Signature { file: file.to_string(), reason: problem.clone() },
            None => Error::Signature {
                file: file.to_string(),
                reason: format!(
                    "no signature by a key in {} (signed by {})",
                    keyring.source,
                    if unknown.is_empty() { "nobody".to_string() } else { unknown.join(", ") }
                ),
            }
            .with_hint("use the keyring of this archive"),
        });
    }
    Ok(good)
}

fn check_signatures(
    keyring: &Keyring,
    sigs: &[Signature],
    data: &[u8],
    file: &str,
    now: Timestamp,
) -> Result<Vec<Signer>, Error> {
    check_each(keyring, sigs, file, now, "the file", |_, sig, key, subkey| match subkey {
        Some(sub) => sig.verify(&sub.key, Cursor::new(data)),
        None => sig.verify(&key.primary_key, Cursor::new(data)),
    })
}

/// Checks each signature (`index`, the signature) against the keys of the keyring it names:
/// `verify` checks the signed data with one candidate (a primary key, or the signing subkey);
/// `what` names the data in the message when that check fails. Detached, cleartext and inline
/// signatures differ only in `verify`.
fn check_each<E: std::fmt::Display>(
    keyring: &Keyring,
    sigs: &[Signature],
    file: &str,
    now: Timestamp,
    what: &str,
    mut verify: impl FnMut(usize, &Signature, &SignedPublicKey, Option<&SignedPublicSubKey>) -> Result<(), E>,
) -> Result<Vec<Signer>, Error> {
    let now_secs = now.as_second();
    let mut good = Vec::new();
    let mut unknown = Vec::new();
    let mut rejected = Vec::new();
    for (index, sig) in sigs.iter().enumerate() {
        let issuer = issuer_text(sig);
        let candidates = find_signing_keys(keyring, sig);
        if candidates.is_empty() {
            unknown.push(issuer);
            continue;
        }
        let mut problem = String::new();
        for (key, subkey) in candidates {
            if let Err(e) = verify(index, sig, key, subkey) {
                problem = format!("signature by {issuer} does not verify ({e}): {what} was modified");
                continue;
            }
            match signer_if_valid(key, subkey, sig, &issuer, now_secs) {
                Ok(signer) => {
                    good.push(signer);
                    problem.clear();
                    break;
                }
                Err(p) => problem = p,
            }
        }
        if !problem.is_empty() {
            rejected.push(problem);
        }
    }
    finish(keyring, good, unknown, rejected, file)
}

fn issuer_text(sig: &Signature) -> String {
    if let Some(fp) = sig.issuer_fingerprint().first() {
        return format!("{fp:X}");
    }
    match sig.issuer_key_id().first() {
        Some(id) => hex::encode_upper(id.as_ref()),
        None => "an unnamed key".into(),
    }
}

fn find_signing_keys<'k>(
    keyring: &'k Keyring,
    sig: &Signature,
) -> Vec<(&'k SignedPublicKey, Option<&'k SignedPublicSubKey>)> {
    let fingerprints = sig.issuer_fingerprint();
    let ids = sig.issuer_key_id();
    let named = |fp: pgp::types::Fingerprint, id: pgp::types::KeyId| {
        fingerprints.iter().any(|f| **f == fp) || ids.iter().any(|i| **i == id)
    };
    let mut out = Vec::new();
    for key in &keyring.keys {
        if named(key.primary_key.fingerprint(), key.primary_key.legacy_key_id()) {
            out.push((key, None));
        }
        for sub in &key.public_subkeys {
            if named(sub.key.fingerprint(), sub.key.legacy_key_id()) {
                out.push((key, Some(sub)));
            }
        }
    }
    out
}

fn expired(created: u32, expiration: Option<pgp::types::Duration>, now: i64) -> Option<i64> {
    let secs = std::time::Duration::from(expiration?).as_secs() as i64;
    let end = i64::from(created) + secs;
    (secs != 0 && end < now).then_some(end)
}

fn date_text(secs: i64) -> String {
    Timestamp::from_second(secs).map(|t| t.to_string()).unwrap_or_else(|_| secs.to_string())
}

/// Checks the primary key: not revoked, a valid self-signature, not expired. Returns whether its
/// newest self-signature allows signing (true when it has no key flags).
fn key_validity(key: &SignedPublicKey, now: i64) -> Result<bool, String> {
    let primary = &key.primary_key;
    let by_primary = |sig: &Signature| {
        sig.issuer_fingerprint().iter().any(|f| **f == primary.fingerprint())
            || sig.issuer_key_id().iter().any(|i| **i == primary.legacy_key_id())
    };
    for sig in &key.details.revocation_signatures {
        if by_primary(sig) && sig.verify_key(primary).is_ok() {
            return Err("it has been revoked".into());
        }
    }
    let mut selfsigs: Vec<&Signature> = Vec::new();
    for user in &key.details.users {
        for sig in &user.signatures {
            if by_primary(sig)
                && sig.is_certification()
                && sig.typ() != Some(SignatureType::CertRevocation)
                && sig.verify_certification(primary, Tag::UserId, &user.id).is_ok()
            {
                selfsigs.push(sig);
            }
        }
    }
    for sig in &key.details.direct_signatures {
        if by_primary(sig) && sig.verify_key(primary).is_ok() {
            selfsigs.push(sig);
        }
    }
    let newest = selfsigs.into_iter().max_by_key(|s| s.created().map_or(0, |c| c.as_secs()));
    let Some(selfsig) = newest else {
        return Err("it has no valid self-signature".into());
    };
    if let Some(end) = expired(primary.created_at().as_secs(), selfsig.key_expiration_time(), now) {
        return Err(format!("it expired on {}", date_text(end)));
    }
    let flags = selfsig.key_flags();
    let has_flags =
        flags.sign() || flags.certify() || flags.encrypt_comms() || flags.encrypt_storage() || flags.authentication();
    Ok(!has_flags || flags.sign())
}

/// Checks a signing subkey: a valid binding with the sign flag and a back-signature, not
/// revoked, not expired.
fn subkey_validity(key: &SignedPublicKey, sub: &SignedPublicSubKey, now: i64) -> Result<(), String> {
    let primary = &key.primary_key;
    let mut newest: Option<&Signature> = None;
    for sig in &sub.signatures {
        if sig.verify_subkey_binding(primary, &sub.key).is_err() {
            continue;
        }
        if sig.typ() == Some(SignatureType::SubkeyRevocation) {
            return Err("the signing subkey has been revoked".into());
        }
        let newer = match (newest.and_then(|n| n.created()), sig.created()) {
            (Some(a), Some(b)) => b.as_secs() > a.as_secs(),
            _ => newest.is_none(),
        };
        if newer {
            newest = Some(sig);
        }
    }
    let Some(binding) = newest else {
        return Err("the subkey has no valid binding signature".into());
    };
    if !binding.key_flags().sign() {
        return Err("the subkey is not marked for signing".into());
    }
    match binding.embedded_signature() {
        Some(back) if back.verify_primary_key_binding(&sub.key, primary).is_ok() => {}
        _ => return Err("the signing subkey has no valid back-signature".into()),
    }
    if let Some(end) = expired(sub.key.created_at().as_secs(), binding.key_expiration_time(), now) {
        return Err(format!("the signing subkey expired on {}", date_text(end)));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::print_stdout)]
mod tests {
    use super::*;
    use crate::Release;
    use crate::testing::TestKey;

    /// A Release dated an hour ago, valid for `valid_days` more days (negative: expired).
    fn release_text(valid_days: i64) -> String {
        let now = Timestamp::now().as_second();
        let date =
            |secs: i64| crate::release::format_date(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH));
        format!(
            "Origin: Test\nSuite: stable\nCodename: testing-pare\nDate: {}\nValid-Until: {}\nArchitectures: amd64\n\
Components: main\nSHA256:\n e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 main/binary-amd64/Packages\n",
            date(now - 3600),
            date(now + valid_days * 86_400)
        )
    }

    fn release_text_expired() -> String {
        release_text(-1)
    }

    fn keys() -> Result<(TestKey, Keyring, Keyring), Error> {
        let a = TestKey::generate(1, "Test Archive A <a@example.invalid>")?;
        let b = TestKey::generate(2, "Test Archive B <b@example.invalid>")?;
        let ka = Keyring::from_bytes(&a.public_keyring()?, "a.gpg")?;
        let kb = Keyring::from_bytes(&b.public_keyring()?, "b.gpg")?;
        Ok((a, ka, kb))
    }

    #[test]
    fn inrelease_good_wrong_key_tampered_unsigned_expired() -> Result<(), Error> {
        let (a, ka, kb) = keys()?;
        let now = Timestamp::now();
        let release_text = release_text(7);
        let signed = a.clearsign(&release_text)?;
        let v = verify_cleartext(&ka, signed.as_bytes(), "InRelease", now)?;
        assert_eq!(v.text, release_text);
        assert_eq!(v.signers.len(), 1);
        assert_eq!(v.signers[0].primary_fingerprint, ka.fingerprints()[0]);
        let (release, _) = Release::from_inrelease(&ka, signed.as_bytes(), "InRelease", now)?;
        assert_eq!(release.codename.as_deref(), Some("testing-pare"));

        let wrong = verify_cleartext(&kb, signed.as_bytes(), "InRelease", now).map(|_| ()).map_err(|e| e.to_string());
        assert!(
            wrong.as_ref().is_err_and(|e| e.contains("InRelease") && e.contains("no signature by a key in b.gpg")),
            "{wrong:?}"
        );

        let tampered = signed.replace("Suite: stable", "Suite: stabl3");
        let bad = verify_cleartext(&ka, tampered.as_bytes(), "InRelease", now).map(|_| ()).map_err(|e| e.to_string());
        assert!(bad.as_ref().is_err_and(|e| e.contains("does not verify")), "{bad:?}");

        let unsigned = verify_cleartext(&ka, release_text.as_bytes(), "InRelease", now).map(|_| ());
        assert!(matches!(unsigned, Err(Error::Unsigned { .. })), "{unsigned:?}");

        let expired = a.clearsign(&release_text_expired())?;
        let late = Release::from_inrelease(&ka, expired.as_bytes(), "InRelease", now).map(|_| ());
        assert!(matches!(late, Err(Error::Expired { .. })), "{late:?}");

        // Text around the signed block is never returned.
        let wrapped = format!("{signed}\nSuite: evil\n");
        let v = verify_cleartext(&ka, wrapped.as_bytes(), "InRelease", now);
        assert!(v.is_err() || v.is_ok_and(|v| !v.text.contains("evil")));
        let prefixed = format!("Suite: evil\n{signed}");
        assert!(verify_cleartext(&ka, prefixed.as_bytes(), "InRelease", now).is_err());
        Ok(())
    }

    #[test]
    fn detached_good_wrong_key_tampered() -> Result<(), Error> {
        let (a, ka, kb) = keys()?;
        let now = Timestamp::now();
        let release = release_text(7);
        let sig = a.detach_sign(release.as_bytes())?;
        let signers = verify_detached(&ka, release.as_bytes(), sig.as_bytes(), "Release", now)?;
        assert_eq!(signers.len(), 1);
        let (parsed, _) = Release::from_detached(&ka, release.as_bytes(), sig.as_bytes(), "Release", now)?;
        assert_eq!(parsed.sha256.len(), 1);
        assert!(verify_detached(&kb, release.as_bytes(), sig.as_bytes(), "Release", now).is_err());
        let tampered = release.replace("amd64\n", "arm64\n");
        let bad = verify_detached(&ka, tampered.as_bytes(), sig.as_bytes(), "Release", now).map_err(|e| e.to_string());
        assert!(bad.as_ref().is_err_and(|e| e.contains("does not verify")), "{bad:?}");
        assert!(verify_detached(&ka, release.as_bytes(), b"garbage", "Release", now).is_err());
        assert!(verify_detached(&ka, release.as_bytes(), b"", "Release", now).is_err());
        Ok(())
    }

    #[test]
    #[allow(clippy::expect_used)]
    fn keyring_errors() {
        assert!(matches!(Keyring::from_bytes(b"", "empty.gpg"), Err(Error::Keyring { .. })));
        assert!(matches!(Keyring::from_bytes(b"not a key", "junk.gpg"), Err(Error::Keyring { .. })));
        assert!(Keyring::load(Path::new("/nonexistent/keyring.gpg")).is_err());
        // Not a file, or far too large: refused before reading (an endless or blocking read otherwise).
        let dir = tempfile::tempdir().expect("a temporary directory");
        let big = dir.path().join("big.gpg");
        std::fs::File::create(&big).and_then(|f| f.set_len(MAX_KEYRING_BYTES + 1)).expect("a sparse file");
        let fifo = dir.path().join("fifo.gpg");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()));
        for (path, reason) in [
            (Path::new("/dev/zero"), "is a device"),
            (dir.path(), "is a directory"),
            (fifo.as_path(), "is a FIFO"),
            (big.as_path(), "larger than 4 MiB"),
        ] {
            match Keyring::load(path) {
                Err(Error::Keyring { reason: r, .. }) => assert!(r.contains(reason), "{}: {r}", path.display()),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
    }

    #[test]
    fn debian_keyring_loads_when_installed() -> Result<(), Error> {
        assert!(
            Path::new(DEBIAN_ARCHIVE_KEYRING).exists(),
            "{DEBIAN_ARCHIVE_KEYRING} is not installed: run scripts/system-deps.sh"
        );
        let k = Keyring::debian()?;
        assert!(k.len() >= 3);
        Ok(())
    }
}
