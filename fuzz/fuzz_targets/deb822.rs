//! Bytes → pare-deb's parsers of untrusted text and archives: deb822 paragraphs, Release and
//! Packages records, relations, versions (with order and hash consistency) and `.deb` reading.
//! Any panic is a bug.
#![no_main]

use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Read;

use libfuzzer_sys::fuzz_target;
use pare_deb::relation::{parse_alternatives, parse_relations};
use pare_deb::{DebArchive, Deb822Reader, Error, PackageRecord, Relation, Release, Version};

fn hash(v: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fuzz_target!(|data: &[u8]| {
    // Paragraphs, streamed, then read as Packages records.
    for paragraph in Deb822Reader::new(data, "fuzz").take(64) {
        let Ok(p) = paragraph else { break };
        let _ = PackageRecord::from_paragraph(&p, "fuzz");
        let _ = p.to_string();
    }
    let text = String::from_utf8_lossy(data);
    let _ = Release::parse(&text, "fuzz");
    let _ = parse_alternatives(&text);
    let _ = parse_relations(&text);
    if let Ok(r) = Relation::parse(&text) {
        // What is printed parses back to the same relation.
        assert_eq!(Relation::parse(&r.to_string()).ok(), Some(r));
    }
    // Versions: split the input in two, compare both ways.
    let (a, b) = text.split_at(text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i));
    if let (Ok(va), Ok(vb)) = (Version::parse(a), Version::parse(b)) {
        assert_eq!(va.cmp(&vb), vb.cmp(&va).reverse());
        assert_eq!(va.cmp(&va), Ordering::Equal);
        if va == vb {
            assert_eq!(hash(&va), hash(&vb));
        }
        assert_eq!(Version::parse(&va.to_string()).ok().map(|v| v.cmp(&va)), Some(Ordering::Equal));
    }
    // A .deb: control part, then every data entry read to the end.
    if let Ok(deb) = DebArchive::new(data, "fuzz.deb") {
        let _ = deb.for_each_data_entry(|entry| -> Result<(), Error> {
            let mut sink = Vec::new();
            let _ = entry.take(1 << 20).read_to_end(&mut sink);
            Ok(())
        });
    }
});
