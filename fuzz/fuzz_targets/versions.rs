//! Lines → pare-vuln's version parsers in every ecosystem and SemVer, then the order between every two
//! versions that parsed (reflexive, antisymmetric, `None` only across schemes) and `range::check` with the
//! lines as range events and installed version. Any panic is a bug.
#![no_main]

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use pare_vuln::range::check;
use pare_vuln::version::{self, Version};
use pare_vuln::{Affected, Ecosystem, Event, Range, RangeKind, Status};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().take(8).collect();
    for ecosystem in Ecosystem::ALL {
        let parsed: Vec<Version> = lines.iter().filter_map(|l| version::parse(ecosystem, l).ok()).collect();
        for a in &parsed {
            assert_eq!(a.compare(a), Some(Ordering::Equal), "{ecosystem} {a} not equal to itself");
            for b in &parsed {
                let ab = a.compare(b).expect("same ecosystem compares");
                let ba = b.compare(a).expect("same ecosystem compares");
                assert_eq!(ab, ba.reverse(), "{ecosystem}: {a} vs {b}");
            }
        }
        if let Some((installed, events)) = lines.split_first() {
            let kinds = [RangeKind::Ecosystem, RangeKind::Semver, RangeKind::Git];
            let events: Vec<Event> = events
                .iter()
                .enumerate()
                .map(|(i, e)| match i % 4 {
                    0 => Event::Introduced(e.to_string()),
                    1 => Event::Fixed(e.to_string()),
                    2 => Event::LastAffected(e.to_string()),
                    _ => Event::Limit(e.to_string()),
                })
                .collect();
            let affected = Affected {
                ecosystem,
                release: None,
                package: "fuzz".to_string(),
                status: Status::Fixed,
                ranges: kinds.iter().map(|k| Range { kind: *k, events: events.clone() }).collect(),
                versions: lines.iter().map(|l| l.to_string()).collect(),
                urgency: None,
                note: None,
            };
            let _ = check(&affected, installed);
        }
    }
    for l in &lines {
        let _ = version::parse_semver(l);
    }
});
