//! `.deb` reading: every compression, real dpkg-deb output, and bad input.

#![allow(clippy::print_stdout)]

use std::io::Read;
use std::process::Command;

use pare_deb::testing::{Compression, build_ar, build_deb};
use pare_deb::{DebArchive, Error, Paragraph};

fn control() -> Paragraph {
    let mut p = Paragraph::new();
    p.set("Package", "hello");
    p.set("Version", "1.0-1");
    p.set("Architecture", "amd64");
    p.set("Depends", "libc6 (>= 2.36)");
    p.set("Description", "greets\n More text.");
    p
}

/// (path, size, first bytes) of each data entry.
type Entries = Vec<(String, Vec<u8>)>;

fn entries(deb: &[u8]) -> Result<(pare_deb::DebControl, Entries), Error> {
    let archive = DebArchive::new(deb, "test.deb")?;
    let mut out = Vec::new();
    let control = archive.for_each_data_entry(|entry| -> Result<(), Error> {
        let path = entry.path().map_err(Error::stream("path"))?.to_string_lossy().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(Error::stream("read"))?;
        out.push((path, bytes));
        Ok(())
    })?;
    Ok((control, out))
}

#[test]
fn reads_every_compression() -> Result<(), Error> {
    let md5sums = b"d41d8cd98f00b204e9800998ecf8427e  usr/bin/hello\n";
    for compression in [Compression::None, Compression::Gzip, Compression::Xz, Compression::Zstd] {
        let deb = build_deb(
            &control(),
            &[("md5sums", md5sums), ("conffiles", b"/etc/hello.conf\n")],
            &[("usr/bin/hello", b"#!/bin/sh\necho hi\n", 0o755), ("etc/hello.conf", b"x=1\n", 0o644)],
            compression,
        )?;
        let (control, entries) = entries(&deb)?;
        assert_eq!(control.control.get("Package"), Some("hello"), "{compression:?}");
        assert_eq!(control.control.get("Description"), Some("greets\n More text."));
        assert_eq!(control.md5sums, [("usr/bin/hello".to_string(), "d41d8cd98f00b204e9800998ecf8427e".to_string())]);
        assert_eq!(control.conffiles, ["/etc/hello.conf"]);
        assert_eq!(control.file("md5sums"), Some(&md5sums[..]));
        let paths: Vec<_> = entries.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["./", "etc/", "usr/", "usr/bin/", "usr/bin/hello", "etc/hello.conf"]);
        assert_eq!(entries[4].1, b"#!/bin/sh\necho hi\n");
    }
    Ok(())
}

#[test]
fn reads_what_dpkg_deb_builds() -> Result<(), Error> {
    assert!(
        Command::new("dpkg-deb").arg("--version").output().is_ok(),
        "dpkg-deb is needed: this test runs on Debian (package dpkg)"
    );
    let dir = tempfile::tempdir().map_err(|e| Error::Unsupported(e.to_string()))?;
    let root = dir.path().join("pkg");
    let write = |path: &str, bytes: &[u8]| {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap_or(&root)).and_then(|_| std::fs::write(&p, bytes))
    };
    write("DEBIAN/control", control().to_string().as_bytes()).map_err(|e| Error::Unsupported(e.to_string()))?;
    write("usr/share/doc/hello/copyright", b"public domain\n").map_err(|e| Error::Unsupported(e.to_string()))?;
    for z in ["xz", "zstd", "gzip", "none"] {
        let out = dir.path().join(format!("hello-{z}.deb"));
        let status = Command::new("dpkg-deb")
            .args(["--root-owner-group", &format!("-Z{z}"), "--build"])
            .arg(&root)
            .arg(&out)
            .output()
            .map_err(|e| Error::Unsupported(e.to_string()))?;
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        let archive = DebArchive::open(&out)?;
        assert_eq!(archive.control().control.get("Version"), Some("1.0-1"));
        let mut paths = Vec::new();
        archive.for_each_data_entry(|e| -> Result<(), Error> {
            paths.push(e.path().map_err(Error::stream("path"))?.to_string_lossy().to_string());
            Ok(())
        })?;
        assert!(paths.contains(&"./usr/share/doc/hello/copyright".to_string()), "{z}: {paths:?}");
    }
    Ok(())
}

#[test]
fn bad_input_gives_clear_errors() -> Result<(), Error> {
    let good = build_deb(&control(), &[], &[("a", b"1", 0o644)], Compression::Xz)?;
    let member = |name: &str, bytes: &[u8]| (name.to_string(), bytes.to_vec());
    let control_tar = {
        // Take the real control member out of a good uncompressed deb.
        let plain = build_deb(&control(), &[], &[("a", b"1", 0o644)], Compression::None)?;
        let mut ar = ar::Archive::new(&plain[..]);
        let mut found = Vec::new();
        while let Some(Ok(mut e)) = ar.next_entry() {
            if e.header().identifier() == b"control.tar" {
                e.read_to_end(&mut found).map_err(Error::stream("ar"))?;
            }
        }
        found
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "ar archive"),
        ("junk", b"this is not an ar archive at all".to_vec(), "malformed ar archive"),
        ("truncated", good[..good.len() / 2].to_vec(), ""),
        ("wrong first", build_ar(&[member("control.tar", &control_tar)])?, "not `debian-binary`"),
        ("version 3", build_ar(&[member("debian-binary", b"3.0\n")])?, "unsupported format version"),
        ("no control", build_ar(&[member("debian-binary", b"2.0\n")])?, "no control.tar"),
        (
            "no data",
            build_ar(&[member("debian-binary", b"2.0\n"), member("control.tar", &control_tar)])?,
            "no data.tar",
        ),
        (
            "bad compression",
            build_ar(&[
                member("debian-binary", b"2.0\n"),
                member("control.tar", &control_tar),
                member("data.tar.xz", b"not xz"),
            ])?,
            "data.tar.xz",
        ),
        (
            "bzip2",
            build_ar(&[member("debian-binary", b"2.0\n"), member("control.tar.bz2", b"BZh")])?,
            "unsupported compression",
        ),
        (
            "control not a tar",
            build_ar(&[member("debian-binary", b"2.0\n"), member("control.tar.gz", b"\x1f\x8b garbage")])?,
            "control.tar.gz",
        ),
    ];
    for (what, bytes, expected) in cases {
        let result =
            DebArchive::new(&bytes[..], "bad.deb").and_then(|a| a.for_each_data_entry(|_| Ok::<(), Error>(())));
        match result {
            Err(Error::Deb { file, reason }) => {
                assert_eq!(file, "bad.deb");
                assert!(reason.contains(expected), "{what}: {reason}");
            }
            Err(other) => assert!(expected.is_empty(), "{what}: unexpected error kind {other}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }
    Ok(())
}
