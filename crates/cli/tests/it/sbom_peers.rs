//! pare against syft and trivy on gallery images built from Debian's archive (issue 4: "pare finds
//! every package that syft and trivy find, with the same versions, or the test explains each
//! difference"; the builder issue: the peers list the same packages as the lock).
//!
//! Where installed: syft and trivy come from `target/venv-syft` / `target/venv-trivy`
//! (scripts/system-deps.sh); without them, or without deb.debian.org, the test fails (PARE_TEST_OFFLINE=1 skips it).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use pare_sbom::{Inventory, SbomFormat, read};

/// Differences that are explained, as (image, tool, package, why). pare must list every Debian
/// package a peer lists, with the same version and source, except these. None are known today:
/// on bookworm's base and python3 images the three tools agree on every Debian package.
const EXPLAINED: &[(&str, &str, &str, &str)] = &[];

fn run(cmd: &mut Command) -> Vec<u8> {
    pare_test::tools::run_ok(cmd).stdout
}

/// (name, architecture) → (version, source name, source version), Debian packages only.
type Debs = BTreeMap<(String, String), (String, String, String)>;

fn debs(inventory: &Inventory) -> Debs {
    inventory
        .packages
        .iter()
        .filter(|p| p.ecosystem == "deb")
        .map(|p| {
            let s = |v: &Option<String>| v.clone().unwrap_or_default();
            ((p.name.clone(), s(&p.architecture)), (p.version.clone(), s(&p.source_name), s(&p.source_version)))
        })
        .collect()
}

fn explained(image: &str, tool: &str, package: &str) -> bool {
    EXPLAINED.iter().any(|(i, t, p, _)| *i == image && *t == tool && *p == package)
}

#[test]
fn pare_finds_what_syft_and_trivy_find() {
    // The cache build_live.rs uses: warm runs need no downloads.
    let pare = Pare::new(crate::PARE).with_cache(crate::live_cache());
    let syft = pare_test::tools::venv_tool("venv-syft", "syft");
    let trivy = pare_test::tools::venv_tool("venv-trivy", "trivy");
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for name in ["base", "python3"] {
        // A locked amd64 copy of the gallery definition, so the lock can be compared too.
        let def = tmp.path().join(format!("{name}.toml"));
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../gallery/bookworm/{name}.toml")),
        )
        .unwrap();
        std::fs::write(&def, text.replace("\"amd64\", \"arm64\"", "\"amd64\"")).unwrap();
        run(pare.cmd().arg("-q").arg("lock").arg(&def));
        let layout = tmp.path().join(name);
        run(pare.cmd().arg("-q").arg("build").arg(&def).arg("--to").arg(format!("oci:{}:{name}", layout.display())));
        let lock = pare_build::Lock::read(&tmp.path().join(format!("{name}.lock"))).unwrap();
        let locked: Debs = lock
            .packages("amd64")
            .unwrap()
            .iter()
            .map(|p| {
                (
                    (p.name.clone(), p.architecture.clone()),
                    (p.version.clone(), p.source.clone(), p.source_version.clone()),
                )
            })
            .collect();

        let ours_json =
            run(pare.cmd().arg("-q").args(["sbom", &format!("oci:{}:{name}", layout.display()), "--format", "json"]));
        let ours = read(&ours_json, "pare sbom").unwrap();
        assert_eq!(ours.format, SbomFormat::PareJson);
        let ours = debs(&ours.inventory);
        assert_eq!(ours, locked, "{name}: pare's SBOM and the lock differ");

        let mut peers = Vec::new();
        // One syft run writes both formats (syft takes about 4 s per run on python3).
        let (spdx, cdx) =
            (tmp.path().join(format!("{name}.syft.spdx.json")), tmp.path().join(format!("{name}.syft.cdx.json")));
        run(Command::new(&syft)
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .arg(format!("oci-dir:{}", layout.display()))
            .arg("-q")
            .arg("-o")
            .arg(format!("spdx-json={}", spdx.display()))
            .arg("-o")
            .arg(format!("cyclonedx-json={}", cdx.display())));
        peers.push(("syft", "spdx-json", std::fs::read(&spdx).unwrap()));
        peers.push(("syft", "cyclonedx-json", std::fs::read(&cdx).unwrap()));
        for format in ["spdx-json", "cyclonedx"] {
            let bytes = run(Command::new(&trivy)
                .env("TRIVY_CACHE_DIR", tmp.path().join("trivy-cache"))
                .args(["image", "-q", "--skip-db-update", "--offline-scan", "--format", format, "--input"])
                .arg(&layout));
            peers.push(("trivy", format, bytes));
        }
        for (tool, format, bytes) in peers {
            let what = format!("{name}: {tool} {format}");
            let sbom = read(&bytes, &what).unwrap();
            assert!(sbom.warnings.is_empty(), "{what}: {:?}", sbom.warnings);
            let os = sbom.inventory.os.as_ref().unwrap();
            assert_eq!(
                (os.id.as_deref(), os.version_codename.as_deref()),
                (Some("debian"), Some("bookworm")),
                "{what}"
            );
            let theirs = debs(&sbom.inventory);
            // pare ⊇ peer, same versions and sources, unless explained.
            for (key, value) in &theirs {
                if explained(name, tool, &key.0) {
                    continue;
                }
                assert_eq!(ours.get(key), Some(value), "{what}: {key:?}");
            }
            // And the peer lists every locked package (what pare builds is what scanners see).
            for key in locked.keys() {
                assert!(theirs.contains_key(key) || explained(name, tool, &key.0), "{what} misses {key:?}");
            }
            let others: Vec<String> = sbom
                .inventory
                .packages
                .iter()
                .filter(|p| p.ecosystem != "deb")
                .map(|p| format!("{} {} ({})", p.name, p.version, p.ecosystem))
                .collect();
            println!("{what}: {} Debian packages, as pare and the lock; not Debian: {others:?}", theirs.len());
        }
    }
}
