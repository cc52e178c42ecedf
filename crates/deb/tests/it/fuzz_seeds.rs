//! The `deb822` fuzz target's seeds still go through the parsers on every `cargo test`.

use std::path::PathBuf;

use pare_deb::relation::parse_alternatives;
use pare_deb::{DebArchive, Error, Release, Version, parse_packages};

#[test]
fn deb822_fuzz_seeds_still_parse() -> Result<(), Error> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/deb822");
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(Error::io(dir.join(name)));
    if !dir.exists() {
        return Ok(());
    }
    assert_eq!(parse_alternatives(&String::from_utf8_lossy(&read("rel")?))?.len(), 2);
    assert_eq!(Version::parse(&String::from_utf8_lossy(&read("ver")?))?.epoch(), 1);
    assert!(!parse_packages(&read("packages")?[..], "packages")?.is_empty());
    let release = Release::parse(&String::from_utf8_lossy(&read("release")?), "release")?;
    assert_eq!(release.codename.as_deref(), Some("bookworm-updates"));
    let seed = read("seed.deb")?;
    let deb = DebArchive::new(&seed[..], "seed.deb")?;
    assert_eq!(deb.control().control.get("Package"), Some("seed"));
    let mut n = 0;
    deb.for_each_data_entry(|_| -> Result<(), Error> {
        n += 1;
        Ok(())
    })?;
    assert!(n >= 2);
    Ok(())
}
