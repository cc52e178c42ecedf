//! CVSS vectors to scores, with RustSec's `cvss` crate (v3.0, v3.1 and v4.0 base scores).

use crate::model::Cvss;

/// The version and base score of a vector (`CVSS:3.1/AV:N/…`, `CVSS:4.0/…`), or why it is not one.
pub fn score(vector: &str) -> Result<Cvss, String> {
    let parsed: ::cvss::Cvss =
        base_only(vector.trim()).parse().map_err(|e| format!("invalid CVSS vector `{vector}`: {e}"))?;
    let version = vector.trim().split('/').next().and_then(|p| p.strip_prefix("CVSS:")).unwrap_or("").to_string();
    Ok(Cvss { version, vector: vector.trim().to_string(), base_score: parsed.score() })
}

/// A v3 vector without its temporal and environmental metrics (`E:P`, `RL:O`, …), which the base
/// score ignores and the `cvss` crate's v3 parser refuses. v4 vectors are kept whole.
fn base_only(vector: &str) -> String {
    const BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    if !vector.starts_with("CVSS:3.") {
        return vector.to_string();
    }
    vector
        .split('/')
        .enumerate()
        .filter(|(i, part)| *i == 0 || part.split_once(':').is_some_and(|(k, _)| BASE.contains(&k)))
        .map(|(_, p)| p)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base_scores_match_nvd() {
        // CVE-2024-3094 (NVD): 10.0; CVE-2024-6387 (NVD): 8.1.
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H").unwrap().base_score, 10.0);
        assert_eq!(score("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap().base_score, 8.1);
        // CVSS 4.0 spec example score.
        let v4 = score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").unwrap();
        assert_eq!((v4.version.as_str(), v4.base_score), ("4.0", 9.3));
        assert!(score("CVSS:3.1/AV:X").is_err());
        // CVE-2022-25929's vector carries a temporal metric; the base score is still 5.4.
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N/E:P").unwrap().base_score, 5.4);
        assert!(score("").is_err());
    }
}
