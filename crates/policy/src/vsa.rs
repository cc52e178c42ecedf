//! The verdict as a SLSA Verification Summary Attestation (v1), so admission can trust a CI
//! verdict instead of redoing the work. The policy digest and the result are also signed
//! annotations of the statement's subject, so a verifier reads them from the verified statement.

use serde_json::{Value, json};

use crate::evaluate::Evaluation;
use crate::file::Policy;

/// `predicateType` of a VSA.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// Who verifies: pare's policy check.
pub const VERIFIER_ID: &str = "https://example.invalid/pare/policy-check";
/// Signed subject annotations: the policy's digest and the result.
pub const ANNOTATION_POLICY_DIGEST: &str = "dev.pare.policy.digest";
pub const ANNOTATION_RESULT: &str = "dev.pare.verification.result";

/// `PASSED` or `FAILED`, as the VSA's `verificationResult`.
pub fn result(evaluation: &Evaluation) -> &'static str {
    if evaluation.verdict.denied() { "FAILED" } else { "PASSED" }
}

/// The VSA predicate: the verifier, when, the resource, the policy (by digest), the attestations
/// checked, the result and the rules: `verifiedLevels` is `FAILED` or the rule ids that held
/// (prefixed `PARE_RULE_`, custom levels as the spec allows), with `SLSA_BUILD_LEVEL_0`: pare
/// checks no SLSA build track level.
pub fn predicate(policy: &Policy, evaluation: &Evaluation, resource_uri: &str, time: &str) -> Value {
    let passed = !evaluation.verdict.denied();
    let levels: Vec<String> = if passed {
        std::iter::once("SLSA_BUILD_LEVEL_0".to_string())
            .chain(evaluation.verdict.passed.iter().map(|r| format!("PARE_RULE_{r}")))
            .collect()
    } else {
        vec!["FAILED".into()]
    };
    let (algorithm, hex) = policy.digest.split_once(':').unwrap_or(("sha256", policy.digest.as_str()));
    let inputs: Vec<Value> = evaluation
        .verified
        .iter()
        .map(|v| {
            let mut entry = json!({"uri": v.location});
            if let Some((a, h)) = v.location.split_once(':').filter(|(a, _)| *a == "sha256") {
                entry["digest"] = json!({a: h});
            }
            entry
        })
        .collect();
    json!({
        "verifier": {"id": VERIFIER_ID, "version": {"pare": env!("CARGO_PKG_VERSION")}},
        "timeVerified": time,
        "resourceUri": resource_uri,
        "policy": {"uri": policy.file, "digest": {algorithm: hex}},
        "inputAttestations": inputs,
        "verificationResult": result(evaluation),
        "verifiedLevels": levels,
        "slsaVersion": "1.0",
    })
}
