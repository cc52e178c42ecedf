//! `pare key generate`, and reading keys and their passwords for the signing verbs.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use pare_sign::SigningKey;
use zeroize::Zeroizing;

use crate::ExitStatus;
use crate::output::Printer;

/// Private key files are small; anything larger is not one.
const MAX_KEY_FILE: usize = 64 * 1024;

pub(crate) fn generate(printer: &Printer, prefix: &str, force: bool) -> Result<ExitStatus> {
    let key_path = PathBuf::from(format!("{prefix}.key"));
    let pub_path = PathBuf::from(format!("{prefix}.pub"));
    if !force {
        for path in [&key_path, &pub_path] {
            if path.exists() {
                bail!(
                    "`{}` exists\nhint: pass --force to replace it, or choose another --output-key-prefix",
                    path.display()
                );
            }
        }
    }
    let password = password(true)?;
    let key = SigningKey::generate_p256();
    let private = key.to_encrypted_pem(&password)?;
    // Private key first: a public key never exists without its private key.
    write_file(&key_path, private.as_bytes(), 0o600, force)?;
    write_file(&pub_path, key.public_key().to_pem().as_bytes(), 0o644, force)?;
    printer.status(&format!("Private key written to {}", key_path.display()));
    printer.status(&format!("Public key written to {}", pub_path.display()));
    Ok(ExitStatus::Success)
}

/// Reads a private key, asking for the password only when the key is encrypted.
pub(crate) fn load_signing_key(path: &Path) -> Result<SigningKey> {
    let pem = crate::context::read_document(path, MAX_KEY_FILE)?;
    match SigningKey::from_pem(&pem, None) {
        Err(pare_sign::Error::PasswordRequired) => {
            let password = password(false)?;
            SigningKey::from_pem(&pem, Some(&password)).with_context(|| format!("reading the key {}", path.display()))
        }
        other => other.with_context(|| format!("reading the key {}", path.display())),
    }
}

/// The password: PARE_PASSWORD, else COSIGN_PASSWORD (set but empty is an empty password, as in
/// cosign), else asked on the terminal (twice when `confirm`).
fn password(confirm: bool) -> Result<Zeroizing<Vec<u8>>> {
    for name in ["PARE_PASSWORD", "COSIGN_PASSWORD"] {
        if let Some(value) = std::env::var_os(name) {
            return Ok(Zeroizing::new(value.into_encoded_bytes()));
        }
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "A password is needed and there is no terminal to ask for it\nhint: set PARE_PASSWORD (or COSIGN_PASSWORD) in the environment"
        );
    }
    let first =
        Zeroizing::new(rpassword::prompt_password("Enter password for private key: ").context("reading the password")?);
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("Enter password for private key again: ").context("reading the password")?,
        );
        if *again != *first {
            bail!("The passwords do not match");
        }
    }
    Ok(Zeroizing::new(first.as_bytes().to_vec()))
}

/// Writes `path` atomically with `mode`; without `force`, an existing file is never replaced
/// (even one created since the check).
fn write_file(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".pare-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    let persisted = if force { tmp.persist(path) } else { tmp.persist_noclobber(path) };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "`{}` exists\nhint: pass --force to replace it, or choose another --output-key-prefix",
                path.display()
            )
        } else {
            anyhow::Error::new(e.error).context(format!("writing {}", path.display()))
        }
    })?;
    Ok(())
}
