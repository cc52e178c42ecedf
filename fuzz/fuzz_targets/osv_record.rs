//! Bytes → pare-vuln's OSV reader (JSON, YAML, zip archives), CVE record reader and CVSS scoring.
//! Any panic is a bug; a record that parses must narrow into lookups without loss.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pare_vuln::source::{self, SourceKind};
use pare_vuln::{Lookup, MemoryLookup};

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = source::parse_bytes(SourceKind::Osv, "fuzz", data) {
        let wanted: Vec<_> =
            parsed.advisories.iter().flat_map(|a| &a.affected).map(|x| (x.ecosystem, x.package.clone())).collect();
        let lookup = MemoryLookup::from_parsed(parsed);
        for (eco, pkg) in wanted {
            assert!(!lookup.advisories(eco, &pkg).unwrap_or_default().is_empty());
        }
    }
    let _ = source::parse_bytes(SourceKind::Cve, "fuzz", data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = source::cvss::score(text);
    }
});
