//! Live checks against Debian's archive; each skips with a message when it is unreachable.

#![allow(clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use pare_deb::{Keyring, Release};

const BOOKWORM_INRELEASE: &str = "http://deb.debian.org/debian/dists/bookworm/InRelease";

/// Fetches `url` once a day into the test target directory; `None` when offline.
fn cached_fetch(url: &str, name: &str) -> Option<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("debian-live");
    let path = dir.join(name);
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < Duration::from_secs(86_400));
    if fresh && let Ok(bytes) = std::fs::read(&path) {
        return Some(bytes);
    }
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().ok()?;
    let response = client.get(url).send().ok()?.error_for_status().ok()?;
    let bytes = response.bytes().ok()?.to_vec();
    std::fs::create_dir_all(&dir).ok()?;
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, &bytes).ok()?;
    std::fs::rename(&tmp, &path).ok()?;
    Some(bytes)
}

#[test]
fn bookworm_inrelease_verifies_with_the_debian_keyring() -> Result<(), pare_deb::Error> {
    if !pare_test::tools::debian_archive_available() {
        return Ok(());
    }
    let keyring = Keyring::debian().expect("the Debian archive keyring: run scripts/system-deps.sh");
    let data = cached_fetch(BOOKWORM_INRELEASE, "bookworm-InRelease")
        .unwrap_or_else(|| panic!("{BOOKWORM_INRELEASE} could not be read"));
    let (release, verified) = Release::from_inrelease(&keyring, &data, BOOKWORM_INRELEASE, jiff::Timestamp::now())?;
    assert_eq!(release.codename.as_deref(), Some("bookworm"));
    assert!(release.acquire_by_hash);
    assert!(release.entry("main/binary-amd64/Packages.xz").is_some());
    assert!(verified.signers.len() >= 2, "{:?}", verified.signers);
    println!("bookworm InRelease: {} signers: {:?}", verified.signers.len(), verified.signers);

    // One changed byte in the signed text must fail.
    let text = String::from_utf8_lossy(&data).replace("Codename: bookworm", "Codename: bookwork");
    let tampered = Release::from_inrelease(&keyring, text.as_bytes(), BOOKWORM_INRELEASE, jiff::Timestamp::now());
    assert!(matches!(tampered, Err(pare_deb::Error::Signature { .. })), "{tampered:?}");
    Ok(())
}

/// The bookworm pockets' main/amd64 indexes, through the archive client and a cache in the test
/// target directory; `None` only when `PARE_TEST_OFFLINE=1` (an unreachable archive fails the test).
pub fn bookworm_indexes() -> Option<Vec<pare_deb::PackageIndex>> {
    if !pare_test::tools::debian_archive_available() {
        return None;
    }
    let keyring = Keyring::debian().expect("the Debian archive keyring: run scripts/system-deps.sh");
    let cache = pare_deb::Cache::new(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pare-cache"));
    let client = pare_deb::ArchiveClient::new(keyring, cache).ok()?;
    let mut out = Vec::new();
    for pocket in pare_deb::Pocket::debian("bookworm") {
        let index = client.fetch_release(&pocket).and_then(|release| client.fetch_index(&release, "main", "amd64"));
        match index {
            Ok(index) => out.push(index),
            Err(e) => panic!("{e}"),
        }
    }
    Some(out)
}

#[test]
fn bookworm_indexes_and_a_deb_through_the_client() -> Result<(), pare_deb::Error> {
    let Some(indexes) = bookworm_indexes() else { return Ok(()) };
    let counts: Vec<_> = indexes.iter().map(|i| (i.pocket.suite.clone(), i.packages.len())).collect();
    println!("bookworm main/amd64 indexes: {counts:?}");
    assert!(indexes[0].packages.len() > 50_000);
    let netbase = indexes[0]
        .packages
        .iter()
        .find(|p| p.package == "netbase")
        .ok_or_else(|| pare_deb::Error::Unsupported("netbase is not in bookworm".into()))?;
    let keyring = Keyring::debian()?;
    let cache = pare_deb::Cache::new(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pare-cache"));
    let client = pare_deb::ArchiveClient::new(keyring, cache)?;
    let path = client.fetch_deb(&pare_deb::DebRequest::new(&indexes[0].pocket.mirror, netbase))?;
    assert_eq!(std::fs::metadata(&path).map(|m| m.len()).ok(), Some(netbase.size));
    let deb = pare_deb::DebArchive::open(&path)?;
    assert_eq!(deb.control().control.get("Package"), Some("netbase"));
    let mut paths = Vec::new();
    deb.for_each_data_entry(|e| -> Result<(), pare_deb::Error> {
        paths.push(e.path().map_err(pare_deb::Error::stream("netbase"))?.to_string_lossy().to_string());
        Ok(())
    })?;
    assert!(paths.iter().any(|p| p == "./etc/services"), "{paths:?}");
    Ok(())
}

#[test]
fn bookworm_static_set_resolves_without_libc() -> Result<(), pare_deb::Error> {
    let Some(indexes) = bookworm_indexes() else { return Ok(()) };
    let requests = ["ca-certificates", "tzdata", "base-files", "netbase", "media-types"];
    let universe = pare_deb::Universe::new(&indexes, "amd64");

    // Following every Depends, as apt would (minus essentials), drags in a libc.
    let full = pare_deb::resolve_in(&universe, &requests, &pare_deb::ResolveOptions::new("amd64"))?;
    let full_names: Vec<_> = full.packages.iter().map(|p| p.record.package.as_str()).collect();
    println!("all Depends followed: {} packages: {full_names:?}", full_names.len());
    for name in ["libc6", "perl-base", "mawk"] {
        println!("why {name}: {:?}", full.why_text(name));
    }

    assert!(full.get("libc6").is_some() && full.get("mawk").is_some() && full.get("gawk").is_none());

    // The distroless way: what the packages' maintainer scripts (debconf, awk) and openssl need is left out.
    let mut options = pare_deb::ResolveOptions::new("amd64");
    options.exclude.extend(["awk".to_string(), "debconf".to_string(), "openssl".to_string()]);
    let r = pare_deb::resolve_in(&universe, &requests, &options)?;
    let names: Vec<_> = r.packages.iter().map(|p| p.record.package.as_str()).collect();
    println!("static: {names:?}; notes: {:?}", r.notes);
    assert_eq!(names, ["base-files", "ca-certificates", "media-types", "netbase", "tzdata"]);
    assert!(r.get("libc6").is_none() && r.get("bash").is_none());
    let mut exact = pare_deb::ResolveOptions::new("amd64");
    exact.follow_dependencies = false;
    let same = pare_deb::resolve_in(&universe, &requests, &exact)?;
    assert_eq!(same.packages.len(), 5);

    // A bigger closure for scale: python3 (printed for reference).
    let py = pare_deb::resolve_in(&universe, &["python3"], &pare_deb::ResolveOptions::new("amd64"))?;
    println!(
        "python3: {} packages: {:?}",
        py.packages.len(),
        py.packages.iter().map(|p| p.record.package.as_str()).collect::<Vec<_>>()
    );
    assert!(py.get("libc6").is_some() && py.get("bash").is_none());
    Ok(())
}
