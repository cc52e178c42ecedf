//! SARIF 2.1.0 from a `Verdict` (`pare audit --format sarif`). pare-vuln's SARIF writer is shaped
//! around vulnerability findings (packages, severities); a verdict's failures are rule, action,
//! file location, message and fix, which map to SARIF directly.

use pare_policy::{Action, Verdict};
use serde_json::{Value, json};

/// A rule SARIF lists: id, short description, action.
pub struct Rule<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub action: Action,
}

fn level(action: Action) -> &'static str {
    match action {
        Action::Deny => "error",
        Action::Warn => "warning",
    }
}

/// One run of `tool`, one result per failure; `uri` is the file the locations are in (relative,
/// as code scanning requires).
pub fn from_verdict(verdict: &Verdict, rules: &[Rule<'_>], uri: &str) -> Value {
    let rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.title},
                "defaultConfiguration": {"level": level(r.action)},
                "helpUri": "https://example.invalid/pare/docs/audit.md",
            })
        })
        .collect();
    let results: Vec<Value> = verdict
        .failures
        .iter()
        .map(|f| {
            let mut region = json!({"startLine": 1});
            if let Some(l) = f.location {
                region = json!({"startLine": l.line.max(1), "startColumn": l.column.max(1)});
            }
            json!({
                "ruleId": f.rule,
                "level": level(f.action),
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": region,
                    },
                }],
                "properties": {"action": f.action.as_str(), "fix": f.fix, "evidence": f.evidence},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pare",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/pare",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}
