//! The simple-signing payload: the JSON document a container signature signs
//! (containers-signature(5), "JSON data format"), in its two flavours:
//! - `atomic container signature`: OpenPGP signatures of containers/image (skopeo, podman);
//! - `cosign container image signature`: cosign's legacy `sha256-<hex>.sig` layout
//!   (cosign's `specs/SIGNATURE_SPEC.md`, "Simple Signing").
//!
//! [`Payload::parse`] is strict as containers-signature(5) asks: the top level has exactly
//! `critical` and `optional`, and `critical` and its objects hold nothing unknown.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::Error;

/// `critical.type` of containers/image OpenPGP signatures.
pub const ATOMIC_TYPE: &str = "atomic container signature";
/// `critical.type` of cosign's legacy signatures.
pub const COSIGN_TYPE: &str = "cosign container image signature";
/// The layer media type of a cosign legacy signature payload.
pub const COSIGN_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// What a simple-signing payload claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// `critical.type`.
    pub kind: String,
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: String,
    /// `critical.identity.docker-reference`.
    pub docker_reference: String,
    /// `optional`, as strings (cosign's annotations; `creator` and `timestamp` of atomic ones are
    /// kept as their JSON text).
    pub optional: BTreeMap<String, Value>,
}

impl Payload {
    /// A payload of `kind` for the manifest `digest`, claiming `reference`.
    pub fn new(kind: &str, digest: &str, reference: &str) -> Payload {
        Payload {
            kind: kind.to_string(),
            manifest_digest: digest.to_string(),
            docker_reference: reference.to_string(),
            optional: BTreeMap::new(),
        }
    }

    /// The payload's bytes: canonical JSON (sorted keys, no whitespace), so the same claims give
    /// the same bytes and signing again is found to be a duplicate.
    pub fn to_bytes(&self) -> Vec<u8> {
        let value = json!({
            "critical": {
                "identity": {"docker-reference": self.docker_reference},
                "image": {"docker-manifest-digest": self.manifest_digest},
                "type": self.kind,
            },
            "optional": if self.optional.is_empty() { Value::Null } else { json!(self.optional) },
        });
        pare_oci::canonical_json(&value)
    }

    /// Parses a payload strictly: unknown members of `critical` (or of its objects), members of
    /// the wrong type and extra top-level members are refused. `optional` may be `null` (cosign
    /// writes that when there are no annotations) or an object.
    pub fn parse(bytes: &[u8]) -> Result<Payload, Error> {
        let bad = |reason: &str| Error::MalformedPayload { reason: reason.to_string() };
        let value: Value = serde_json::from_slice(bytes).map_err(|e| bad(&format!("not JSON: {e}")))?;
        let top = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
        if let Some(extra) = top.keys().find(|k| *k != "critical" && *k != "optional") {
            return Err(bad(&format!("unknown top-level member `{extra}`")));
        }
        let critical = top.get("critical").and_then(Value::as_object).ok_or_else(|| bad("no `critical` object"))?;
        only(critical, &["identity", "image", "type"], "critical").map_err(|r| bad(&r))?;
        let kind = critical.get("type").and_then(Value::as_str).ok_or_else(|| bad("no `critical.type` string"))?;
        let image =
            critical.get("image").and_then(Value::as_object).ok_or_else(|| bad("no `critical.image` object"))?;
        only(image, &["docker-manifest-digest"], "critical.image").map_err(|r| bad(&r))?;
        let digest = image
            .get("docker-manifest-digest")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no `critical.image.docker-manifest-digest` string"))?;
        let identity =
            critical.get("identity").and_then(Value::as_object).ok_or_else(|| bad("no `critical.identity` object"))?;
        only(identity, &["docker-reference"], "critical.identity").map_err(|r| bad(&r))?;
        let reference = identity
            .get("docker-reference")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no `critical.identity.docker-reference` string"))?;
        let optional = match top.get("optional") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(_) => return Err(bad("`optional` is not an object")),
        };
        Ok(Payload {
            kind: kind.to_string(),
            manifest_digest: digest.to_string(),
            docker_reference: reference.to_string(),
            optional,
        })
    }

    /// `optional` members whose values are strings (cosign's annotations).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.optional.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect()
    }
}

fn only(object: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), String> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(extra) => Err(format!("unknown member `{extra}` in `{what}`")),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let mut p = Payload::new(COSIGN_TYPE, "sha256:abc", "r.example/app");
        p.optional.insert("team".into(), json!("blue"));
        let bytes = p.to_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"r.example/app"},"image":{"docker-manifest-digest":"sha256:abc"},"type":"cosign container image signature"},"optional":{"team":"blue"}}"#
        );
        assert_eq!(Payload::parse(&bytes).unwrap(), p);
        assert_eq!(p.annotations()["team"], "blue");
        // cosign writes `"optional":null` without annotations.
        let none = Payload::new(COSIGN_TYPE, "sha256:abc", "r");
        assert!(String::from_utf8(none.to_bytes()).unwrap().ends_with(r#""optional":null}"#));
        assert_eq!(Payload::parse(&none.to_bytes()).unwrap(), none);
        for bad in [
            r#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":"t","x":1},"optional":{}}"#,
            r#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d","x":1},"type":"t"},"optional":{}}"#,
            r#"{"critical":{"identity":{"docker-reference":1},"image":{"docker-manifest-digest":"d"},"type":"t"},"optional":{}}"#,
            r#"{"critical":{"image":{"docker-manifest-digest":"d"},"type":"t"},"optional":{}}"#,
            r#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":"t"},"optional":{},"more":1}"#,
            r#"[1]"#,
        ] {
            assert!(Payload::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
