//! CVE records for their CVSS metrics only: CVE JSON 5 (`cveawg.mitre.org/api/cve/<ID>`, cvelistV5)
//! and NVD API 2.0 responses. The score the record gives is kept; without one it is computed.

use serde_json::Value;

use super::Parsed;
use crate::error::{Error, Result};
use crate::model::Cvss;

pub(crate) fn parse(location: &str, bytes: &[u8], parsed: &mut Parsed) -> Result<()> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::malformed(format!("{location}:{}:{}", e.line(), e.column()), format!("not a CVE record: {e}"))
    })?;
    if let Some(vulns) = v.get("vulnerabilities").and_then(Value::as_array) {
        // NVD API 2.0: vulnerabilities[].cve.{id, metrics.cvssMetricV*[].cvssData}
        for (n, item) in vulns.iter().enumerate() {
            let cve = item.get("cve");
            let Some(id) = cve.and_then(|c| c.get("id")).and_then(Value::as_str) else {
                parsed.warnings.push(format!("{location}: vulnerabilities[{n}] has no cve.id; skipped"));
                continue;
            };
            parsed.cve_records += 1;
            let metrics = cve.and_then(|c| c.get("metrics")).and_then(Value::as_object);
            for (key, list) in metrics.into_iter().flatten() {
                if !key.starts_with("cvssMetricV") || key == "cvssMetricV2" {
                    continue;
                }
                for m in list.as_array().into_iter().flatten() {
                    if let Some(data) = m.get("cvssData") {
                        push(location, id, data, parsed);
                    }
                }
            }
        }
        return Ok(());
    }
    let Some(id) = v.pointer("/cveMetadata/cveId").and_then(Value::as_str) else {
        return Err(Error::malformed(location, "neither a CVE JSON 5 record (cveMetadata.cveId) nor an NVD response"));
    };
    parsed.cve_records += 1;
    // CVE JSON 5: containers.cna.metrics[] and containers.adp[].metrics[], each {cvssV3_1: {...}} etc.
    let mut containers: Vec<&Value> = v.pointer("/containers/cna").into_iter().collect();
    containers.extend(v.pointer("/containers/adp").and_then(Value::as_array).into_iter().flatten());
    for c in containers {
        for m in c.get("metrics").and_then(Value::as_array).into_iter().flatten() {
            for key in ["cvssV3_0", "cvssV3_1", "cvssV4_0"] {
                if let Some(data) = m.get(key) {
                    push(location, id, data, parsed);
                }
            }
        }
    }
    Ok(())
}

fn push(location: &str, id: &str, data: &Value, parsed: &mut Parsed) {
    let Some(vector) = data.get("vectorString").and_then(Value::as_str) else {
        parsed.warnings.push(format!("{location}: {id}: CVSS metric without vectorString; ignored"));
        return;
    };
    let cvss = match (data.get("baseScore").and_then(Value::as_f64), super::cvss::score(vector)) {
        (_, Err(m)) => {
            parsed.warnings.push(format!("{location}: {id}: {m}; ignored"));
            return;
        }
        (Some(given), Ok(c)) => Cvss { base_score: given, ..c },
        (None, Ok(c)) => c,
    };
    if !parsed.cvss.iter().any(|(i, c)| i == id && c.vector == cvss.vector && c.version == cvss.version) {
        parsed.cvss.push((id.to_string(), cvss));
    }
}
