//! VEX: reading OpenVEX 0.2 (and 0.0.1) and CycloneDX VEX documents, applying their statements to
//! findings, and writing OpenVEX documents.
//!
//! A statement applies to a finding when it names one of the finding's ids (or aliases) and its
//! product is the package (by purl), or the scanned image with the package among its subcomponents
//! (or no subcomponents). When several statements apply, the latest (by timestamp, then document
//! order) wins, as the OpenVEX spec says. Suppressed findings stay in the report with the statement.

use std::collections::BTreeSet;

use packageurl::PackageUrl;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::matcher::{AppliedVex, Finding};
use crate::{Error, Result};

pub const OPENVEX_CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";
/// Largest VEX document read.
pub const MAX_DOCUMENT: usize = 64 << 20;

/// The statuses VEX defines (OpenVEX names; CycloneDX analysis states are mapped onto them).
pub const STATUSES: [&str; 4] = ["not_affected", "affected", "fixed", "under_investigation"];
/// OpenVEX justifications for `not_affected`.
pub const JUSTIFICATIONS: [&str; 5] = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

/// One statement, normalised from either format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The vulnerability's name and aliases.
    pub vulnerabilities: Vec<String>,
    /// Products: purls or other identifiers (image references, digests).
    pub products: Vec<Product>,
    pub status: String,
    pub justification: Option<String>,
    pub impact_statement: Option<String>,
    pub action_statement: Option<String>,
    pub author: Option<String>,
    pub timestamp: Option<jiff::Timestamp>,
    /// Where it came from: `FILE#statement[N]`.
    pub origin: String,
    /// The file it came from.
    pub document: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// Identifiers of the product (`@id`, `identifiers.purl`, …).
    pub ids: Vec<String>,
    /// Identifiers of subcomponents; empty means the whole product.
    pub subcomponents: Vec<Vec<String>>,
}

/// Statements read from one document, and what could not be used.
#[derive(Clone, Debug, Default)]
pub struct Document {
    pub statements: Vec<Statement>,
    pub warnings: Vec<String>,
}

/// Reads an OpenVEX or CycloneDX VEX document. `location` names it in errors.
pub fn read(bytes: &[u8], location: &str) -> Result<Document> {
    if bytes.len() > MAX_DOCUMENT {
        return Err(vex_error(location, format!("larger than {} MiB", MAX_DOCUMENT >> 20)));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| vex_error(location, format!("not JSON ({e}); expected an OpenVEX or CycloneDX VEX document")))?;
    let Some(object) = value.as_object() else {
        return Err(vex_error(location, "expected a JSON object"));
    };
    if object.get("@context").and_then(Value::as_str).is_some_and(|c| c.starts_with("https://openvex.dev/ns")) {
        return read_openvex(object, location);
    }
    if object.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return read_cyclonedx(object, location);
    }
    Err(vex_error(
        location,
        "not a VEX document: expected `@context: https://openvex.dev/ns/v0.2.0` (OpenVEX) or `bomFormat: CycloneDX` \
         with `vulnerabilities` (CycloneDX VEX)",
    ))
}

fn vex_error(location: &str, message: impl Into<String>) -> Error {
    Error::Vex { location: location.to_string(), message: message.into() }
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn timestamp(value: &Value, key: &str, location: &str, warnings: &mut Vec<String>) -> Option<jiff::Timestamp> {
    let text = str_field(value, key)?;
    match text.parse::<jiff::Timestamp>() {
        Ok(t) => Some(t),
        Err(e) => {
            warnings.push(format!("{location}: `{key}` is not an RFC 3339 time ({e}); ignored"));
            None
        }
    }
}

fn read_openvex(doc: &serde_json::Map<String, Value>, location: &str) -> Result<Document> {
    let doc_value = Value::Object(doc.clone());
    let mut out = Document::default();
    let author = str_field(&doc_value, "author");
    let doc_time = timestamp(&doc_value, "timestamp", location, &mut out.warnings);
    let Some(statements) = doc.get("statements").and_then(Value::as_array) else {
        return Err(vex_error(location, "`statements` is missing or not an array"));
    };
    for (index, s) in statements.iter().enumerate() {
        let origin = format!("{location}#statements[{index}]");
        // v0.2.0: `vulnerability: {name, aliases}`; v0.0.1: `vulnerability: "CVE-…"`.
        let mut vulnerabilities = Vec::new();
        match s.get("vulnerability") {
            Some(Value::String(name)) => vulnerabilities.push(name.trim().to_string()),
            Some(v @ Value::Object(_)) => {
                vulnerabilities.extend(str_field(v, "name"));
                vulnerabilities.extend(str_field(v, "@id").filter(|id| !id.contains("://")));
                if let Some(aliases) = v.get("aliases").and_then(Value::as_array) {
                    vulnerabilities.extend(aliases.iter().filter_map(Value::as_str).map(str::to_string));
                }
            }
            _ => {}
        }
        if vulnerabilities.is_empty() {
            return Err(vex_error(&origin, "`vulnerability.name` is missing"));
        }
        let Some(status) = str_field(s, "status") else {
            return Err(vex_error(&origin, "`status` is missing"));
        };
        if !STATUSES.contains(&status.as_str()) {
            return Err(vex_error(
                &origin,
                format!("unknown status `{status}` (expected one of {})", STATUSES.join(", ")),
            ));
        }
        let justification = str_field(s, "justification");
        if let Some(j) = &justification
            && !JUSTIFICATIONS.contains(&j.as_str())
        {
            out.warnings.push(format!("{origin}: unknown justification `{j}` (kept as given)"));
        }
        let mut products = Vec::new();
        if let Some(list) = s.get("products").and_then(Value::as_array) {
            for p in list {
                products.push(Product {
                    ids: identifiers(p),
                    subcomponents: p
                        .get("subcomponents")
                        .and_then(Value::as_array)
                        .map(|subs| subs.iter().map(identifiers).filter(|ids| !ids.is_empty()).collect())
                        .unwrap_or_default(),
                });
            }
        }
        // v0.0.1 puts subcomponents beside products.
        if let Some(subs) = s.get("subcomponents").and_then(Value::as_array) {
            let subs: Vec<Vec<String>> = subs.iter().map(identifiers).filter(|ids| !ids.is_empty()).collect();
            for p in &mut products {
                p.subcomponents.extend(subs.iter().cloned());
            }
        }
        products.retain(|p| !p.ids.is_empty());
        if products.is_empty() {
            return Err(vex_error(&origin, "`products` is missing or names no product (`@id`)"));
        }
        let impact_statement = str_field(s, "impact_statement");
        // OpenVEX: a not_affected statement MUST carry a justification or an impact statement.
        if status == "not_affected" && justification.is_none() && impact_statement.is_none() {
            let product: Vec<&str> = products.iter().filter_map(|p| p.ids.first().map(String::as_str)).collect();
            return Err(vex_error(
                &origin,
                format!(
                    "status not_affected for {} on {} has neither `justification` nor `impact_statement` \
                     (OpenVEX requires one)",
                    vulnerabilities.first().map_or("?", String::as_str),
                    product.join(", "),
                ),
            )
            .with_hint(format!(
                "add `\"justification\"`: one of {}, or an `impact_statement` saying why; `pare vex \
                 --justification …` writes valid statements",
                JUSTIFICATIONS.join(", ")
            )));
        }
        let mut warnings = Vec::new();
        let statement_time = timestamp(s, "timestamp", &origin, &mut warnings).or(doc_time);
        out.warnings.extend(warnings);
        out.statements.push(Statement {
            vulnerabilities,
            products,
            status,
            justification,
            impact_statement,
            action_statement: str_field(s, "action_statement"),
            author: str_field(s, "supplier").or_else(|| author.clone()),
            timestamp: statement_time,
            origin,
            document: location.to_string(),
        });
    }
    Ok(out)
}

/// A product's or component's identifiers: a string, or `@id` plus `identifiers.{purl,cpe22,cpe23}`.
fn identifiers(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.trim().to_string()],
        Value::Object(_) => {
            let mut ids: Vec<String> = str_field(value, "@id").into_iter().collect();
            if let Some(map) = value.get("identifiers").and_then(Value::as_object) {
                ids.extend(map.values().filter_map(Value::as_str).map(str::to_string));
            }
            ids
        }
        _ => Vec::new(),
    }
}

fn read_cyclonedx(doc: &serde_json::Map<String, Value>, location: &str) -> Result<Document> {
    let mut out = Document::default();
    let doc_value = Value::Object(doc.clone());
    let doc_time = doc.get("metadata").and_then(|m| timestamp(m, "timestamp", location, &mut out.warnings));
    let author = doc.get("metadata").and_then(|m| {
        m.get("authors")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|a| str_field(a, "name"))
            .or_else(|| m.get("manufacturer").and_then(|x| str_field(x, "name")))
    });
    // bom-ref → purl of components in this document, so `affects.ref` can name either.
    let mut refs: Vec<(String, String)> = Vec::new();
    collect_components(doc_value.get("components"), &mut refs);
    if let Some(c) = doc.get("metadata").and_then(|m| m.get("component")) {
        collect_components(Some(&Value::Array(vec![c.clone()])), &mut refs);
    }
    let Some(vulns) = doc.get("vulnerabilities").and_then(Value::as_array) else {
        return Err(vex_error(location, "a CycloneDX document without `vulnerabilities` is not a VEX document"));
    };
    for (index, v) in vulns.iter().enumerate() {
        let origin = format!("{location}#vulnerabilities[{index}]");
        let Some(id) = str_field(v, "id") else {
            return Err(vex_error(&origin, "`id` is missing"));
        };
        let mut vulnerabilities = vec![id];
        if let Some(refs) = v.get("references").and_then(Value::as_array) {
            vulnerabilities.extend(refs.iter().filter_map(|r| str_field(r, "id")));
        }
        let Some(analysis) = v.get("analysis") else {
            out.warnings.push(format!("{origin}: no `analysis`, so no VEX statement; skipped"));
            continue;
        };
        let Some(state) = str_field(analysis, "state") else {
            out.warnings.push(format!("{origin}: `analysis.state` is missing; skipped"));
            continue;
        };
        let status = match state.as_str() {
            "not_affected" | "false_positive" => "not_affected",
            "resolved" | "resolved_with_pedigree" => "fixed",
            "exploitable" => "affected",
            "in_triage" => "under_investigation",
            other => {
                return Err(vex_error(
                    &origin,
                    format!(
                        "unknown analysis.state `{other}` (expected resolved, resolved_with_pedigree, exploitable, \
                         in_triage, false_positive, not_affected)"
                    ),
                ));
            }
        };
        let mut ids: Vec<String> = Vec::new();
        if let Some(affects) = v.get("affects").and_then(Value::as_array) {
            for a in affects {
                let Some(r) = str_field(a, "ref") else { continue };
                // `urn:cdx:SERIAL/VERSION#BOM-REF` points into another BOM; the bom-ref is what is left.
                let local = r.rsplit_once('#').filter(|_| r.starts_with("urn:cdx:")).map_or(r.as_str(), |(_, b)| b);
                ids.push(local.to_string());
                ids.extend(refs.iter().filter(|(bom_ref, _)| bom_ref == local).map(|(_, purl)| purl.clone()));
            }
        }
        if ids.is_empty() {
            return Err(vex_error(&origin, "`affects` names no component (`ref`)"));
        }
        let mut warnings = Vec::new();
        let time = timestamp(analysis, "lastUpdated", &origin, &mut warnings)
            .or_else(|| timestamp(analysis, "firstIssued", &origin, &mut warnings))
            .or(doc_time);
        out.warnings.extend(warnings);
        let response: Vec<String> = analysis
            .get("response")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        out.statements.push(Statement {
            vulnerabilities,
            products: vec![Product { ids, subcomponents: Vec::new() }],
            status: status.to_string(),
            justification: str_field(analysis, "justification"),
            impact_statement: str_field(analysis, "detail"),
            action_statement: (!response.is_empty()).then(|| response.join(", ")),
            author: author.clone(),
            timestamp: time,
            origin,
            document: location.to_string(),
        });
    }
    Ok(out)
}

fn collect_components(list: Option<&Value>, out: &mut Vec<(String, String)>) {
    let Some(list) = list.and_then(Value::as_array) else { return };
    for c in list {
        if let (Some(bom_ref), Some(purl)) = (str_field(c, "bom-ref"), str_field(c, "purl")) {
            out.push((bom_ref, purl));
        }
        collect_components(c.get("components"), out);
    }
}

/// What the scan was of, so statements about the image (not a package) can be matched.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    /// The name the user gave (`oci:./out:app`, `registry/app:1.0`).
    pub name: Option<String>,
    /// The image manifest digest.
    pub digest: Option<String>,
}

/// Applies statements to findings; returns warnings for statements that matched nothing in the scan.
pub fn apply(findings: &mut [Finding], statements: &[Statement], subject: &Subject) -> Vec<String> {
    let mut used = vec![false; statements.len()];
    let mut known_product = vec![false; statements.len()];
    for (i, s) in statements.iter().enumerate() {
        known_product[i] = s.products.iter().any(|p| {
            p.ids.iter().any(|id| identifies_subject(id, subject))
                || findings.iter().any(|f| p.ids.iter().any(|id| purl_matches(id, &f.package.purl)))
        });
    }
    for finding in findings.iter_mut() {
        let ids: BTreeSet<&str> = finding.ids().collect();
        let mut best: Option<(usize, &Statement)> = None;
        for (i, s) in statements.iter().enumerate() {
            if !s.vulnerabilities.iter().any(|v| ids.contains(v.as_str())) {
                continue;
            }
            if !s.products.iter().any(|p| product_covers(p, &finding.package.purl, subject)) {
                continue;
            }
            used[i] = true;
            let later = match best {
                None => true,
                Some((_, b)) => match (s.timestamp, b.timestamp) {
                    (Some(a), Some(b)) => a >= b,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => true,
                },
            };
            if later {
                best = Some((i, s));
            }
        }
        if let Some((_, s)) = best {
            finding.vex = Some(AppliedVex {
                status: s.status.clone(),
                justification: s.justification.clone(),
                impact_statement: s.impact_statement.clone(),
                action_statement: s.action_statement.clone(),
                author: s.author.clone(),
                timestamp: s.timestamp.map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
                document: s.document.clone(),
            });
        }
    }
    let mut warnings = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        if !known_product[i] {
            let names: Vec<&str> = s.products.iter().flat_map(|p| p.ids.iter().map(String::as_str)).collect();
            warnings.push(format!(
                "{}: product {} is not in this scan (neither the scanned image nor one of its packages); the \
                 statement about {} was not applied",
                s.origin,
                names.join(", "),
                s.vulnerabilities.first().map_or("?", String::as_str)
            ));
        } else if !used[i] && s.status != "affected" && s.status != "under_investigation" {
            tracing::debug!(origin = %s.origin, "VEX statement matches no finding");
        }
    }
    warnings
}

fn product_covers(product: &Product, package_purl: &str, subject: &Subject) -> bool {
    if product.ids.iter().any(|id| purl_matches(id, package_purl)) {
        return true;
    }
    if product.ids.iter().any(|id| identifies_subject(id, subject)) {
        return product.subcomponents.is_empty()
            || product.subcomponents.iter().any(|ids| ids.iter().any(|id| purl_matches(id, package_purl)));
    }
    false
}

/// Whether an identifier names the scanned image: its digest (bare, or as a `pkg:oci` purl's version),
/// or the name the user gave.
fn identifies_subject(id: &str, subject: &Subject) -> bool {
    if let Some(digest) = &subject.digest {
        let decoded = id.replace("%3A", ":").replace("%3a", ":");
        if decoded.contains(digest.as_str()) {
            return true;
        }
    }
    subject.name.as_deref().is_some_and(|n| n == id)
}

/// Whether a statement's purl names a package: same type, namespace and name; the version and each
/// qualifier the statement gives must match too (a statement without a version covers every version).
pub fn purl_matches(statement: &str, package: &str) -> bool {
    let (Ok(s), Ok(p)) = (statement.parse::<PackageUrl>(), package.parse::<PackageUrl>()) else {
        return false;
    };
    let eq = |a: Option<&str>, b: Option<&str>| a.map(str::to_ascii_lowercase) == b.map(str::to_ascii_lowercase);
    if s.ty() != p.ty() || !eq(s.namespace(), p.namespace()) || s.name() != p.name() {
        return false;
    }
    if let Some(v) = s.version()
        && Some(v) != p.version()
    {
        return false;
    }
    s.qualifiers().iter().all(|(k, v)| p.qualifiers().get(k).is_none_or(|pv| pv == v))
}

/// A statement to write with `pare vex`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewStatement {
    pub vulnerability: String,
    pub products: Vec<String>,
    pub subcomponents: Vec<String>,
    pub status: String,
    pub justification: Option<String>,
    pub impact_statement: Option<String>,
    pub action_statement: Option<String>,
}

/// Checks what OpenVEX requires of a statement: a known status, a justification or impact statement
/// for `not_affected`, an action statement for `affected`.
pub fn validate(statement: &NewStatement) -> Result<()> {
    let at = |m: String| vex_error("statement", m);
    if !STATUSES.contains(&statement.status.as_str()) {
        return Err(at(format!("unknown status `{}` (expected one of {})", statement.status, STATUSES.join(", "))));
    }
    if let Some(j) = &statement.justification {
        if !JUSTIFICATIONS.contains(&j.as_str()) {
            return Err(at(format!("unknown justification `{j}` (expected one of {})", JUSTIFICATIONS.join(", "))));
        }
        if statement.status != "not_affected" {
            return Err(at("a justification is only for status not_affected".into()));
        }
    }
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    if statement.status == "not_affected" && blank(&statement.justification) && blank(&statement.impact_statement) {
        return Err(
            at("status not_affected needs --justification or --impact-statement (OpenVEX requires one)".into()),
        );
    }
    if statement.status == "affected" && blank(&statement.action_statement) {
        return Err(at("status affected needs --action-statement (OpenVEX requires one)".into()));
    }
    if statement.products.is_empty() {
        return Err(at("a statement needs at least one --product".into()));
    }
    Ok(())
}

/// Adds a statement to an OpenVEX document (a new one when `existing` is `None`), returning the JSON.
/// The document's `version` goes up by one and `last_updated` is set when it is changed.
pub fn add_statement(
    existing: Option<(&[u8], &str)>,
    statement: &NewStatement,
    author: &str,
    now: jiff::Timestamp,
) -> Result<Value> {
    validate(statement)?;
    let now_text = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut doc = match existing {
        Some((bytes, location)) => {
            // Reading it first checks its size and every existing statement.
            read(bytes, location)?;
            let doc: Value =
                serde_json::from_slice(bytes).map_err(|e| vex_error(location, format!("not JSON: {e}")))?;
            if doc.get("@context").and_then(Value::as_str).is_none_or(|c| !c.starts_with("https://openvex.dev/ns")) {
                return Err(vex_error(location, "not an OpenVEX document (no OpenVEX `@context`)"));
            }
            doc
        }
        None => serde_json::json!({
            "@context": OPENVEX_CONTEXT,
            "@id": format!("https://openvex.dev/docs/pare/{}", now.as_nanosecond()),
            "author": author,
            "timestamp": now_text,
            "version": 0,
            "tooling": format!("pare {}", env!("CARGO_PKG_VERSION")),
            "statements": [],
        }),
    };
    let mut s = serde_json::Map::new();
    s.insert("vulnerability".into(), serde_json::json!({ "name": statement.vulnerability }));
    s.insert("timestamp".into(), Value::String(now_text.clone()));
    let products: Vec<Value> = statement
        .products
        .iter()
        .map(|p| {
            let mut product = serde_json::json!({ "@id": p });
            if !statement.subcomponents.is_empty() {
                product["subcomponents"] =
                    Value::Array(statement.subcomponents.iter().map(|c| serde_json::json!({ "@id": c })).collect());
            }
            product
        })
        .collect();
    s.insert("products".into(), Value::Array(products));
    s.insert("status".into(), Value::String(statement.status.clone()));
    for (key, value) in [
        ("justification", &statement.justification),
        ("impact_statement", &statement.impact_statement),
        ("action_statement", &statement.action_statement),
    ] {
        if let Some(v) = value {
            s.insert(key.into(), Value::String(v.clone()));
        }
    }
    let Some(list) = doc.get_mut("statements").and_then(Value::as_array_mut) else {
        return Err(vex_error("document", "`statements` is not an array"));
    };
    list.push(Value::Object(s));
    let version = doc.get("version").and_then(Value::as_u64).unwrap_or(0) + 1;
    doc["version"] = Value::from(version);
    if version > 1 {
        doc["last_updated"] = Value::String(now_text);
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_affected_needs_a_reason() {
        let doc = |extra: &str| {
            format!(
                r#"{{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{{"vulnerability":{{"name":"CVE-1"}},
                "products":[{{"@id":"pkg:deb/debian/x"}}],"status":"not_affected"{extra}}}]}}"#
            )
        };
        let Err(e) = read(doc("").as_bytes(), "t.json") else { panic!("accepted") };
        let e = e.to_string();
        assert!(e.contains("t.json#statements[0]") && e.contains("CVE-1 on pkg:deb/debian/x"), "{e}");
        assert!(read(doc(r#","impact_statement":"  ""#).as_bytes(), "t.json").is_err());
        for ok in [r#","impact_statement":"not built with GSSAPI""#, r#","justification":"component_not_present""#] {
            assert_eq!(read(doc(ok).as_bytes(), "t.json").map(|d| d.statements.len()).ok(), Some(1), "{ok}");
        }
    }

    #[test]
    fn purls_match_on_identity_and_given_version() {
        let pkg = "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12";
        assert!(purl_matches("pkg:deb/debian/libssl3", pkg));
        assert!(purl_matches("pkg:deb/debian/libssl3@3.0.11-1~deb12u2", pkg));
        assert!(purl_matches("pkg:deb/debian/libssl3?arch=amd64", pkg));
        assert!(!purl_matches("pkg:deb/debian/libssl3?arch=arm64", pkg));
        assert!(!purl_matches("pkg:deb/debian/libssl3@3.0.13-1~deb12u1", pkg));
        assert!(!purl_matches("pkg:deb/debian/openssl", pkg));
        assert!(!purl_matches("pkg:rpm/debian/libssl3", pkg));
        assert!(!purl_matches("not a purl", pkg));
    }
}
