//! `pare verify-blob`: a file against a Sigstore bundle, offline.

use anyhow::{Context, Result};
use pare_sign::{Bundle, SignedContent, Signer, Subject, Verified, verify_bundle};

use crate::ExitStatus;
use crate::args::{Format, VerifyBlobArgs};
use crate::context::read_document;
use crate::output::Printer;

/// Files up to this size are read whole (Ed25519 and non-statement DSSE payloads need the bytes);
/// larger ones are hashed as they stream and verified by digest.
const READ_WHOLE_LIMIT: u64 = 256 << 20;

pub(crate) fn verify_blob(printer: &Printer, args: &VerifyBlobArgs) -> Result<ExitStatus> {
    let trust = crate::context::trust(&args.trust)?;
    let bundle_bytes = read_document(&args.bundle, pare_sign::MAX_BUNDLE_SIZE)?;
    let size = std::fs::metadata(&args.file).with_context(|| format!("reading {}", args.file.display()))?.len();
    let bytes = if size <= READ_WHOLE_LIMIT {
        Some(std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?)
    } else {
        None
    };
    let subject = match &bytes {
        Some(bytes) => Subject::Bytes(bytes),
        None => Subject::Sha256(super::sign_blob::sha256_file(&args.file)?),
    };
    let result = Bundle::parse(&bundle_bytes).and_then(|bundle| verify_bundle(&bundle, subject, &trust));
    match result {
        Ok(verified) => {
            match args.format.format {
                Format::Json => printer.json(&json(args, Some(&verified), None))?,
                Format::Table => printer.out(&table(args, &verified))?,
            }
            Ok(ExitStatus::Success)
        }
        Err(error) => {
            if args.format.format == Format::Json {
                printer.json(&json(args, None, Some(&error)))?;
            }
            printer.failure(&format!("{} is not verified: {error}", args.file.display()));
            if let Some(hint) = error.hint() {
                printer.failure(&format!("hint: {hint}"));
            }
            Ok(ExitStatus::Failure)
        }
    }
}

fn table(args: &VerifyBlobArgs, verified: &Verified) -> String {
    let mut rows = vec![
        ("file", format!("{} (sha256:{})", args.file.display(), verified.subject_sha256)),
        ("bundle", format!("{} ({})", args.bundle.display(), verified.media_type)),
    ];
    rows.push(match &verified.content {
        SignedContent::MessageSignature => ("signature", "over the file (messageSignature)".to_owned()),
        SignedContent::Dsse { payload_type, predicate_type } => (
            "signature",
            match predicate_type {
                Some(predicate) => format!("DSSE, in-toto statement, predicate {predicate}"),
                None => format!("DSSE, payload {payload_type}"),
            },
        ),
    });
    rows.push(match &verified.signer {
        Signer::Key { hint } => ("signer", format!("key {hint}")),
        Signer::Certificate { identity, issuer } => ("signer", format!("{identity} (issuer {issuer})")),
    });
    rows.push((
        "log",
        match &verified.log {
            Some(log) if log.integrated_time > 0 => {
                format!("Rekor entry {}, integrated {}", log.log_index, time(log.integrated_time))
            }
            Some(log) => format!("Rekor entry {}", log.log_index),
            None => "none checked (the bundle has no log entry)".to_owned(),
        },
    ));
    if !verified.verified_times.is_empty() {
        let times: Vec<String> = verified.verified_times.iter().map(|t| time(*t)).collect();
        rows.push(("signed at", times.join(", ")));
    }
    let mut out = String::from("Verified OK\n");
    for (name, value) in rows {
        out.push_str(&format!("  {name:<10} {value}\n"));
    }
    out
}

fn time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).map_or_else(|_| seconds.to_string(), |t| t.to_string())
}

fn json(args: &VerifyBlobArgs, verified: Option<&Verified>, error: Option<&pare_sign::Error>) -> serde_json::Value {
    let mut value = serde_json::json!({
        "file": args.file.display().to_string(),
        "bundle": args.bundle.display().to_string(),
        "verified": verified.is_some(),
    });
    if let Some(error) = error {
        value["reason"] = error.to_string().into();
        value["code"] = error.code().into();
    }
    if let Some(v) = verified {
        value["sha256"] = v.subject_sha256.clone().into();
        value["mediaType"] = v.media_type.clone().into();
        value["signer"] = match &v.signer {
            Signer::Key { hint } => serde_json::json!({"keyHint": hint}),
            Signer::Certificate { identity, issuer } => serde_json::json!({"identity": identity, "issuer": issuer}),
        };
        value["content"] = match &v.content {
            SignedContent::MessageSignature => serde_json::json!({"kind": "messageSignature"}),
            SignedContent::Dsse { payload_type, predicate_type } => {
                serde_json::json!({"kind": "dsseEnvelope", "payloadType": payload_type, "predicateType": predicate_type})
            }
        };
        value["transparencyLog"] = match &v.log {
            Some(log) => serde_json::json!({"logIndex": log.log_index, "integratedTime": log.integrated_time}),
            None => serde_json::Value::Null,
        };
        value["verifiedTimes"] = v.verified_times.iter().map(|t| time(*t)).collect::<Vec<_>>().into();
    }
    value
}
