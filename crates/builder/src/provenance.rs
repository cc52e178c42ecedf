//! SLSA Provenance v1 (`https://slsa.dev/provenance/v1`) of a built image: what `pare build
//! --sign` attests beside the SBOM. The build is described by its inputs, each with its digest:
//! the definition, the lock, and every `.deb` (URL and SHA-256, as the lock pinned and the build
//! checked them); the base image's digest when there is one. The builder is pare, at its version;
//! the time is SOURCE_DATE_EPOCH (the build's), so the same build gives the same provenance.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::{Error, Loaded, Lock};

/// The predicate type of SLSA Provenance v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// What kind of build this is: a pare definition built into an image.
pub const BUILD_TYPE: &str = "https://example.invalid/pare/build-types/definition/v1";
/// The builder: pare itself (its version is in `runDetails.builder.version`).
pub const BUILDER_ID: &str = "https://example.invalid/pare/builder";

/// The SHA-256 (hex) of a definition: its file's bytes, or, for a gallery definition (compiled
/// into pare), its canonical JSON.
pub fn definition_sha256(loaded: &Loaded) -> Result<String, Error> {
    let bytes = match &loaded.lock_path {
        Some(_) => {
            let path = std::path::Path::new(&loaded.origin);
            std::fs::read(path).map_err(Error::io(path))?
        }
        None => pare_oci::to_canonical_json(&loaded.definition).map_err(Error::from)?,
    };
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// The provenance predicate of the image of `architecture` built from `loaded` and `lock`.
pub fn provenance(
    loaded: &Loaded,
    lock: &Lock,
    architecture: &str,
    epoch: u64,
    definition_sha256: &str,
) -> Result<Value, Error> {
    let lock_text = lock.to_text()?;
    let mut dependencies = vec![
        json!({"name": "definition", "uri": loaded.origin, "digest": {"sha256": definition_sha256}}),
        json!({
            "name": "lock",
            "uri": loaded.lock_path.as_ref().map_or_else(|| format!("{}.lock", loaded.origin), |p| p.display().to_string()),
            "digest": {"sha256": hex::encode(Sha256::digest(lock_text.as_bytes()))},
        }),
    ];
    if let Some(base) = &lock.base {
        let (algorithm, hex) = base.split_once(':').unwrap_or(("sha256", base));
        dependencies.push(json!({"name": "base", "digest": {algorithm: hex}}));
    }
    for package in lock.packages(architecture).unwrap_or_default() {
        dependencies.push(json!({
            "name": format!("{}_{}_{}.deb", package.name, package.version, package.architecture),
            "uri": package.url,
            "digest": {"sha256": package.sha256},
        }));
    }
    let time = pare_oci::rfc3339(epoch);
    Ok(json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {"definition": loaded.origin, "architecture": architecture},
            "internalParameters": {"SOURCE_DATE_EPOCH": epoch, "suite": lock.suite},
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": {"id": BUILDER_ID, "version": {"pare": env!("CARGO_PKG_VERSION")}},
            "metadata": {"startedOn": time, "finishedOn": time},
        },
    }))
}
