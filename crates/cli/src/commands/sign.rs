//! `pare sign`, `pare attest`, `pare verify`, `pare verify-attestation`.

use anyhow::{Context, Result, bail};
use pare_oci::{Location, Reference, Root};
use serde_json::json;

use crate::ExitStatus;
use crate::args::{Format, GlobalArgs, SignArgs, VerifyArgs};
use crate::context::{image_location, open_source};
use crate::output::Printer;

/// The image IMAGE names, resolved to its root manifest: its location and descriptor.
pub(crate) fn resolve(global: &GlobalArgs, printer: &Printer, image: &str) -> Result<(Location, pare_oci::Descriptor)> {
    let location = image_location(image)?;
    if !location.holds_referrers() {
        bail!(
            "`{location}` cannot hold signatures\nhint: sign the image in a registry or an oci:DIR layout, then copy it with `pare copy --referrers`"
        );
    }
    let source = open_source(global, printer, &location)?;
    let root = Root::open(source).with_context(|| format!("Cannot read `{location}`"))?;
    let desc = match &root {
        Root::Image(image) => image.descriptor().clone(),
        Root::Index(index) => index.descriptor().clone(),
    };
    Ok((location, desc))
}

fn registry_reference(location: &Location, what: &str) -> Result<Reference> {
    match location {
        Location::Registry(reference) => Ok(reference.clone()),
        other => bail!(
            "{what} are kept for registry images, not for `{other}`\nhint: name the image as REGISTRY/REPOSITORY:TAG"
        ),
    }
}

/// The time signatures carry: SOURCE_DATE_EPOCH, else now.
fn now_seconds() -> Result<i64> {
    Ok(match pare_oci::source_date_epoch()? {
        Some(epoch) => i64::try_from(epoch).unwrap_or(i64::MAX),
        None => jiff::Timestamp::now().as_second(),
    })
}

pub(crate) fn sign(global: &GlobalArgs, printer: &Printer, args: &SignArgs) -> Result<ExitStatus> {
    let (location, subject) = resolve(global, printer, &args.image)?;
    let digest = subject.digest().clone();
    if let Some(key) = &args.gpg_key {
        let reference = registry_reference(&location, "OpenPGP simple signatures")?;
        let (path, new) = pare_sign::gpg::sign(&args.sigstore.sigstore_dir, &reference, &digest, key, now_seconds()?)?;
        printer.status(&format!(
            "{} the OpenPGP simple signature of {digest} by {key}: {}",
            if new { "Wrote" } else { "Already present:" },
            path.display()
        ));
        printer.out(&format!("simple-signing\t{}", path.display()))?;
        return Ok(ExitStatus::Success);
    }
    bail!("signing with --key is not available in this build")
}

pub(crate) fn verify(global: &GlobalArgs, printer: &Printer, args: &VerifyArgs) -> Result<ExitStatus> {
    let (location, subject) = resolve(global, printer, &args.image)?;
    let digest = subject.digest().clone();
    if let Some(keyring) = &args.gpg_keyring {
        let reference = registry_reference(&location, "OpenPGP simple signatures")?;
        let keyring = pare_deb::Keyring::load(keyring)?;
        let (good, refused) = pare_sign::gpg::verify(&args.sigstore.sigstore_dir, &reference, &digest, &keyring)?;
        let verified: Vec<serde_json::Value> = good
            .iter()
            .map(|g| {
                json!({
                    "digest": digest.to_string(),
                    "format": "simple-signing",
                    "signature": g.file.display().to_string(),
                    "docker_reference": g.payload.docker_reference,
                    "signers": g.signers.iter().map(|s| json!({
                        "fingerprint": s.fingerprint,
                        "primary_fingerprint": s.primary_fingerprint,
                        "user_id": s.user_id,
                    })).collect::<Vec<_>>(),
                    "annotations": g.payload.optional,
                })
            })
            .collect();
        return report(printer, args.format.format, digest.as_ref(), verified, &refused);
    }
    bail!("verifying with --key is not available in this build")
}

/// Prints what verified (or why nothing did) and gives the exit status.
fn report(
    printer: &Printer,
    format: Format,
    digest: &str,
    verified: Vec<serde_json::Value>,
    refused: &[String],
) -> Result<ExitStatus> {
    let status = if verified.is_empty() { ExitStatus::Failure } else { ExitStatus::Success };
    match format {
        Format::Json => {
            printer.json(&json!({"digest": digest, "verified": verified, "refused": refused}))?;
        }
        Format::Table => {
            let mut text = String::new();
            for v in &verified {
                let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
                text.push_str(&format!("Verified {} ({})", get("digest"), get("format")));
                for (k, label) in [
                    ("signature", "signature"),
                    ("docker_reference", "identity"),
                    ("key_hint", "key"),
                    ("predicate_type", "predicate type"),
                    ("location", "from"),
                ] {
                    let value = get(k);
                    if !value.is_empty() {
                        text.push_str(&format!("\n  {label}: {value}"));
                    }
                }
                if let Some(signers) = v.get("signers").and_then(|s| s.as_array()) {
                    for s in signers {
                        let fpr = s.get("fingerprint").and_then(|x| x.as_str()).unwrap_or("");
                        let uid = s.get("user_id").and_then(|x| x.as_str()).unwrap_or("");
                        text.push_str(&format!("\n  signed by: {fpr} {uid}"));
                    }
                }
                if let Some(annotations) = v.get("annotations").and_then(|a| a.as_object()) {
                    for (k, value) in annotations {
                        let value = value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string());
                        text.push_str(&format!("\n  {k}: {value}"));
                    }
                }
                text.push('\n');
            }
            if !text.is_empty() {
                printer.out(&text)?;
            }
            if verified.is_empty() {
                printer.status(&format!("No signature of {digest} verified:"));
                for reason in refused {
                    printer.status(&format!("  - {reason}"));
                }
            }
        }
    }
    Ok(status)
}
