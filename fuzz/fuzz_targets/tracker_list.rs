//! Bytes → pare-vuln's tracker readers: the DSA/DLA list parser and the tracker JSON parser, plus
//! kind detection. Any panic is a bug; every advisory read must carry an id and a date.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pare_vuln::source::{self, SourceKind};

fuzz_target!(|data: &[u8]| {
    let _ = source::detect(data);
    for kind in [SourceKind::DsaList, SourceKind::DlaList] {
        if let Ok(parsed) = source::parse_bytes(kind, "fuzz", data) {
            for a in &parsed.advisories {
                assert!(!a.id.is_empty() && a.published.is_some());
            }
        }
    }
    let _ = source::parse_bytes(SourceKind::TrackerJson, "fuzz", data);
});
