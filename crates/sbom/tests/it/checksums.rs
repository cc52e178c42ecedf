//! Package-file checksums and download locations: written to SPDX 2.3 and CycloneDX 1.6 and
//! read back; older inventories without them still read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_sbom::{Checksum, Inventory, OutputFormat, Package, Subject, Tool};
use serde_json::{Value, json};

const SHA: &str = "5f1b2c6e0d6a4a6d52a6c0e2b1d9f0a4e8d7c6b5a49382716f5e4d3c2b1a0f9e";
const URL: &str = "http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb";

fn package(name: &str, url: Option<&str>) -> Package {
    Package {
        ecosystem: "deb".into(),
        name: name.into(),
        version: "2.10-3".into(),
        source_name: Some(name.into()),
        source_version: Some("2.10-3".into()),
        architecture: Some("amd64".into()),
        purl: format!("pkg:deb/debian/{name}@2.10-3?arch=amd64&distro=debian-12"),
        licenses: vec!["GPL-3.0-or-later".into()],
        files: Vec::new(),
        locations: Vec::new(),
        checksums: vec![Checksum::sha256(&SHA.to_uppercase())],
        download_location: url.map(String::from),
    }
}

fn inventory(packages: Vec<Package>) -> Inventory {
    let mut inv = Inventory {
        subject: Subject { name: "oci:out".into(), digest: Some(format!("sha256:{SHA}")) },
        os: None,
        packages,
        tool: Tool::default(),
        created: Some("2023-11-14T22:13:20Z".into()),
    };
    inv.normalize();
    inv
}

#[test]
fn spdx_round_trip() {
    // An IP-address host is no SPDX download location: NOASSERTION, the checksum stays.
    let inv = inventory(vec![package("hello", Some(URL)), package("local", Some("http://127.0.0.1:8080/x.deb"))]);
    let bytes = pare_sbom::write(&inv, OutputFormat::SpdxJson).unwrap();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let hello = doc["packages"].as_array().unwrap().iter().find(|p| p["name"] == "hello").unwrap();
    assert_eq!(hello["checksums"], json!([{"algorithm": "SHA256", "checksumValue": SHA}]));
    assert_eq!(hello["downloadLocation"], URL);
    let local = doc["packages"].as_array().unwrap().iter().find(|p| p["name"] == "local").unwrap();
    assert_eq!(local["downloadLocation"], "NOASSERTION");
    assert_eq!(local["checksums"][0]["checksumValue"], SHA);

    let read = pare_sbom::read(&bytes, "x.spdx.json").unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let back = |name: &str| read.inventory.packages.iter().find(|p| p.name == name).unwrap().clone();
    assert_eq!(back("hello").checksums, vec![Checksum::sha256(SHA)]);
    assert_eq!(back("hello").download_location.as_deref(), Some(URL));
    assert_eq!(back("local").download_location, None);
}

#[test]
fn cyclonedx_round_trip() {
    let inv = inventory(vec![package("hello", Some(URL)), package("bare", None)]);
    let bytes = pare_sbom::write(&inv, OutputFormat::CycloneDxJson).unwrap();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let hello = doc["components"].as_array().unwrap().iter().find(|c| c["name"] == "hello").unwrap();
    assert_eq!(hello["hashes"], json!([{"alg": "SHA-256", "content": SHA}]));
    assert_eq!(hello["externalReferences"], json!([{"type": "distribution", "url": URL}]));
    let bare = doc["components"].as_array().unwrap().iter().find(|c| c["name"] == "bare").unwrap();
    assert!(bare.get("externalReferences").is_none());

    let read = pare_sbom::read(&bytes, "x.cdx.json").unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let hello = read.inventory.packages.iter().find(|p| p.name == "hello").unwrap();
    assert_eq!(hello.checksums, vec![Checksum::sha256(SHA)]);
    assert_eq!(hello.download_location.as_deref(), Some(URL));
}

#[test]
fn bad_hashes_are_warnings_and_old_json_reads() {
    let inv = inventory(vec![package("hello", Some(URL))]);
    let bytes = pare_sbom::write(&inv, OutputFormat::CycloneDxJson).unwrap();
    let text = String::from_utf8(bytes).unwrap().replace("\"SHA-256\"", "\"SHA-999\"");
    let read = pare_sbom::read(text.as_bytes(), "x.cdx.json").unwrap();
    assert!(read.warnings.iter().any(|w| w.contains("hashes[0]") && w.contains("SHA-999")), "{:?}", read.warnings);
    assert!(read.inventory.packages[0].checksums.is_empty());

    // pare's JSON from before checksums existed.
    let mut old = serde_json::to_value(inventory(vec![package("hello", None)])).unwrap();
    let p = old["packages"][0].as_object_mut().unwrap();
    p.remove("checksums");
    p.remove("download_location");
    let inv: Inventory = serde_json::from_value(old).unwrap();
    assert!(inv.packages[0].checksums.is_empty() && inv.packages[0].download_location.is_none());
}
