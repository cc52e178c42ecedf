//! Live checks against Debian's archive; each skips with a message when it is unreachable.

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
    let Ok(keyring) = Keyring::debian() else {
        println!("SKIPPED: the Debian archive keyring is not installed");
        return Ok(());
    };
    let Some(data) = cached_fetch(BOOKWORM_INRELEASE, "bookworm-InRelease") else {
        println!("SKIPPED: {BOOKWORM_INRELEASE} is unreachable");
        return Ok(());
    };
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
