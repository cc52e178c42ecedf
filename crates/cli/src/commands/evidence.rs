//! `pare evidence` and `pare verify-evidence`: one image's evidence in one JSON file, and its
//! offline check.

use std::path::Path;

use anyhow::{Context, Result};
use pare_oci::Root;

use crate::ExitStatus;
use crate::args::{EvidenceArgs, Format, GlobalArgs};
use crate::context::{image_location, open_db, open_options, parse_platform, read_document, read_vex, to_limits};
use crate::output::Printer;

/// The largest evidence file read back.
const MAX_EVIDENCE: usize = 1 << 30;

fn public_key(path: &Path) -> Result<pare_sign::Trust> {
    Ok(pare_sign::Trust::Key(crate::context::public_key(path)?))
}

pub(crate) fn evidence(global: &GlobalArgs, printer: &Printer, args: &EvidenceArgs) -> Result<ExitStatus> {
    let location = image_location(&args.src)?;
    let options = open_options(global, &location)?;
    let opened = location.open(&options)?;
    for w in &opened.warnings {
        printer.warn(w);
    }
    let root = Root::open(opened.source).with_context(|| format!("Cannot read `{location}`"))?;
    let (digest, media_type, manifest) = match &root {
        Root::Image(i) => (i.digest().clone(), i.descriptor().media_type().to_string(), i.raw_manifest().to_vec()),
        Root::Index(i) => (i.descriptor().digest().clone(), i.descriptor().media_type().to_string(), i.raw().to_vec()),
    };
    let image = root.image(parse_platform(&args.platform)?.as_ref())?;
    let store = location.referrer_store(&options)?;
    let trust = args.key.as_deref().map(public_key).transpose()?;
    let mut doc = pare_policy::evidence::gather(
        &args.src,
        &digest,
        (&media_type, &manifest),
        &image,
        store.as_ref(),
        trust.as_ref(),
    )?;
    let now = jiff::Timestamp::now();
    doc["createdAt"] = serde_json::json!(now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());

    printer.status(&format!("Cataloging {digest}"));
    let limits = to_limits(&args.limits);
    let cache = pare_sbom::LayerCache::from_env();
    let (view, catalog) = pare_sbom::catalog_image(&image, &limits, &args.src, cache.as_ref())?;
    let spdx = pare_sbom::write(&catalog.inventory, pare_sbom::OutputFormat::SpdxJson)?;
    doc["sbom"] = serde_json::from_slice(&spdx)?;
    if args.no_scan {
        doc["scan"] = serde_json::Value::Null;
    } else {
        let (db, summary) = open_db(printer, &args.db)
            .map_err(|e| e.context("the scan needs a vulnerability database (or leave it out with --no-scan)"))?;
        let options = pare_vuln::report::ScanOptions { vex: read_vex(&args.vex, printer)?, ..Default::default() };
        let subject = pare_vuln::Subject::Viewed { image: &image, view: &view, inventory: Box::new(catalog.inventory) };
        let mut report = pare_vuln::scan(subject, &db as &dyn pare_vuln::Lookup, &options)?;
        report.database = Some(summary);
        doc["scan"] = serde_json::to_value(&report)?;
    }
    if let Some(path) = &args.policy {
        let loaded = super::policy::load(printer, path, &args.db, &args.vex)?;
        let evaluation =
            super::policy::evaluate(global, printer, &loaded, &args.src, None, &args.platform, &args.limits)?;
        let text = read_document(path, pare_policy::file::MAX_POLICY_SIZE)?;
        doc["policy"] = serde_json::json!({
            "file": loaded.policy.file,
            "name": loaded.policy.name,
            "digest": loaded.policy.digest,
            "text": String::from_utf8_lossy(&text),
        });
        doc["verdict"] = serde_json::to_value(&evaluation.verdict)?;
    }
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    pare_oci::write_atomic(&args.output, &bytes).with_context(|| format!("writing {}", args.output.display()))?;
    let count = |field: &str| doc[field].as_array().map_or(0, Vec::len);
    printer.status(&format!(
        "Wrote the evidence for {digest} to {}: {} referrers, {} signature tags{}{}",
        args.output.display(),
        count("referrers"),
        count("tags"),
        if doc["scan"].is_null() { "" } else { ", the scan" },
        if doc["verdict"].is_null() { "" } else { ", the policy verdict" },
    ));
    printer.out(digest.as_ref())?;
    Ok(ExitStatus::Success)
}

pub(crate) fn verify(printer: &Printer, file: &Path, key: Option<&Path>, format: Format) -> Result<ExitStatus> {
    let trust = key.map(public_key).transpose()?;
    let bytes = read_document(file, MAX_EVIDENCE)?;
    let checked = pare_policy::evidence::verify(&bytes, trust.as_ref())
        .with_context(|| format!("Cannot check {}", file.display()))?;
    match format {
        Format::Json => printer.out(&serde_json::to_string_pretty(&checked)?)?,
        Format::Table => {
            printer.out(&format!("{} blobs match their digests", checked.blobs))?;
            for v in &checked.verified {
                printer.out(&format!("verified: {v}"))?;
            }
            for p in &checked.problems {
                printer.out(&format!("PROBLEM: {p}"))?;
            }
        }
    }
    Ok(if checked.problems.is_empty() { ExitStatus::Success } else { ExitStatus::Failure })
}
