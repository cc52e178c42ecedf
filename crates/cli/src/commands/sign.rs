//! `pare sign`, `pare attest`, `pare verify`, `pare verify-attestation`.

use anyhow::{Context, Result, bail};
use pare_oci::{Location, Reference, Root};
use serde_json::json;

use crate::ExitStatus;
use crate::args::{
    AttestArgs, Format, GlobalArgs, SignArgs, SignatureFormat, TrustArgs, VerifyArgs, VerifyAttestationArgs,
};
use crate::context::{image_location, open_source, read_document, referrer_store};
use crate::output::Printer;

/// The image IMAGE names, resolved to its root manifest: its location and descriptor.
pub(crate) fn resolve(global: &GlobalArgs, printer: &Printer, image: &str) -> Result<(Location, pare_oci::Descriptor)> {
    let (location, root) = resolve_root(global, printer, image)?;
    let desc = match &root {
        Root::Image(image) => image.descriptor().clone(),
        Root::Index(index) => index.descriptor().clone(),
    };
    Ok((location, desc))
}

/// The image IMAGE names, opened: its location and root (an image or an index).
fn resolve_root(global: &GlobalArgs, printer: &Printer, image: &str) -> Result<(Location, Root)> {
    let location = image_location(image)?;
    if !location.holds_referrers() {
        return Err(crate::status::hinted(
            format!("`{location}` cannot hold signatures"),
            "sign the image in a registry or an oci:DIR layout, then copy it with `pare copy --referrers`",
        ));
    }
    let source = open_source(global, printer, &location)?;
    let root = Root::open(source).with_context(|| format!("Cannot read `{location}`"))?;
    Ok((location, root))
}

fn registry_reference(location: &Location, what: &str) -> Result<Reference> {
    match location {
        Location::Registry(reference) => Ok(reference.clone()),
        other => Err(crate::status::hinted(
            format!("{what} are kept for registry images, not for `{other}`"),
            "name the image as REGISTRY/REPOSITORY:TAG",
        )),
    }
}

/// The time signatures carry: SOURCE_DATE_EPOCH, else now.
pub(crate) fn now_seconds() -> Result<i64> {
    Ok(match pare_oci::source_date_epoch()? {
        Some(epoch) => i64::try_from(epoch).unwrap_or(i64::MAX),
        None => jiff::Timestamp::now().as_second(),
    })
}

pub(crate) fn sign(global: &GlobalArgs, printer: &Printer, args: &SignArgs) -> Result<ExitStatus> {
    let (location, root) = resolve_root(global, printer, &args.image)?;
    let (subject, children) = match &root {
        Root::Image(image) => (image.descriptor().clone(), Vec::new()),
        Root::Index(index) => (index.descriptor().clone(), index.manifests().to_vec()),
    };
    let digest = subject.digest().clone();
    if let Some(key) = &args.gpg_key {
        let reference = registry_reference(&location, "OpenPGP simple signatures")?;
        let (path, new) = pare_sign::gpg::sign(&args.sigstore.sigstore_dir, &reference, &digest, key, now_seconds()?)?;
        printer.status(&format!(
            "{} the OpenPGP simple signature of {digest} by {key}: {}",
            if new { "Wrote" } else { "Already present:" },
            path.display()
        ));
        printer.out(&format!("simple-signing {}", path.display()))?;
        return Ok(ExitStatus::Success);
    }
    let Some(key_file) = &args.key else { bail!("--key or --gpg-key is required") };
    let key = super::key::load_signing_key(key_file)?;
    let target = target(global, &location, subject)?;
    let options = sign_options(args.format, &args.annotations)?;
    let written =
        pare_sign::image::sign(&target, &key, &options).with_context(|| format!("Cannot sign `{location}`"))?;
    print_written(printer, &location, &digest, &written)?;
    if args.recursive {
        // Each image of a multi-platform index, as `cosign sign --recursive` does.
        for child in children {
            let child = pare_oci::Descriptor::new(child.media_type().clone(), child.size(), child.digest().clone());
            let target = pare_sign::image::Target { subject: child.clone(), ..target.clone() };
            let written = pare_sign::image::sign(&target, &key, &options)
                .with_context(|| format!("Cannot sign `{}` in `{location}`", child.digest()))?;
            print_written(printer, &location, child.digest(), &written)?;
        }
    }
    Ok(ExitStatus::Success)
}

pub(crate) fn attest(global: &GlobalArgs, printer: &Printer, args: &AttestArgs) -> Result<ExitStatus> {
    let predicate_type = pare_sign::image::predicate_type(&args.predicate_type)?;
    let bytes = read_document(&args.predicate, MAX_PREDICATE)?;
    if bytes.len() > MAX_PREDICATE {
        bail!("{} is larger than {} MiB: not a predicate pare attests", args.predicate.display(), MAX_PREDICATE >> 20);
    }
    let predicate: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON: a predicate is a JSON document", args.predicate.display()))?;
    let (location, subject) = resolve(global, printer, &args.image)?;
    let digest = subject.digest().clone();
    let key = super::key::load_signing_key(&args.key)?;
    let target = target(global, &location, subject)?;
    let options = sign_options(args.format, &[])?;
    let written = pare_sign::image::attest(&target, &key, &predicate_type, &predicate, &options)
        .with_context(|| format!("Cannot attest `{location}`"))?;
    print_written(printer, &location, &digest, &written)
}

/// The largest predicate file attested (SBOMs of big images are tens of MiB).
const MAX_PREDICATE: usize = 256 << 20;

fn print_written(
    printer: &Printer,
    location: &Location,
    digest: &pare_oci::Digest,
    written: &[pare_sign::image::Written],
) -> Result<ExitStatus> {
    for w in written {
        let what = match w.format {
            "bundle" => format!("Sigstore bundle referrer {}", w.location),
            _ => format!("legacy tag {}", w.location),
        };
        printer
            .status(&format!("{} {what} for {digest} in {location}", if w.new { "Wrote" } else { "Already present:" }));
        printer.out(&format!("{} {} {}", w.format, w.location, if w.new { "written" } else { "present" }))?;
    }
    Ok(ExitStatus::Success)
}

/// Where the signatures of the image go, and the name a legacy signature claims: the repository
/// for a registry image (as cosign writes it), the entry's name for a layout.
pub(crate) fn target(
    global: &GlobalArgs,
    location: &Location,
    subject: pare_oci::Descriptor,
) -> Result<pare_sign::image::Target> {
    let Some(store) = referrer_store(global, location)? else { bail!("`{location}` cannot hold signatures") };
    let docker_reference = match location {
        Location::Registry(reference) => format!("{}/{}", reference.registry(), reference.repository()),
        Location::Layout { name, .. } => name.clone().unwrap_or_default(),
        _ => String::new(),
    };
    Ok(pare_sign::image::Target { store, subject, docker_reference })
}

pub(crate) fn sign_options(format: SignatureFormat, annotations: &[String]) -> Result<pare_sign::image::SignOptions> {
    let mut map = std::collections::BTreeMap::new();
    for a in annotations {
        let Some((k, v)) = a.split_once('=') else { bail!("--annotation `{a}`: expected KEY=VALUE") };
        map.insert(k.to_string(), v.to_string());
    }
    let created = pare_oci::rfc3339(u64::try_from(now_seconds()?).unwrap_or(0));
    Ok(pare_sign::image::SignOptions {
        bundle: format != SignatureFormat::Legacy,
        legacy: format != SignatureFormat::Bundle,
        annotations: map,
        created,
    })
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
    verify_image(global, printer, &args.image, &args.trust, &pare_sign::image::Expect::Signature, args.format.format)
}

pub(crate) fn verify_attestation(
    global: &GlobalArgs,
    printer: &Printer,
    args: &VerifyAttestationArgs,
) -> Result<ExitStatus> {
    let predicate_type = pare_sign::image::predicate_type(&args.predicate_type)?;
    let expect = pare_sign::image::Expect::Attestation(predicate_type);
    verify_image(global, printer, &args.image, &args.trust, &expect, args.format.format)
}

fn verify_image(
    global: &GlobalArgs,
    printer: &Printer,
    image: &str,
    trust: &TrustArgs,
    expect: &pare_sign::image::Expect,
    format: Format,
) -> Result<ExitStatus> {
    let trust = crate::context::trust(trust)?;
    let (location, subject) = resolve(global, printer, image)?;
    let Some(store) = referrer_store(global, &location)? else { bail!("`{location}` cannot hold signatures") };
    let outcome = pare_sign::image::verify(&store, subject.digest(), &trust, expect)
        .with_context(|| format!("Cannot verify `{location}`"))?;
    let verified: Vec<serde_json::Value> =
        outcome.verified.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
    let refused: Vec<String> = outcome.refused.iter().map(ToString::to_string).collect();
    if format == Format::Json {
        printer.json(&serde_json::to_value(&outcome)?)?;
        return Ok(if outcome.ok() { ExitStatus::Success } else { ExitStatus::Failure });
    }
    report(printer, format, &outcome.digest, verified, &refused)
}

fn escape(text: &str) -> String {
    pare_oci::escape_control(text).into_owned()
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
                // Values come from signatures and registries: one line each, control characters shown.
                let get = |k: &str| escape(v.get(k).and_then(|x| x.as_str()).unwrap_or(""));
                text.push_str(&format!("Verified {} ({})", get("digest"), get("format")));
                for (k, label) in [
                    ("signature", "signature"),
                    ("docker_reference", "identity"),
                    ("signer", "signed by"),
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
                        let fpr = escape(s.get("fingerprint").and_then(|x| x.as_str()).unwrap_or(""));
                        let uid = escape(s.get("user_id").and_then(|x| x.as_str()).unwrap_or(""));
                        text.push_str(&format!("\n  signed by: {fpr} {uid}"));
                    }
                }
                if let Some(annotations) = v.get("annotations").and_then(|a| a.as_object()) {
                    for (k, value) in annotations {
                        let value = value.as_str().map(escape).unwrap_or_else(|| escape(&value.to_string()));
                        text.push_str(&format!("\n  {}: {value}", escape(k)));
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
                    printer.status(&format!("  - {}", escape(reason)));
                }
            }
        }
    }
    Ok(status)
}
