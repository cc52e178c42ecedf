//! The one shape every gate answers in: `policy check`, `audit`, admission. Each failed rule is a
//! `Failure` naming the rule, what it is about, the evidence and the fix; the verdict denies when any
//! failure's action is `Deny`. Exit code 1 (CI) and an admission denial come from `Verdict::denied`.

use serde::{Deserialize, Serialize};

/// What a failed rule does: stop the image (`deny`) or only report (`warn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Warn,
    Deny,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Warn => "warn",
            Action::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule that did not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The rule's id: the policy file's `id`, or a stable code (`DF001`) for built-in checks.
    pub rule: String,
    pub action: Action,
    /// What the failure is about: an image reference or digest, a Dockerfile path and line.
    pub subject: String,
    /// One sentence saying what is wrong, with the facts: "critical CVE-2024-1 in openssl 3.0.11-1 …".
    pub message: String,
    /// The facts checked, for machines and auditors (a path, a finding id, a digest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// What to do about it.
    pub fix: String,
    /// Where in a file, when the subject is a file (1-based line and column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A place in a text file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// The answer of a gate: the failures found and the rules that held.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// What was checked (an image digest, a Dockerfile path).
    pub subject: String,
    pub failures: Vec<Failure>,
    /// Ids of the rules evaluated that held.
    #[serde(default)]
    pub passed: Vec<String>,
}

impl Verdict {
    pub fn new(subject: impl Into<String>) -> Verdict {
        Verdict { subject: subject.into(), ..Verdict::default() }
    }

    /// Whether any failure denies.
    pub fn denied(&self) -> bool {
        self.failures.iter().any(|f| f.action == Action::Deny)
    }

    pub fn denials(&self) -> impl Iterator<Item = &Failure> {
        self.failures.iter().filter(|f| f.action == Action::Deny)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Failure> {
        self.failures.iter().filter(|f| f.action == Action::Warn)
    }
}

/// A rule as SARIF describes it: id, one-line description, its action (the default level).
#[derive(Clone, Debug)]
pub struct RuleInfo {
    pub id: String,
    pub description: String,
    pub action: Action,
}

fn level(action: Action) -> &'static str {
    match action {
        Action::Deny => "error",
        Action::Warn => "warning",
    }
}

/// SARIF 2.1.0 of verdicts: one rule per rule id, one result per failure (`error` for deny,
/// `warning` for warn) with the fix in the message. `artifact` is the file results point at when a
/// failure has no location of its own (the policy file for image checks, the Dockerfile for an
/// audit), relative, as code scanning requires; `help_uri` is where the rules are documented.
pub fn sarif(verdicts: &[Verdict], rules: &[RuleInfo], artifact: &str, help_uri: &str) -> serde_json::Value {
    use serde_json::json;
    let mut known: std::collections::BTreeMap<&str, serde_json::Value> = std::collections::BTreeMap::new();
    for r in rules {
        known.insert(
            &r.id,
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.description},
                "defaultConfiguration": {"level": level(r.action)},
                "helpUri": help_uri,
            }),
        );
    }
    let mut results = Vec::new();
    for verdict in verdicts {
        for f in &verdict.failures {
            known.entry(&f.rule).or_insert_with(|| json!({"id": f.rule, "shortDescription": {"text": f.rule}}));
            let region = match f.location {
                Some(l) => json!({"startLine": l.line.max(1), "startColumn": l.column.max(1)}),
                None => json!({"startLine": 1}),
            };
            results.push(json!({
                "ruleId": f.rule,
                "level": level(f.action),
                "message": {"text": format!("{}: {}. Fix: {}", f.subject, f.message, f.fix)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact.trim_start_matches("./").trim_start_matches('/')},
                        "region": region,
                    },
                    "logicalLocations": [{"name": f.subject, "kind": "resource"}],
                }],
                "partialFingerprints": {"ruleAndSubject": format!("{}#{}#{}", f.rule, f.subject, f.message)},
                "properties": {"action": f.action.as_str(), "evidence": f.evidence, "fix": f.fix},
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pare",
                "informationUri": "https://example.invalid/pare",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": known.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(action: Action) -> Failure {
        Failure {
            rule: "r".into(),
            action,
            subject: "s".into(),
            message: "m".into(),
            evidence: vec![],
            fix: "f".into(),
            location: None,
        }
    }

    #[test]
    fn only_a_deny_denies() {
        let mut verdict = Verdict::new("img");
        assert!(!verdict.denied());
        verdict.failures.push(failure(Action::Warn));
        assert!(!verdict.denied());
        verdict.failures.push(failure(Action::Deny));
        assert!(verdict.denied());
        assert_eq!(verdict.denials().count(), 1);
        assert_eq!(verdict.warnings().count(), 1);
    }
}
