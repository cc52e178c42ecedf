//! `admission.k8s.io/v1` AdmissionReview, the part pare reads: serde structs following the
//! Kubernetes types (`k8s.io/api/admission/v1`), and the images of the pod spec an object carries.
//! Fields pare does not use are ignored, so newer API servers' additions are accepted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

/// The request half of an AdmissionReview, as the API server sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    pub request: Option<AdmissionRequest>,
}

/// `AdmissionRequest` (the fields pare reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    pub uid: String,
    pub kind: GroupVersionKind,
    #[serde(default)]
    pub sub_resource: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    pub operation: String,
    #[serde(default)]
    pub object: Option<Value>,
    /// The object before an `UPDATE`.
    #[serde(default)]
    pub old_object: Option<Value>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// `metav1.GroupVersionKind`.
#[derive(Debug, Deserialize)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    pub version: String,
    pub kind: String,
}

/// The answer: an AdmissionReview with only `response` set.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewResponse {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub response: AdmissionResponse,
}

/// `AdmissionResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Shown to the client (`kubectl` prints `Warning: …`), allowed or not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `metav1.Status`, as much as a denial needs.
#[derive(Debug, Serialize)]
pub struct Status {
    pub code: u16,
    pub message: String,
}

impl ReviewResponse {
    pub fn new(response: AdmissionResponse) -> ReviewResponse {
        ReviewResponse { api_version: API_VERSION, kind: KIND, response }
    }
}

/// Which list of the pod spec a container is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerKind {
    Container,
    Init,
    Ephemeral,
}

/// One container's image, as the object names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerImage {
    pub kind: ContainerKind,
    pub name: String,
    pub image: String,
}

impl std::fmt::Display for ContainerImage {
    /// `container "app"`, `init container "setup"`, `ephemeral container "debug"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            ContainerKind::Container => "container",
            ContainerKind::Init => "init container",
            ContainerKind::Ephemeral => "ephemeral container",
        };
        write!(f, "{kind} {:?}", pare_oci::escape_control(&self.name))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(default)]
    containers: Vec<Container>,
    #[serde(default)]
    init_containers: Vec<Container>,
    #[serde(default)]
    ephemeral_containers: Vec<Container>,
}

#[derive(Debug, Deserialize)]
struct Container {
    #[serde(default)]
    name: String,
    #[serde(default)]
    image: Option<String>,
}

/// Where the pod spec is in an object of a kind admission checks; `None` for other kinds.
fn pod_spec_pointer(group: &str, kind: &str) -> Option<&'static str> {
    match (group, kind) {
        ("", "Pod") => Some("/spec"),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") | ("batch", "Job") => {
            Some("/spec/template/spec")
        }
        ("batch", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// Whether objects of this kind carry a pod spec pare checks.
pub fn is_checked_kind(kind: &GroupVersionKind) -> bool {
    pod_spec_pointer(&kind.group, &kind.kind).is_some()
}

/// Every container's image in `object` (a `kind` with a pod spec), in the order of the spec:
/// containers, init containers, ephemeral containers. Containers without an image are skipped
/// (the API server's validation refuses them). A pod spec of the wrong shape is an error.
pub fn images(kind: &GroupVersionKind, object: &Value) -> Result<Vec<ContainerImage>, String> {
    let Some(pointer) = pod_spec_pointer(&kind.group, &kind.kind) else { return Ok(Vec::new()) };
    let Some(spec) = object.pointer(pointer) else {
        return Err(format!("the {} has no pod spec at `{pointer}`", kind.kind));
    };
    let spec = PodSpec::deserialize(spec).map_err(|e| format!("the {}'s pod spec at `{pointer}`: {e}", kind.kind))?;
    let lists = [
        (ContainerKind::Container, spec.containers),
        (ContainerKind::Init, spec.init_containers),
        (ContainerKind::Ephemeral, spec.ephemeral_containers),
    ];
    Ok(lists
        .into_iter()
        .flat_map(|(kind, list)| {
            list.into_iter().filter_map(move |c| {
                let image = c.image.filter(|i| !i.is_empty())?;
                Some(ContainerImage { kind, name: c.name, image })
            })
        })
        .collect())
}

/// Parses a review and checks that it is an `admission.k8s.io/v1` request.
pub fn parse(body: &[u8]) -> Result<AdmissionRequest, String> {
    // The version first, so that another version's request is named as such.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Header {
        #[serde(default)]
        api_version: String,
        #[serde(default)]
        kind: String,
    }
    let header: Header = serde_json::from_slice(body).map_err(|e| format!("not an AdmissionReview: {e}"))?;
    if header.api_version != API_VERSION || header.kind != KIND {
        return Err(format!(
            "expected apiVersion `{API_VERSION}` and kind `{KIND}`, got `{}` and `{}` (set admissionReviewVersions: [\"v1\"])",
            pare_oci::escape_control(&header.api_version),
            pare_oci::escape_control(&header.kind)
        ));
    }
    let review: AdmissionReview = serde_json::from_slice(body).map_err(|e| format!("not an AdmissionReview: {e}"))?;
    let request = review.request.ok_or("the AdmissionReview has no `request`")?;
    if request.uid.is_empty() {
        return Err("the AdmissionReview request has an empty `uid`".into());
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gvk(group: &str, kind: &str) -> GroupVersionKind {
        GroupVersionKind { group: group.into(), version: "v1".into(), kind: kind.into() }
    }

    #[test]
    fn every_kind_finds_its_pod_spec() {
        let spec = json!({"containers": [{"name": "app", "image": "r/app:1"}],
            "initContainers": [{"name": "init", "image": "r/init@sha256:00"}],
            "ephemeralContainers": [{"name": "dbg", "image": "r/dbg"}, {"name": "noimage"}]});
        let template = json!({"spec": {"template": {"spec": spec}}});
        let cases = [
            (gvk("", "Pod"), json!({"spec": spec})),
            (gvk("apps", "Deployment"), template.clone()),
            (gvk("apps", "StatefulSet"), template.clone()),
            (gvk("apps", "DaemonSet"), template.clone()),
            (gvk("apps", "ReplicaSet"), template.clone()),
            (gvk("batch", "Job"), template.clone()),
            (gvk("batch", "CronJob"), json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}})),
        ];
        for (kind, object) in cases {
            let found = images(&kind, &object).unwrap_or_default();
            let shown: Vec<String> = found.iter().map(|c| format!("{c} {}", c.image)).collect();
            assert_eq!(
                shown,
                [
                    "container \"app\" r/app:1",
                    "init container \"init\" r/init@sha256:00",
                    "ephemeral container \"dbg\" r/dbg"
                ],
                "{}",
                kind.kind
            );
        }
    }

    #[test]
    fn other_kinds_have_no_images_and_bad_shapes_are_errors() {
        assert_eq!(images(&gvk("", "ConfigMap"), &json!({"data": {}})), Ok(Vec::new()));
        // A Pod-named kind of another group is not a Pod.
        assert_eq!(images(&gvk("example.com", "Pod"), &json!({"spec": {}})), Ok(Vec::new()));
        assert_eq!(
            images(&gvk("apps", "Deployment"), &json!({"spec": {}})),
            Err("the Deployment has no pod spec at `/spec/template/spec`".into())
        );
        let bad = images(&gvk("", "Pod"), &json!({"spec": {"containers": "x"}}));
        assert!(bad.as_ref().is_err_and(|e| e.starts_with("the Pod's pod spec at `/spec`: invalid type")), "{bad:?}");
    }

    #[test]
    fn parse_wants_a_v1_review_with_a_request() {
        assert!(parse(b"{").is_err_and(|e| e.starts_with("not an AdmissionReview: ")));
        let v1beta1 = br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#;
        assert_eq!(
            parse(v1beta1).err(),
            Some("expected apiVersion `admission.k8s.io/v1` and kind `AdmissionReview`, got `admission.k8s.io/v1beta1` and `AdmissionReview` (set admissionReviewVersions: [\"v1\"])".into())
        );
        let empty = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#;
        assert_eq!(parse(empty).err(), Some("the AdmissionReview has no `request`".into()));
        let ok = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ns","object":{"spec":{}}}}"#;
        let request = parse(ok);
        assert!(request.as_ref().is_ok_and(|r| r.uid == "u1" && r.namespace.as_deref() == Some("ns")), "{request:?}");
    }
}

#[cfg(test)]
mod sample {
    /// The policy in the sample ConfigMap of docs/admission/deployment.yaml loads.
    #[test]
    fn the_sample_policy_loads() {
        let yaml = include_str!("../../../../docs/admission/deployment.yaml");
        let block: Vec<&str> = yaml
            .lines()
            .skip_while(|l| l.trim() != "policy.toml: |")
            .skip(1)
            .take_while(|l| l.starts_with("    ") || l.is_empty())
            .map(|l| l.strip_prefix("    ").unwrap_or(l))
            .collect();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = pare_sign::SigningKey::generate_p256().public_key().to_pem();
        std::fs::write(dir.path().join("cosign.pub"), key).unwrap_or_else(|e| panic!("{e}"));
        let policy = crate::Policy::parse(&block.join("\n"), "deployment.yaml", dir.path());
        let ids: Vec<String> =
            policy.map(|p| p.rules.into_iter().map(|r| r.id).collect()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ids,
            ["signed", "non-root", "digest-pinned", "digest-pinned-elsewhere", "no-shell-or-package-manager"]
        );
    }
}
