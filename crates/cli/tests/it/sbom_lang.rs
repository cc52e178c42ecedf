//! `pare sbom dir:ROOT` on a tree with a real apk database and a `cargo auditable` binary
//! (fixtures of pare-sbom, see `crates/sbom/tests/fixtures/lang/README.md`): the language and
//! Alpine packages reach every output format, with their purls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::fs;
use std::path::Path;

use serde_json::Value;

fn fixture(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sbom/tests/fixtures/lang").join(rel)
}

fn sbom(src: &str, format: &str) -> Value {
    let out = Pare::new(crate::PARE)
        .source_date_epoch("0")
        .cmd()
        .args(["sbom", src, "--format", format])
        .output()
        .expect("running pare");
    assert!(out.status.success(), "pare sbom failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

#[test]
fn apk_and_cargo_packages_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("usr/bin")).unwrap();
    fs::copy(fixture("apk/installed"), root.join("lib/apk/db/installed")).unwrap();
    fs::copy(fixture("apk/os-release"), root.join("etc/os-release")).unwrap();
    fs::copy(fixture("rust/hello-auditable"), root.join("usr/bin/hello")).unwrap();
    let src = format!("dir:{}", root.display());
    let expected = [
        "pkg:apk/alpine/bash@5.2.21-r0?arch=x86_64&distro=alpine-3.19.0",
        "pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.0&upstream=busybox",
        "pkg:cargo/hex@0.4.3",
        "pkg:cargo/itoa@1.0.19",
        "pkg:cargo/hello@0.1.0",
    ];
    let json = sbom(&src, "json");
    let purls: Vec<&str> = json["packages"].as_array().unwrap().iter().map(|p| p["purl"].as_str().unwrap()).collect();
    assert_eq!(purls.len(), 8, "5 apk + 3 cargo: {purls:?}");
    let cdx = sbom(&src, "cyclonedx-json");
    let cdx_purls: Vec<&str> =
        cdx["components"].as_array().unwrap().iter().filter_map(|c| c["purl"].as_str()).collect();
    let spdx = sbom(&src, "spdx-json");
    let spdx_purls: Vec<&str> = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["externalRefs"].as_array().into_iter().flatten())
        .filter(|r| r["referenceType"] == "purl")
        .filter_map(|r| r["referenceLocator"].as_str())
        .collect();
    for purl in expected {
        assert!(purls.contains(&purl), "json lacks {purl}: {purls:?}");
        assert!(cdx_purls.contains(&purl), "CycloneDX lacks {purl}");
        assert!(spdx_purls.contains(&purl), "SPDX lacks {purl}");
    }
    // SPDX IDs stay unique and valid with names such as `busybox-binsh` and crates.
    let ids: std::collections::BTreeSet<&str> =
        spdx["packages"].as_array().unwrap().iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), spdx["packages"].as_array().unwrap().len());
    assert!(ids.iter().all(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')));
}
