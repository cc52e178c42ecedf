//! Every gallery definition (bookworm and trixie, with its -debug package set, amd64) locked against
//! Debian's archive: each locked package must be the newest version published across the pockets the lock
//! read. The newest versions are computed here, independently of pare's resolver: the InRelease files
//! checked with `gpgv`, the exact `Packages.xz` they hash fetched by hash and read with `xz`, versions
//! compared with `dpkg --compare-versions` (issue 10: the security pocket was skipped and nothing noticed).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pare_test::tools::{debian_archive_available, require, run_ok};

const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

fn live() -> Pare {
    Pare::new(crate::PARE).with_cache(crate::live_cache())
}

fn gallery() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gallery")
}

/// Downloads `url` (curl, retried) into `to`.
fn download(url: &str, to: &Path) {
    run_ok(Command::new(require("curl")).args(["-fsSL", "--retry", "3", "-o"]).arg(to).arg(url));
}

/// The pocket's InRelease, verified with gpgv against Debian's keyring: (Date, text).
fn release(dir: &Path, inrelease_url: &str) -> (String, String) {
    let file = dir.join(format!("{:x}.InRelease", url_key(inrelease_url)));
    download(inrelease_url, &file);
    run_ok(Command::new(require("gpgv")).args(["--keyring", KEYRING]).arg(&file));
    let text = std::fs::read_to_string(&file).unwrap();
    let date = text.lines().find_map(|l| l.strip_prefix("Date: ")).unwrap().trim().to_string();
    (date, text)
}

/// A stable file name for a URL (FNV-1a).
fn url_key(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

/// name → every version the pocket's `main/binary-amd64/Packages.xz` (as the InRelease hashes it) lists
/// for amd64 or all.
fn index(dir: &Path, inrelease_url: &str, inrelease: &str) -> BTreeMap<String, Vec<String>> {
    let base = inrelease_url.trim_end_matches("/InRelease");
    let wanted = "main/binary-amd64/Packages.xz";
    let sha256 = inrelease
        .split("\nSHA256:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with(' '))
        .find_map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            (parts.get(2) == Some(&wanted)).then(|| parts[0].to_string())
        })
        .unwrap_or_else(|| panic!("{inrelease_url} hashes no {wanted}"));
    let xz = dir.join(format!("{sha256}.xz"));
    if !xz.exists() {
        download(&format!("{base}/main/binary-amd64/by-hash/SHA256/{sha256}"), &xz);
    }
    let out = run_ok(Command::new(require("xz")).args(["-dc"]).arg(&xz));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for paragraph in text.split("\n\n") {
        let field = |name: &str| {
            paragraph.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")[..])).map(|v| v.trim().to_string())
        };
        let (Some(name), Some(version), Some(arch)) = (field("Package"), field("Version"), field("Architecture"))
        else {
            continue;
        };
        if arch == "amd64" || arch == "all" {
            versions.entry(name).or_default().push(version);
        }
    }
    versions
}

fn dpkg_lt(a: &str, b: &str) -> bool {
    Command::new("dpkg").args(["--compare-versions", a, "lt", b]).status().unwrap().success()
}

/// Every gallery definition file, and its -debug package set, as amd64-only definitions in `dir`.
fn definitions(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for suite in ["bookworm", "trixie"] {
        for entry in std::fs::read_dir(gallery().join(suite)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let amd64: String = text
                .lines()
                .map(|l| if l.starts_with("architectures") { "architectures = [\"amd64\"]" } else { l })
                .collect::<Vec<_>>()
                .join("\n");
            assert!(amd64.contains("packages = ["), "{}", path.display());
            for (variant, body) in [
                (name.clone(), amd64.clone()),
                (format!("{name}-debug"), amd64.replacen("packages = [", "packages = [\"busybox\", ", 1)),
            ] {
                let def = dir.join(format!("{suite}-{variant}.toml"));
                std::fs::write(&def, body).unwrap();
                out.push(def);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_gallery_lock_has_the_newest_versions_across_its_pockets() {
    if !debian_archive_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut releases: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut indexes: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for def in definitions(dir.path()) {
        // A pocket can publish between pare's read and ours: then lock again (at most three times).
        let mut attempt = 0;
        let lock = loop {
            attempt += 1;
            let out = run_ok(live().cmd().arg("update").arg(&def));
            let lock = pare_build::Lock::read(&def.with_extension("lock")).unwrap();
            let mut same = true;
            for r in &lock.release {
                let (date, text) = match releases.get(&r.url) {
                    Some(known) => known.clone(),
                    None => {
                        let read = release(dir.path(), &r.url);
                        releases.insert(r.url.clone(), read.clone());
                        read
                    }
                };
                let locked: jiff::Timestamp = r.date.parse().unwrap();
                if pare_deb::release::parse_date(&date).unwrap() != locked {
                    same = false;
                    releases.remove(&r.url);
                    indexes.remove(&r.url);
                    continue;
                }
                indexes.entry(r.url.clone()).or_insert_with(|| index(dir.path(), &r.url, &text));
            }
            if same {
                let err = String::from_utf8_lossy(&out.stderr).into_owned();
                table.push(format!(
                    "{}: {}",
                    def.file_stem().unwrap().to_string_lossy(),
                    err.lines().last().unwrap_or("")
                ));
                break lock;
            }
            assert!(attempt < 3, "{}: the archive kept changing while locking", def.display());
        };
        let packages = lock.packages("amd64").unwrap();
        assert!(!packages.is_empty());
        for p in packages {
            let mut newest: Option<(String, String)> = None;
            for r in &lock.release {
                for v in indexes[&r.url].get(&p.name).into_iter().flatten() {
                    if newest.as_ref().is_none_or(|(n, _)| dpkg_lt(n, v)) {
                        newest = Some((v.clone(), r.suite.clone()));
                    }
                }
            }
            let Some((version, pocket)) = newest else {
                failures.push(format!("{}: {} is in none of the pockets' indexes", def.display(), p.name));
                continue;
            };
            if dpkg_lt(&p.version, &version) {
                failures.push(format!(
                    "{}: {} {} ({}) is older than {version} in {pocket}",
                    def.file_name().unwrap().to_string_lossy(),
                    p.name,
                    p.version,
                    p.pocket
                ));
            }
        }
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "locked packages older than the archive's newest:\n{}", failures.join("\n"));
}

/// Every gallery image (both suites, amd64) built today and scanned with `--only-fixed` against the bundled
/// tracker snapshot (Debian's DSA and DLA lists to 2026-08-21): nothing it knows a fix for may remain. And
/// every ELF executable and shared object in it loads (`pare ldd`: interpreter, libraries, symbol versions).
#[test]
fn every_gallery_image_has_no_vulnerability_with_a_published_fix() {
    if !debian_archive_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vuln.db");
    let lists =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../vuln/tests/fixtures/vulndata/debian-tracker-lists-merged");
    let live = live();
    let pare = || {
        let mut cmd = live.cmd();
        cmd.env("PARE_VULN_DB", &db);
        cmd
    };
    run_ok(
        pare().args(["db", "update", "--from"]).arg(lists.join("DSA-list")).arg("--from").arg(lists.join("DLA-list")),
    );
    let mut failures = Vec::new();
    for suite in ["bookworm", "trixie"] {
        for name in ["static", "base", "cc", "python3", "java", "nodejs"] {
            let layout = format!("oci:{}", dir.path().join(format!("{suite}-{name}")).display());
            run_ok(pare().args(["build", &format!("gallery:{suite}/{name}"), "--arch", "amd64", "--to", &layout]));
            let out = run_ok(pare().args(["scan", &layout, "--only-fixed", "--format", "json"]));
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(report["packages"].as_u64().unwrap() > 0, "{report}");
            for f in report["findings"].as_array().unwrap() {
                failures.push(format!(
                    "{suite}/{name}: {} in {} {}, fixed in {}",
                    f["id"], f["package"]["name"], f["package"]["version"], f["fixed_versions"]
                ));
            }
            let ldd = pare().args(["ldd", &layout]).output().unwrap();
            let text = String::from_utf8_lossy(&ldd.stdout);
            assert!(
                text.contains(" ELF files checked, "),
                "{suite}/{name}: {text}{}",
                String::from_utf8_lossy(&ldd.stderr)
            );
            if ldd.status.code() != Some(0) {
                failures.push(format!("{suite}/{name}: binaries that would not load:\n{text}"));
            }
        }
    }
    assert!(failures.is_empty(), "gallery images miss published fixes:\n{}", failures.join("\n"));
}
