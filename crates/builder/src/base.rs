//! Base images: `base = "LOCATION@sha256:DIGEST"` in a definition. The base's layers are copied
//! as they are (same blobs, same diff IDs) under pare's layers, and its config is inherited with
//! the definition's settings on top.

use std::collections::BTreeMap;

use pare_oci::{Assembler, Descriptor, Digest, Image, ImageSpec, Location, Platform, Root, WrittenLayer};
use serde_json::{Value, json};

use crate::Error;
use crate::definition::{Loaded, User, substitute};

/// OCI image-spec annotation: the reference of the image this one is based on.
pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
/// OCI image-spec annotation: the digest of the image this one is based on.
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

const HOW_TO_PIN: &str =
    "pin the base by its manifest digest: `base = \"LOCATION@sha256:...\"`; `pare inspect LOCATION` prints the digest";

/// A parsed `base` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseRef {
    /// What the definition says before `@` (`oci:out/a:1.0`, `127.0.0.1:5000/app:1`).
    pub name: String,
    pub location: Location,
    /// The pinned manifest or index digest.
    pub digest: Digest,
}

impl BaseRef {
    /// Parses `LOCATION@sha256:HEX`; the error is the reason and the hint.
    pub fn parse(text: &str) -> Result<BaseRef, (String, String)> {
        let Some((name, digest)) = text.rsplit_once('@') else {
            return Err((format!("`{text}` is not pinned by a digest"), HOW_TO_PIN.into()));
        };
        let digest = pare_oci::parse_digest(digest)
            .ok()
            .filter(|d| d.algorithm().to_string() == "sha256")
            .ok_or_else(|| (format!("`{digest}` is not a sha256 digest"), HOW_TO_PIN.to_string()))?;
        let parsed = Location::parse(name).map_err(|e| (format!("`{name}`: {e}"), HOW_TO_PIN.to_string()))?;
        let location = match parsed {
            // Registries are asked for the pinned digest itself.
            Location::Registry(_) => {
                Location::parse(text).map_err(|e| (format!("`{text}`: {e}"), HOW_TO_PIN.into()))?
            }
            Location::Dir { .. } => {
                return Err((
                    format!("`{name}` is a directory, not an image"),
                    "use an image location: `oci:DIR[:NAME]`, `oci-archive:`, `docker-archive:` or a registry reference"
                        .into(),
                ));
            }
            other => other,
        };
        Ok(BaseRef { name: name.to_string(), location, digest })
    }
}

fn base_error(loaded: &Loaded, reason: impl Into<String>, hint: &str) -> Error {
    Error::field(&loaded.origin, "base", reason, hint)
}

/// Opens the pinned base: the manifest or index with the pinned digest, found at the location
/// (its root, or an entry of its root index). Local paths are relative to the definition.
pub fn open(loaded: &Loaded, base: &BaseRef, open: &pare_oci::OpenOptions) -> Result<Root, Error> {
    if matches!(base.location, Location::Dir { .. }) {
        return Err(base_error(loaded, format!("cannot open `{}` as a base", base.location), HOW_TO_PIN));
    }
    // A layout without a name: its entry named by the pinned digest, when it has one; else its only entry.
    let options = pare_oci::OpenOptions {
        base_dir: loaded.base_dir.clone(),
        prefer_entry: Some(base.digest.to_string()),
        ..open.clone()
    };
    let source = base.location.open(&options)?.source;
    let root = Root::open(source).map_err(|e| base_error(loaded, format!("cannot read `{}`: {e}", base.name), ""))?;
    if root.descriptor().digest() == &base.digest {
        return Ok(root);
    }
    let found = match &root {
        Root::Index(index) => index.manifests().iter().find(|d| d.digest() == &base.digest).cloned(),
        Root::Image(_) => None,
    };
    match (found, &root) {
        (Some(desc), Root::Index(index)) => Ok(index.open(&desc)?),
        _ => Err(base_error(
            loaded,
            format!("`{}` is {}, not the pinned {}", base.name, root.descriptor().digest(), base.digest),
            "the image there changed or is another one: check it, then pin its digest (`pare inspect` prints it)",
        )),
    }
}

/// The base's image for one platform.
pub fn image_for(loaded: &Loaded, base: &BaseRef, root: &Root, platform: &Platform) -> Result<Image, Error> {
    match root {
        Root::Index(index) => index.select(Some(platform)).map_err(|e| base_error(loaded, e.to_string(), "")),
        Root::Image(image) => {
            let have = image.platform()?;
            if platform.matches(&have) {
                Ok(image.clone())
            } else {
                Err(base_error(
                    loaded,
                    format!("`{}` is a {have} image; this build is for {platform}", base.name),
                    "pin a multi-platform index, or build only the base's architecture (`--arch`)",
                ))
            }
        }
    }
}

/// Copies the base's layer blobs into the assembler's layout (verified as they stream).
pub fn copy_layers(assembler: &Assembler, image: &Image) -> Result<Vec<WrittenLayer>, Error> {
    let mut out = Vec::new();
    for layer in image.layers()? {
        let compression = pare_oci::Compression::from_media_type(&layer.media_type()).ok_or_else(|| {
            Error::Oci(Box::new(pare_oci::Error::Unsupported(format!(
                "base layer {} has media type `{}`, which is not a filesystem layer",
                layer.digest(),
                layer.media_type()
            ))))
        })?;
        let diff_id = layer.diff_id().cloned().ok_or_else(|| {
            Error::Oci(Box::new(pare_oci::Error::Unsupported(format!("base layer {} has no diff ID", layer.digest()))))
        })?;
        let path = pare_oci::blob_path(assembler.path(), layer.digest());
        if !path.exists() {
            pare_oci::write_atomic_from(&path, &mut layer.compressed()?)?;
        }
        out.push(WrittenLayer { digest: layer.digest().clone(), size: layer.size(), diff_id, compression });
    }
    Ok(out)
}

/// Writes the config and manifest of an image made of the base's layers and pare's: the base's
/// config with the definition's settings on top, its history kept, and the base annotations.
#[allow(clippy::too_many_arguments)]
pub fn add_image(
    assembler: &Assembler,
    loaded: &Loaded,
    base: &BaseRef,
    image: &Image,
    base_layers: &[WrittenLayer],
    pare_layers: &[WrittenLayer],
    spec: &ImageSpec,
    arch: &str,
    has_ca: bool,
) -> Result<Descriptor, Error> {
    let mut config: Value = serde_json::from_slice(image.raw_config()?)
        .map_err(|e| base_error(loaded, format!("its config is not JSON: {e}"), ""))?;
    if !config.is_object() {
        return Err(base_error(loaded, "its config is not a JSON object", ""));
    }
    let created = pare_oci::rfc3339(spec.created);
    let runtime = runtime(
        loaded,
        config.get("config"),
        arch,
        has_ca,
        &[(BASE_NAME, base.name.clone()), (BASE_DIGEST, image.digest().to_string())],
    );
    let mut history = config.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
    history.extend(pare_layers.iter().map(|_| json!({"created": created, "created_by": "pare"})));
    let diff_ids: Vec<String> = base_layers.iter().chain(pare_layers).map(|l| l.diff_id.to_string()).collect();
    config["created"] = json!(created);
    config["architecture"] = json!(spec.platform.architecture);
    config["os"] = json!(spec.platform.os);
    match &spec.platform.variant {
        Some(v) => config["variant"] = json!(v),
        None => {
            if let Some(map) = config.as_object_mut() {
                map.remove("variant");
            }
        }
    }
    config["config"] = runtime;
    config["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
    config["history"] = Value::Array(history);
    let config_bytes = pare_oci::canonical_json(&config);
    let config_desc = Descriptor::new(
        pare_oci::media_types::OCI_CONFIG.into(),
        config_bytes.len() as u64,
        pare_oci::sha256(&config_bytes),
    );
    write_blob(assembler, config_desc.digest(), &config_bytes)?;

    let mut annotations = spec.annotations.clone();
    annotations.insert(BASE_NAME.into(), base.name.clone());
    annotations.insert(BASE_DIGEST.into(), image.digest().to_string());
    let layers: Vec<Value> =
        base_layers.iter().chain(pare_layers).map(|l| pare_oci::descriptor_json(&l.descriptor())).collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": pare_oci::media_types::OCI_MANIFEST,
        "config": pare_oci::descriptor_json(&config_desc),
        "layers": layers,
        "annotations": annotations,
    });
    let bytes = pare_oci::canonical_json(&manifest);
    let digest = pare_oci::sha256(&bytes);
    write_blob(assembler, &digest, &bytes)?;
    let desc = json!({
        "mediaType": pare_oci::media_types::OCI_MANIFEST,
        "size": bytes.len(),
        "digest": digest.to_string(),
        "platform": spec.platform,
    });
    serde_json::from_value(desc).map_err(|e| base_error(loaded, format!("manifest descriptor: {e}"), ""))
}

fn write_blob(assembler: &Assembler, digest: &Digest, bytes: &[u8]) -> Result<(), Error> {
    Ok(pare_oci::write_atomic(&pare_oci::blob_path(assembler.path(), digest), bytes)?)
}

/// The base's runtime config with the definition's settings on top. Inherited: everything the
/// definition does not set (exposed ports, volumes, stop signal, and user, env, entrypoint, cmd,
/// workdir, labels where the definition leaves them out).
fn runtime(loaded: &Loaded, base: Option<&Value>, arch: &str, has_ca: bool, base_labels: &[(&str, String)]) -> Value {
    let d = &loaded.definition;
    let mut out = base.and_then(Value::as_object).cloned().unwrap_or_default();
    let str_of = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    // User: the definition's when it names one other than the default, else the base's, else 65532.
    if d.user != User::default() || str_of(out.get("User")).is_none() {
        out.insert("User".into(), json!(format!("{}:{}", d.user.uid, d.user.gid)));
    }
    // Env: the base's, PATH when it has none, SSL_CERT_FILE with ca-certificates, then the definition's.
    let mut env: Vec<(String, String)> = out
        .get("Env")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (kv.to_string(), String::new()),
                })
                .collect()
        })
        .unwrap_or_default();
    let set = |env: &mut Vec<(String, String)>, key: &str, value: Option<String>| {
        let at = env.iter().position(|(k, _)| k == key);
        match (at, value) {
            (Some(i), Some(v)) => env[i].1 = v,
            (None, Some(v)) => env.push((key.to_string(), v)),
            (Some(i), None) => {
                env.remove(i);
            }
            (None, None) => {}
        }
    };
    if !env.iter().any(|(k, _)| k == "PATH") {
        set(&mut env, "PATH", Some("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()));
    }
    if has_ca && !env.iter().any(|(k, _)| k == "SSL_CERT_FILE") {
        set(&mut env, "SSL_CERT_FILE", Some(format!("/{}", crate::assemble::CA_BUNDLE)));
    }
    for (k, v) in &d.env {
        set(&mut env, k, (!v.is_empty()).then(|| substitute(v, arch)));
    }
    out.insert("Env".into(), json!(env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>()));
    let sub = |list: &Vec<String>| json!(list.iter().map(|s| substitute(s, arch)).collect::<Vec<_>>());
    if let Some(ep) = &d.entrypoint {
        out.insert("Entrypoint".into(), sub(ep));
        // As with Docker, a new entrypoint drops the base's cmd unless the definition gives one.
        out.remove("Cmd");
    }
    if let Some(cmd) = &d.cmd {
        out.insert("Cmd".into(), sub(cmd));
    }
    match &d.workdir {
        Some(w) => {
            out.insert("WorkingDir".into(), json!(substitute(w, arch)));
        }
        None if str_of(out.get("WorkingDir")).is_none() => {
            out.insert("WorkingDir".into(), json!(d.user.home_dir()));
        }
        None => {}
    }
    let mut labels: BTreeMap<String, Value> = out
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    for (k, v) in base_labels {
        labels.insert((*k).to_string(), json!(v));
    }
    for (k, v) in &d.labels {
        labels.insert(k.clone(), json!(v));
    }
    if !labels.is_empty() {
        out.insert("Labels".into(), json!(labels));
    }
    Value::Object(out)
}
