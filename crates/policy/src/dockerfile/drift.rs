//! Drift: the base a Dockerfile's final stage names against the base an image was really built
//! on. Two witnesses: the image's first layers (a build on a base starts with the base's layers,
//! by diff ID) and the `org.opencontainers.image.base.name` / `base.digest` annotations (or labels)
//! that builders such as pare and BuildKit write.

use std::collections::BTreeMap;

use pare_oci::{Image, Reference};
use serde::Serialize;

use super::{Audit, codes};
use crate::error::{Error, Result};
use crate::verdict::{Failure, Location};

const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// What was compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The image's manifest digest.
    pub image: String,
    /// The base the Dockerfile's final stage names.
    pub named_base: String,
    /// The digest that base resolves to now (its root: an index or a manifest).
    pub base_digest: String,
    /// Layers of the base, and how many of them the image starts with.
    pub base_layers: usize,
    pub matching_layers: usize,
    /// The image's `org.opencontainers.image.base.*` annotations (or labels).
    pub annotations: BTreeMap<String, String>,
}

/// Compares `image` with `base` (what the final stage's base reference resolves to now, `base_root`
/// its root digest) and adds the failures (DF020, DF021, DF022) to `audit.verdict`.
pub fn drift(audit: &mut Audit, base: &Image, base_root: &str, image: &Image) -> Result<Drift> {
    let named = audit.final_base().ok_or_else(|| Error::Base {
        reference: audit.stages.last().map(|s| s.from.clone()).unwrap_or_default(),
        reason: "the final stage's base is named by a variable without a value".into(),
    })?;
    let named = named.clone();
    let line = audit.stages.last().map_or(1, |s| s.line);
    let subject = format!("{}:{line}", audit.verdict.subject);
    let layer_ids = |img: &Image| -> Result<Vec<String>> {
        Ok(img.layers()?.iter().map(|l| l.diff_id().unwrap_or(l.digest()).to_string()).collect())
    };
    let base_ids = layer_ids(base)?;
    let image_ids = layer_ids(image)?;
    let matching = base_ids.iter().zip(&image_ids).take_while(|(a, b)| a == b).count();

    let mut annotations = BTreeMap::new();
    let labels = image.config()?.config().as_ref().and_then(|c| c.labels().clone()).unwrap_or_default();
    let manifest = image.manifest().annotations().clone().unwrap_or_default();
    for key in [BASE_NAME, BASE_DIGEST] {
        if let Some(v) = manifest.get(key).or_else(|| labels.get(key)) {
            annotations.insert(key.to_string(), v.clone());
        }
    }

    let image_digest = image.digest().to_string();
    let mut failures = Vec::new();
    let mut fail = |rule: &str, message: String, fix: String, evidence: Vec<String>| {
        failures.push(Failure {
            rule: rule.into(),
            action: codes::action(rule),
            subject: subject.clone(),
            message,
            evidence,
            fix,
            location: Some(Location { line, column: 1 }),
        });
    };
    if matching < base_ids.len() {
        let detail = match (base_ids.get(matching), image_ids.get(matching)) {
            (Some(b), Some(i)) => format!("its layer {} is {i}, the base's is {b}", matching + 1),
            _ => format!("it has {} layers, the base {}", image_ids.len(), base_ids.len()),
        };
        fail(
            codes::BASE_LAYERS_DIFFER,
            format!("image {image_digest} is not built on {} as it is now: {detail}", named.written),
            format!(
                "rebuild the image from this Dockerfile, or correct the FROM to the base it was built on ({})",
                annotations.get(BASE_NAME).map_or("see `pare inspect` of the image", String::as_str)
            ),
            vec![format!("{} layers of {} match", matching, base_ids.len())],
        );
    }
    if let Some(name) = annotations.get(BASE_NAME)
        && !same_name(name, &named.written)
    {
        fail(
            codes::BASE_NAME_DIFFERS,
            format!("image {image_digest} says it is built on {name}, the Dockerfile names {}", named.written),
            "build the image from this Dockerfile, or make FROM name the base the image was built on".into(),
            vec![format!("{BASE_NAME}={name}")],
        );
    }
    if let Some(digest) = annotations.get(BASE_DIGEST) {
        let pinned = named.digest.as_deref();
        let now = pinned.unwrap_or(base_root);
        if digest != now && digest != &base.digest().to_string() {
            let what = if pinned.is_some() { "the Dockerfile pins" } else { "its tag now resolves to" };
            fail(
                codes::BASE_DIGEST_MOVED,
                format!("image {image_digest} was built on {} {digest}, {what} {now}", named.written),
                format!(
                    "rebuild to pick up the base's changes, and pin it: FROM {}@{now}",
                    named.written.split('@').next().unwrap_or("")
                ),
                vec![format!("{BASE_DIGEST}={digest}")],
            );
        }
    }
    for rule in [codes::BASE_LAYERS_DIFFER, codes::BASE_NAME_DIFFERS, codes::BASE_DIGEST_MOVED] {
        if !failures.iter().any(|f| f.rule == rule) {
            audit.verdict.passed.push(rule.to_string());
        }
    }
    audit.verdict.failures.extend(failures);
    Ok(Drift {
        image: image_digest,
        named_base: named.written.clone(),
        base_digest: base_root.to_string(),
        base_layers: base_ids.len(),
        matching_layers: matching,
        annotations,
    })
}

/// Whether two base names mean the same image: references compared normalised (`alpine:3` is
/// `docker.io/library/alpine:3`), digests ignored; anything else as written.
fn same_name(a: &str, b: &str) -> bool {
    match (Reference::parse(a), Reference::parse(b)) {
        (Ok(x), Ok(y)) => x.name() == y.name() && (x.tag() == y.tag() || x.digest().is_some() || y.digest().is_some()),
        _ => a == b,
    }
}
