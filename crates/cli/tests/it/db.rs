//! `pare db update|status` end to end, on the real fixtures of crates/vuln (see their SOURCE.md files).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pare_test::Pare;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vuln/tests/fixtures/vulndata")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn update_from_each_kind_then_status() {
    let cache = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE).with_cache(cache.path());
    let f = fixtures();
    let out = run(pare
        .cmd()
        .args(["db", "update", "--from"])
        .arg(f.join("debian-tracker-lists-merged/DSA-list"))
        .arg("--from")
        .arg(f.join("debian-tracker-lists-merged/DLA-list"))
        .arg("--from")
        .arg(f.join("debian-tracker-json-samples/vunnel/debian.json"))
        .arg("--from")
        .arg(f.join("go-vulndb"))
        .arg("--from")
        .arg(f.join("pypi-advisory-database"))
        .arg("--from")
        .arg(f.join("cve-records")));
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Each source says what it was detected as; skipped records are shown as warnings.
    for said in [
        "DSA-list: dsa-list (6024 records",
        "DLA-list: dla-list (4890 records",
        "debian.json: tracker-json",
        "go-vulndb: osv (29 records",
        "cve-records: cve (6 records",
    ] {
        assert!(err.contains(said), "{said} not in {err}");
    }
    assert!(err.contains("warning: ") && err.contains("is withdrawn; skipped"), "{err}");
    // The default path is $PARE_CACHE_DIR/vuln.db.
    let db = cache.path().join("vuln.db");
    assert!(db.is_file());

    let out = run(pare.cmd().args(["db", "status", "--format", "json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["sources"].as_array().unwrap().len(), 6);
    assert_eq!(v["sources"][0]["kind"], "dsa-list");
    assert_eq!(v["sources"][0]["records"], 6024);
    assert_eq!(v["sources"][0]["sha256"].as_str().unwrap().len(), 64);
    let counts = v["counts"].as_array().unwrap();
    assert!(counts.iter().any(|c| c["origin"] == "osv" && c["ecosystem"] == "Go" && c["advisories"] == 29));
    assert!(counts.iter().any(|c| c["origin"] == "debian-dla" && c["ecosystem"] == "Debian"));
    assert!(v["built_at"].as_str().unwrap().starts_with("20"));

    let out = run(pare.cmd().args(["db", "status"]));
    let table = text(&out.stdout);
    assert!(out.status.success());
    assert!(table.contains("dsa-list") && table.contains("debian-tracker") && table.contains("ORIGIN"), "{table}");

    // --db and PARE_VULN_DB override the default path.
    let other = cache.path().join("other.db");
    let out = run(pare
        .cmd()
        .args(["db", "update", "--db"])
        .arg(&other)
        .arg("--source")
        .arg(format!("dsa-list={}", f.join("debian-tracker-lists-merged/DSA-list").display())));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(pare.cmd().env("PARE_VULN_DB", &other).args(["db", "status", "--format", "json"]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sources"].as_array().unwrap().len(), 1);
}

/// The real DLA list served on 127.0.0.1 and a database built from it (`--source dla-list=URL`).
struct Served {
    _list: tempfile::TempDir,
    server: pare_deb::testing::FileServer,
    cache: tempfile::TempDir,
    pare: Pare,
    source: String,
    db: std::path::PathBuf,
    /// The database's bytes after the first, good update.
    before: Vec<u8>,
}

fn served() -> Served {
    let list = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("debian-tracker-lists-merged/DLA-list"), list.path().join("list")).unwrap();
    let server = pare_deb::testing::FileServer::start(list.path()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE).with_cache(cache.path());
    let source = format!("dla-list={}/list", server.url());
    let out = run(pare.cmd().args(["db", "update", "--source", &source]));
    assert!(out.status.success(), "the default cap takes the 834 kB list: {}", text(&out.stderr));
    let db = cache.path().join("vuln.db");
    let before = std::fs::read(&db).unwrap();
    Served { _list: list, server, cache, pare, source, db, before }
}

#[test]
fn source_urls_and_failures_exit_2_keeping_the_old_database() {
    let served = served();
    let Served { server, cache, pare, db, before, .. } = &served;
    let source = served.source.as_str();

    server.truncate("/list");
    let out = run(pare.cmd().args(["db", "update", "--source", source]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("incomplete download") && err.contains("previous database") && err.contains("/list"), "{err}");
    assert_eq!(&std::fs::read(db).unwrap(), before);

    // Not vulnerability data, a bad --source, a damaged database: exit 2 with the file named.
    let notes = cache.path().join("notes.txt");
    std::fs::write(&notes, "hello").unwrap();
    let out = run(pare.cmd().args(["db", "update", "--from"]).arg(&notes));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("notes.txt"));
    let out = run(pare.cmd().args(["db", "update", "--source", "nope"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("KIND=URL"));
    std::fs::write(db, &before[..before.len() / 3]).unwrap();
    let out = run(pare.cmd().args(["db", "status"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("vuln.db") && err.contains("truncated") && err.contains("pare db update"), "{err}");
}

#[test]
fn help_names_the_kinds() {
    let cache = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE).with_cache(cache.path());
    let out = run(pare.cmd().args(["db", "update", "--help"]));
    let help = text(&out.stdout);
    assert!(out.status.success());
    for word in ["tracker-json", "dsa-list", "dla-list", "osv", "cve", "--from", "--source", "--db"] {
        assert!(help.contains(word), "{word}");
    }
}

/// Serves one response with no Content-Length whose body does not end (it stops after 256 MiB, so
/// that a pare without a cap still finishes); returns the URL.
fn endless_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/endless", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else { return };
        let mut request = [0u8; 4096];
        let _ = conn.read(&mut request);
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
        let chunk = vec![b'x'; 64 << 10];
        for _ in 0..4096 {
            if conn.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    url
}

/// A download larger than the cap (announced by Content-Length, or a body that does not end) stops at
/// the cap: exit 2 naming the URL and the cap, the old database kept.
#[test]
fn downloads_stop_at_the_cap() {
    let served = served();
    let Served { server, pare, db, before, .. } = &served;
    let source = served.source.as_str();

    let out = run(pare.cmd().env("PARE_DB_MAX_DOWNLOAD", "100K").args(["db", "update", "--source", source]));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}/list", server.url())) && err.contains("102400 bytes"), "{err}");
    assert!(err.contains("--max-download"), "{err}");
    assert_eq!(&std::fs::read(db).unwrap(), before);

    let endless = endless_server();
    let out =
        run(pare.cmd().args(["db", "update", "--max-download", "1M", "--source", &format!("dsa-list={endless}")]));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&endless) && err.contains("1048576 bytes") && err.contains("stopped"), "{err}");
    assert_eq!(&std::fs::read(db).unwrap(), before);

    let out = run(pare.cmd().args(["db", "update", "--max-download", "lots", "--source", source]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a size"), "{}", text(&out.stderr));
}

/// Temporary files of killed updates are removed by the next update when over an hour old.
#[test]
fn stale_temporaries_of_killed_updates_are_removed() {
    let cache = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE).with_cache(cache.path());
    let (old, fresh) = (cache.path().join(".vuln.db.Ab12Cd.tmp"), cache.path().join(".vuln.db.Xy34Zw.tmp"));
    for (path, age) in [(&old, "2 hours ago"), (&fresh, "10 minutes ago")] {
        std::fs::write(path, b"SQLite format 3\0 and then nothing").unwrap();
        assert!(Command::new("touch").arg("-d").arg(age).arg(path).status().unwrap().success());
    }
    let list = fixtures().join("debian-tracker-lists-merged/DLA-list");
    let out = run(pare.cmd().args(["db", "update", "--from"]).arg(&list));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!old.exists(), "the stale temporary file is left");
    assert!(fresh.exists(), "a young one (an update may be writing it) stays");
}
