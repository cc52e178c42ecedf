//! The archive client against a signed repository served on 127.0.0.1.

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::sync::Mutex;

use pare_deb::testing::{FileServer, RepoBuilder, TestKey};
use pare_deb::{ArchiveClient, Cache, DebRequest, DownloadEvent, Error, Keyring, Paragraph, Pocket};

fn control(name: &str, version: &str, depends: &str) -> Paragraph {
    let mut p = Paragraph::new();
    p.set("Package", name);
    p.set("Version", version);
    p.set("Architecture", "amd64");
    if !depends.is_empty() {
        p.set("Depends", depends);
    }
    p
}

struct Fixture {
    _dir: tempfile::TempDir,
    repo: std::path::PathBuf,
    cache: std::path::PathBuf,
    key: TestKey,
    keyring: Keyring,
}

fn fixture() -> Result<Fixture, Error> {
    let dir = tempfile::tempdir().map_err(|e| Error::Unsupported(e.to_string()))?;
    let repo = dir.path().join("repo");
    let key = TestKey::generate(7, "pare test archive <test@example.invalid>")?;
    let keyring = Keyring::from_bytes(&key.public_keyring()?, "test.gpg")?;
    let mut builder = RepoBuilder::new(&repo, "stable", "amd64");
    builder.add(&control("hello", "1.0-1", "libhello (>= 1.0)"), b"hello deb bytes".repeat(1000).as_slice())?;
    builder.add(&control("libhello", "1:1.2-3", ""), b"libhello deb bytes".repeat(500).as_slice())?;
    builder.write(&key)?;
    Ok(Fixture { cache: dir.path().join("cache"), _dir: dir, repo, key, keyring })
}

fn client(f: &Fixture, keyring: &Keyring) -> Result<ArchiveClient, Error> {
    Ok(ArchiveClient::new(keyring.clone(), Cache::new(&f.cache))?.with_retries(1))
}

fn requests(f: &Fixture, server: &FileServer) -> Result<Vec<DebRequest>, Error> {
    let c = client(f, &f.keyring)?;
    let release = c.fetch_release(&Pocket::new(&server.url(), "stable"))?;
    let index = c.fetch_index(&release, "main", "amd64")?;
    Ok(index.packages.iter().map(|p| DebRequest::new(&server.url(), p)).collect())
}

#[test]
fn fetches_verifies_and_caches() -> Result<(), Error> {
    let f = fixture()?;
    let server = FileServer::start(&f.repo)?;
    let c = client(&f, &f.keyring)?;
    let release = c.fetch_release(&Pocket::new(&server.url(), "stable"))?;
    assert!(release.url.ends_with("/dists/stable/InRelease"));
    assert_eq!(release.signers.len(), 1);
    let index = c.fetch_index(&release, "main", "amd64")?;
    let names: Vec<_> = index.packages.iter().map(|p| p.id()).collect();
    assert_eq!(names, ["hello_1.0-1_amd64", "libhello_1:1.2-3_amd64"]);
    let reqs: Vec<_> = index.packages.iter().map(|p| DebRequest::new(&server.url(), p)).collect();
    let events = Mutex::new(Vec::new());
    let record = |e: &DownloadEvent<'_>| {
        if let Ok(mut v) = events.lock() {
            v.push(match e {
                DownloadEvent::Cached { name, .. } => format!("cached {name}"),
                DownloadEvent::Started { name, .. } => format!("started {name}"),
                DownloadEvent::Progress { .. } => String::new(),
                DownloadEvent::Finished { name, .. } => format!("finished {name}"),
            });
        }
    };
    let paths = c.fetch_debs(&reqs, &record)?;
    assert_eq!(paths.len(), 2);
    assert_eq!(std::fs::read(&paths[0]).ok(), Some(b"hello deb bytes".repeat(1000)));
    // The second time everything comes from the cache: no request reaches the server.
    let before = server.requests();
    let again = c.fetch_debs(&reqs, &record)?;
    assert_eq!(again, paths);
    assert_eq!(server.requests(), before);
    let index_again = c.fetch_index(&release, "main", "amd64")?;
    assert_eq!(index_again.packages.len(), 2);
    assert_eq!(server.requests(), before);
    let log = events.into_inner().unwrap_or_default();
    assert!(log.contains(&"finished hello_1.0-1_amd64".to_string()));
    assert!(log.contains(&"cached libhello_1:1.2-3_amd64".to_string()));

    // A corrupted cache entry is deleted and fetched again.
    std::fs::write(&paths[1], b"garbage").map_err(|e| Error::Unsupported(e.to_string()))?;
    let fixed = c.fetch_debs(&reqs, &|_| {})?;
    assert_eq!(std::fs::read(&fixed[1]).ok(), Some(b"libhello deb bytes".repeat(500)));
    assert!(server.requests() > before);
    Ok(())
}

#[test]
fn refuses_wrong_key_and_unsigned() -> Result<(), Error> {
    let f = fixture()?;
    let server = FileServer::start(&f.repo)?;
    let other = TestKey::generate(8, "someone else <x@example.invalid>")?;
    let other_ring = Keyring::from_bytes(&other.public_keyring()?, "other.gpg")?;
    let err = client(&f, &other_ring)?
        .fetch_release(&Pocket::new(&server.url(), "stable"))
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert!(err.as_ref().is_err_and(|e| e.contains("InRelease") && e.contains("other.gpg")), "{err:?}");

    // Without InRelease the client falls back to Release + Release.gpg...
    let dists = f.repo.join("dists/stable");
    std::fs::remove_file(dists.join("InRelease")).map_err(|e| Error::Unsupported(e.to_string()))?;
    let r = client(&f, &f.keyring)?.fetch_release(&Pocket::new(&server.url(), "stable"))?;
    assert!(r.url.ends_with("/Release"));
    // ... and refuses a Release without signature.
    std::fs::remove_file(dists.join("Release.gpg")).map_err(|e| Error::Unsupported(e.to_string()))?;
    let unsigned = client(&f, &f.keyring)?.fetch_release(&Pocket::new(&server.url(), "stable"));
    assert!(matches!(unsigned, Err(Error::Unsigned { .. })), "{unsigned:?}");
    Ok(())
}

#[test]
fn refuses_expired_and_replayed_releases() -> Result<(), Error> {
    let f = fixture()?;
    let server = FileServer::start(&f.repo)?;
    let mut builder = RepoBuilder::new(&f.repo, "old", "amd64");
    builder.valid_until(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48));
    builder.add(&control("hello", "0.9-1", ""), b"old")?;
    builder.write(&f.key)?;
    let expired = client(&f, &f.keyring)?.fetch_release(&Pocket::new(&server.url(), "old"));
    assert!(matches!(expired, Err(Error::Expired { .. })), "{expired:?}");

    // The stable InRelease served as another suite's.
    let other = f.repo.join("dists/other");
    std::fs::create_dir_all(&other).map_err(|e| Error::Unsupported(e.to_string()))?;
    std::fs::copy(f.repo.join("dists/stable/InRelease"), other.join("InRelease"))
        .map_err(|e| Error::Unsupported(e.to_string()))?;
    let replay = client(&f, &f.keyring)?.fetch_release(&Pocket::new(&server.url(), "other")).map_err(|e| e.to_string());
    assert!(replay.as_ref().is_err_and(|e| e.contains("not `other`")), "{:?}", replay.map(|_| ()));
    Ok(())
}

#[test]
fn refuses_tampered_index_and_deb_and_caches_nothing() -> Result<(), Error> {
    let f = fixture()?;
    let server = FileServer::start(&f.repo)?;
    let reqs = requests(&f, &server)?;
    // A tampered .deb (same size).
    let deb = f.repo.join("pool/main/hello/hello_1.0-1_amd64.deb");
    let mut bytes = std::fs::read(&deb).map_err(|e| Error::Unsupported(e.to_string()))?;
    bytes[0] ^= 1;
    std::fs::write(&deb, &bytes).map_err(|e| Error::Unsupported(e.to_string()))?;
    let c = client(&f, &f.keyring)?;
    let err = c.fetch_deb(&reqs[0]).map_err(|e| e.to_string());
    assert!(
        err.as_ref().is_err_and(|e| e.contains("hello_1.0-1_amd64.deb") && e.contains("does not match")),
        "{err:?}"
    );
    assert_eq!(c.cache().get(pare_deb::cache::DEBS, &reqs[0].sha256, None)?, None);

    // A truncated transfer: retried, then a clear error; nothing cached.
    server.truncate("/pool/main/libhello/libhello_1.2-3_amd64.deb");
    let short = c.fetch_deb(&reqs[1]).map_err(|e| e.to_string());
    assert!(short.as_ref().is_err_and(|e| e.contains("libhello_1.2-3_amd64.deb is truncated")), "{short:?}");
    assert_eq!(c.cache().get(pare_deb::cache::DEBS, &reqs[1].sha256, None)?, None);

    // A tampered Packages.xz (both the by-hash copy and the plain path) in a fresh cache.
    let fresh = tempfile::tempdir().map_err(|e| Error::Unsupported(e.to_string()))?;
    let c = ArchiveClient::new(f.keyring.clone(), Cache::new(fresh.path()))?.with_retries(0);
    let release = c.fetch_release(&Pocket::new(&server.url(), "stable"))?;
    let index_dir = f.repo.join("dists/stable/main/binary-amd64");
    for entry in std::fs::read_dir(index_dir.join("by-hash/SHA256")).map_err(|e| Error::Unsupported(e.to_string()))? {
        let path = entry.map_err(|e| Error::Unsupported(e.to_string()))?.path();
        tamper(&path)?;
    }
    tamper(&index_dir.join("Packages.xz"))?;
    let bad = c.fetch_index(&release, "main", "amd64").map(|_| ()).map_err(|e| e.to_string());
    assert!(bad.as_ref().is_err_and(|e| e.contains("by-hash") && e.contains("does not match")), "{bad:?}");
    let missing = c.fetch_index(&release, "contrib", "amd64").map(|_| ()).map_err(|e| e.to_string());
    assert!(missing.as_ref().is_err_and(|e| e.contains("contrib/binary-amd64/Packages")), "{missing:?}");
    Ok(())
}

fn tamper(path: &Path) -> Result<(), Error> {
    let mut bytes = std::fs::read(path).map_err(|e| Error::Unsupported(e.to_string()))?;
    if let Some(b) = bytes.last_mut() {
        *b ^= 0xff;
    }
    std::fs::write(path, bytes).map_err(|e| Error::Unsupported(e.to_string()))
}
