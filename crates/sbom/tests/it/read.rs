//! `pare_sbom::read`: real SBOMs from syft and trivy (committed fixtures, and fresh ones where the
//! tools are installed), round trips through pare's writers, malformed input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use pare_oci::fs::Limits;
use pare_oci::{LayoutSink, PlatformChoice, Quiet, Root, RuntimeConfig, image_from_dir};
use pare_sbom::{Error, Inventory, OutputFormat, SbomFormat, read, write};

fn fixture(name: &str) -> Vec<u8> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/peers").join(name)).unwrap()
}

const OS_RELEASE: &str =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";

/// A one-layer image of a rootfs holding `status` as dpkg's database, os-release and
/// `extra` files; written as an OCI layout at `tmp/layout` (so syft and trivy can read it too).
/// Returns pare's own inventory of it.
fn image(tmp: &Path, status: &[u8], extra: &[(String, Vec<u8>)]) -> Inventory {
    let root = tmp.join("rootfs");
    let put = |path: &str, bytes: &[u8]| {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    };
    put("var/lib/dpkg/status", status);
    put("etc/os-release", OS_RELEASE.as_bytes());
    put("etc/debian_version", b"12.11\n");
    for (path, bytes) in extra {
        put(path, bytes);
    }
    let (source, _warnings) = image_from_dir(&root, RuntimeConfig::default()).unwrap();
    let root_obj = source.open().unwrap();
    let sink = LayoutSink::create(tmp.join("layout"), Some("test")).unwrap();
    pare_oci::copy(&root_obj, Box::new(sink), &PlatformChoice::All, &Quiet).unwrap();
    let Root::Image(img) = root_obj else { panic!("one image") };
    pare_sbom::catalog_image(&img, &Limits::default(), "test", None).unwrap().1.inventory
}

type Debs = BTreeMap<(String, Option<String>), (String, Option<String>, Option<String>)>;

/// Debian packages by (name, architecture): (version, source name, source version).
fn debs(inventory: &Inventory) -> Debs {
    inventory
        .packages
        .iter()
        .filter(|p| p.ecosystem == "deb")
        .map(|p| {
            (
                (p.name.clone(), p.architecture.clone()),
                (p.version.clone(), p.source_name.clone(), p.source_version.clone()),
            )
        })
        .collect()
}

fn assert_same_debs(what: &str, ours: &Debs, theirs: &Debs) {
    for (k, v) in ours {
        assert_eq!(theirs.get(k), Some(v), "{what}: {k:?}");
    }
    for k in theirs.keys() {
        assert!(ours.contains_key(k), "{what} has {k:?}, pare does not");
    }
}

fn assert_bookworm(what: &str, inventory: &Inventory) {
    let os = inventory.os.as_ref().unwrap_or_else(|| panic!("{what}: no OS"));
    assert_eq!(os.id.as_deref(), Some("debian"), "{what}");
    assert_eq!(os.version_id.as_deref(), Some("12"), "{what}");
    assert_eq!(os.version_codename.as_deref(), Some("bookworm"), "{what}");
}

/// The committed syft and trivy SBOMs of an image whose dpkg database is `fixtures/peers/status`
/// (seven real bookworm packages: epochs, binNMUs, source versions that differ): each reads to
/// the same Debian packages, sources and OS that pare finds in that image.
#[test]
fn syft_and_trivy_fixtures_match_pare() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = image(tmp.path(), &fixture("status"), &[]);
    let expected = debs(&ours);
    assert_eq!(expected.len(), 7);
    let cases = [
        ("syft.spdx.json", SbomFormat::SpdxJson("SPDX-2.3".into()), "syft"),
        ("syft.spdx", SbomFormat::SpdxTagValue("SPDX-2.3".into()), "syft"),
        ("syft.cdx.json", SbomFormat::CycloneDxJson("1.6".into()), "syft"),
        ("trivy.spdx.json", SbomFormat::SpdxJson("SPDX-2.3".into()), "trivy"),
        ("trivy.cdx.json", SbomFormat::CycloneDxJson("1.7".into()), "trivy"),
    ];
    for (file, format, tool) in cases {
        let sbom = read(&fixture(file), file).unwrap();
        assert_eq!(sbom.format, format, "{file}");
        assert!(sbom.warnings.is_empty(), "{file}: {:?}", sbom.warnings);
        assert_eq!(sbom.inventory.tool.name, tool, "{file}");
        assert_same_debs(file, &expected, &debs(&sbom.inventory));
        assert_bookworm(file, &sbom.inventory);
        assert_eq!(sbom.inventory.subject.name, "/tmp/fx/small", "{file}");
        // trivy names no digest for an OCI layout without a repository digest.
        if tool == "syft" {
            assert_eq!(
                sbom.inventory.subject.digest.as_deref(),
                Some("sha256:ed16a66f4cdabb6b769a8a3b40f998b293860c574154cd6eaf4461189eec7af5"),
                "{file}"
            );
        }
        let cpp = sbom.inventory.packages.iter().find(|p| p.name == "cpp").unwrap();
        assert_eq!((cpp.version.as_str(), cpp.source_name.as_deref()), ("4:12.2.0-3", Some("gcc-defaults")));
        assert_eq!(cpp.source_version.as_deref(), Some("1.203"), "{file}");
        assert!(cpp.purl.starts_with("pkg:deb/debian/cpp@"), "{file}: {}", cpp.purl);
    }
    // trivy says the point release (12.11); the full version is kept beside the major one.
    let trivy = read(&fixture("trivy.cdx.json"), "trivy.cdx.json").unwrap().inventory;
    assert_eq!(trivy.os.unwrap().fields.get("DEBIAN_VERSION_FULL").map(String::as_str), Some("12.11"));
    // Licenses: syft's names that are no SPDX id become LicenseRefs, as in syft's own SPDX.
    let syft_cdx = read(&fixture("syft.cdx.json"), "syft.cdx.json").unwrap().inventory;
    let syft_spdx = read(&fixture("syft.spdx.json"), "syft.spdx.json").unwrap().inventory;
    for (a, b) in syft_cdx.packages.iter().zip(&syft_spdx.packages) {
        let mut la = a.licenses.clone();
        let mut lb = b.licenses.clone();
        la.sort();
        lb.sort();
        assert_eq!(la, lb, "{}", a.name);
    }
    let libc = syft_cdx.packages.iter().find(|p| p.name == "libc6").unwrap();
    assert_eq!(libc.locations[0].path, "/var/lib/dpkg/status");
    assert!(libc.locations[0].layer.starts_with("sha256:"));
}

/// A real inventory (this machine's dpkg database, with DEP-5 copyright files for a few packages)
/// written by pare in every SBOM format and read back: the same packages, sources, architectures,
/// purls and licenses.
#[test]
fn round_trip_through_pare_writers() {
    let status = fs::read("/var/lib/dpkg/status").expect("this test needs a Debian machine's /var/lib/dpkg/status");
    let tmp = tempfile::tempdir().unwrap();
    let extra: Vec<(String, Vec<u8>)> = ["bash", "coreutils", "dpkg", "tar", "zlib1g", "libc6"]
        .iter()
        .filter_map(|p| {
            let path = format!("usr/share/doc/{p}/copyright");
            Some((path.clone(), fs::read(Path::new("/").join(&path)).ok()?))
        })
        .collect();
    let mut ours = image(tmp.path(), &status, &extra);
    ours.created = Some("2023-11-14T22:13:20Z".into());
    assert!(ours.packages.len() > 50, "{}", ours.packages.len());
    assert!(ours.packages.iter().any(|p| p.licenses.iter().any(|l| l != "NOASSERTION")));
    let key = |i: &Inventory| -> Vec<_> {
        i.packages
            .iter()
            .map(|p| {
                (
                    p.ecosystem.clone(),
                    p.name.clone(),
                    p.version.clone(),
                    p.source_name.clone(),
                    p.source_version.clone(),
                    p.architecture.clone(),
                    p.purl.clone(),
                    p.license_expression(),
                )
            })
            .collect()
    };
    for (format, expected) in [
        (OutputFormat::SpdxJson, SbomFormat::SpdxJson("SPDX-2.3".into())),
        (OutputFormat::CycloneDxJson, SbomFormat::CycloneDxJson("1.6".into())),
        (OutputFormat::CycloneDx15Json, SbomFormat::CycloneDxJson("1.5".into())),
        (OutputFormat::Json, SbomFormat::PareJson),
    ] {
        let bytes = write(&ours, format).unwrap();
        let back = read(&bytes, "pare.json").unwrap();
        assert_eq!(back.format, expected);
        assert!(back.warnings.is_empty(), "{format:?}: {:?}", back.warnings);
        assert_eq!(key(&back.inventory), key(&ours), "{format:?}");
        assert_eq!(back.inventory.subject, ours.subject, "{format:?}");
        assert_eq!(back.inventory.created, ours.created, "{format:?}");
        assert_eq!(back.inventory.tool, ours.tool, "{format:?}");
        let (a, b) = (back.inventory.os.unwrap(), ours.os.clone().unwrap());
        assert_eq!((a.id, a.version_id, a.version_codename), (b.id, b.version_id, b.version_codename), "{format:?}");
    }
}

fn err(bytes: &[u8]) -> String {
    match read(bytes, "in.json") {
        Ok(s) => panic!("read {} as {}", String::from_utf8_lossy(bytes), s.format),
        // As the CLI prints it: the message, then the hint.
        Err(e) => match e.hint() {
            Some(hint) => format!("{e}\nhint: {hint}"),
            None => e.to_string(),
        },
    }
}

#[test]
fn malformed_input_is_a_clear_error() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "not an SBOM: expected `spdxVersion` or `bomFormat`"),
        (b"{\"name\": 1}", "not an SBOM: expected `spdxVersion` or `bomFormat`"),
        (b"[1, 2]", "not an SBOM"),
        (b"{\"spdxVersion\": ", "`in.json` is not valid JSON: EOF while parsing"),
        (b"{\"spdxVersion\": \"SPDX-3.0\"}", "`spdxVersion`: unsupported SPDX version `SPDX-3.0`"),
        (b"{\"spdxVersion\": 7}", "unsupported SPDX version ``"),
        (
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.2\"}",
            "`specVersion`: unsupported CycloneDX version `1.2`",
        ),
        (b"{\"bomFormat\": \"SPDX\"}", "`bomFormat`: expected `CycloneDX`"),
        (b"{\"@context\": \"https://spdx.org/rdf/3.0.1/spdx-context.jsonld\"}", "SPDX 3 (JSON-LD) is not supported"),
        (b"<?xml version=\"1.0\"?><bom/>", "XML SBOMs are not supported"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{\"subject\": {}, \"packages\": 3, \"tool\": {}}", "(pare JSON)"),
        (b"{\"artifacts\": [], \"source\": {}, \"descriptor\": {\"name\": \"syft\"}}", "syft -o spdx-json"),
        (b"\xEF\xBB\xBF{\"SchemaVersion\": 2, \"ArtifactName\": \"x\", \"Results\": []}", "trivy image --format"),
    ];
    for (bytes, wanted) in cases {
        let message = err(bytes);
        assert!(message.contains(wanted), "{}: {message}", String::from_utf8_lossy(bytes));
        let hint = read(bytes, "in.json").err().and_then(|e| e.hint());
        assert!(message.contains("in.json") && hint.is_some(), "{message}");
    }
    // Nesting deeper than serde_json's limit is an error, not a stack overflow.
    let deep = format!("{{\"bomFormat\": \"CycloneDX\", \"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(err(deep.as_bytes()).contains("recursion limit"));
    // Over the size cap: refused before parsing.
    let big = vec![b' '; pare_sbom::MAX_SBOM_BYTES + 1];
    assert!(matches!(read(&big, "big.json"), Err(Error::SbomTooLarge { .. })));
}

/// Bad parts of a document are warnings naming the field; the rest is read.
#[test]
fn bad_components_are_warnings() {
    let mut doc: serde_json::Value = serde_json::from_slice(&fixture("trivy.cdx.json")).unwrap();
    let components = doc["components"].as_array_mut().unwrap();
    let index = components.iter().position(|c| c["name"] == "bash").unwrap();
    components[index]["purl"] = "pkg:not a purl".into();
    let zlib = components.iter().position(|c| c["name"] == "zlib1g").unwrap();
    components[zlib].as_object_mut().unwrap().remove("purl");
    components.push(serde_json::json!("a string"));
    components.push(serde_json::json!({"type": "library", "name": "nested", "version": "1",
        "purl": "pkg:pypi/outer@1", "components": [{"type": "library", "name": "inner", "purl": "pkg:npm/inner@2.0.0"}]}));
    doc["metadata"]["timestamp"] = "yesterday".into();
    let sbom = read(&serde_json::to_vec(&doc).unwrap(), "t.json").unwrap();
    let warnings = sbom.warnings.join("\n");
    assert!(warnings.contains(&format!("t.json: `components[{index}].purl`: bad purl `pkg:not a purl`")), "{warnings}");
    assert!(warnings.contains("1 component(s) without a purl skipped: zlib1g"), "{warnings}");
    assert!(warnings.contains("not an object"), "{warnings}");
    assert!(warnings.contains("`metadata.timestamp`"), "{warnings}");
    let names: Vec<&str> = sbom.inventory.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["cpp", "dmsetup", "git-man", "libc6", "libxext6", "inner", "nested"]);
    let inner = sbom.inventory.packages.iter().find(|p| p.name == "inner").unwrap();
    assert_eq!((inner.ecosystem.as_str(), inner.version.as_str()), ("npm", "2.0.0"));
    assert_eq!(inner.source_name, None);
    assert_eq!(sbom.inventory.created, None);
}

/// SPDX 2.2 with `documentDescribes` and no purpose fields, and tag-value with `<text>` blocks.
#[test]
fn spdx_22_and_tag_value_variants() {
    let doc = serde_json::json!({
        "spdxVersion": "SPDX-2.2", "name": "img", "documentDescribes": ["SPDXRef-root"],
        "creationInfo": {"created": "2024-01-02T03:04:05+01:00", "creators": ["Tool: example-tool-2.0.1"]},
        "packages": [
            {"SPDXID": "SPDXRef-root", "name": "registry/img", "versionInfo": "sha256:abcd"},
            {"SPDXID": "SPDXRef-a", "name": "openssl", "versionInfo": "3.0.15-1~deb12u1",
             "licenseDeclared": "Apache-2.0 AND (MIT OR BSD-3-Clause)", "externalRefs": [
                {"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl",
                 "referenceLocator": "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-13&upstream=openssl"}]},
            {"SPDXID": "SPDXRef-b", "name": "no-purl"}
        ]
    });
    let sbom = read(&serde_json::to_vec(&doc).unwrap(), "d.json").unwrap();
    assert_eq!(sbom.format, SbomFormat::SpdxJson("SPDX-2.2".into()));
    let inv = &sbom.inventory;
    assert_eq!((inv.subject.name.as_str(), inv.subject.digest.as_deref()), ("registry/img", Some("sha256:abcd")));
    assert_eq!((inv.tool.name.as_str(), inv.tool.version.as_str()), ("example-tool", "2.0.1"));
    assert_eq!(inv.created.as_deref(), Some("2024-01-02T02:04:05Z"));
    assert_eq!(inv.os.as_ref().unwrap().version_codename.as_deref(), Some("trixie"));
    let p = &inv.packages[0];
    assert_eq!(p.licenses, ["Apache-2.0", "MIT OR BSD-3-Clause"]);
    assert_eq!((p.source_name.as_deref(), p.source_version.as_deref()), (Some("openssl"), Some("3.0.15-1~deb12u1")));
    assert_eq!(p.architecture.as_deref(), Some("amd64"));
    assert_eq!(sbom.warnings.len(), 1, "{:?}", sbom.warnings);
    assert!(sbom.warnings[0].contains("no-purl"));

    let tv = "## comment\nSPDXVersion: SPDX-2.3\nDocumentName: tv\nCreator: Tool: t-1\nCreated: 2024-01-01T00:00:00Z\n\n\
              PackageName: zlib1g\nSPDXID: SPDXRef-z\nPackageVersion: 1:1.2.13.dfsg-1+b1\n\
              PackageSourceInfo: <text>built from source package\n zlib 1:1.2.13.dfsg-1</text>\n\
              PackageLicenseDeclared: Zlib\n\
              ExternalRef: PACKAGE-MANAGER purl pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1%2Bb1?arch=amd64&distro=debian-12\n\
              FileName: ./x\nSPDXID: SPDXRef-f\n";
    let sbom = read(tv.as_bytes(), "x.spdx").unwrap();
    assert_eq!(sbom.format, SbomFormat::SpdxTagValue("SPDX-2.3".into()));
    let z = &sbom.inventory.packages[0];
    assert_eq!((z.name.as_str(), z.version.as_str()), ("zlib1g", "1:1.2.13.dfsg-1+b1"));
    assert_eq!((z.source_name.as_deref(), z.source_version.as_deref()), (Some("zlib"), Some("1:1.2.13.dfsg-1")));
    assert_eq!(z.licenses, ["Zlib"]);
    // Without any source hint the source is the binary package, minus a binNMU suffix.
    let bare = tv.replace("PackageSourceInfo: <text>built from source package\n zlib 1:1.2.13.dfsg-1</text>\n", "");
    let z = read(bare.as_bytes(), "x.spdx").unwrap().inventory.packages.remove(0);
    assert_eq!((z.source_name.as_deref(), z.source_version.as_deref()), (Some("zlib1g"), Some("1:1.2.13.dfsg-1")));
}

/// CycloneDX 1.4's `tools` array, trivy's `RepoDigest`, and nested components.
#[test]
fn cyclonedx_14_tools_and_repo_digest() {
    let doc = serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.4",
        "metadata": {"timestamp": "2024-05-06T07:08:09+00:00",
            "tools": [{"vendor": "aquasecurity", "name": "trivy", "version": "0.50.0"}],
            "component": {"type": "container", "name": "debian:12", "properties": [
                {"name": "aquasecurity:trivy:RepoDigest", "value": "debian@sha256:0123"}]}},
        "components": [{"type": "library", "name": "requests", "version": "2.31.0",
            "purl": "pkg:pypi/requests@2.31.0", "licenses": [{"license": {"name": "Apache 2.0"}}]}]
    });
    let sbom = read(&serde_json::to_vec(&doc).unwrap(), "c.json").unwrap();
    assert_eq!(sbom.format, SbomFormat::CycloneDxJson("1.4".into()));
    let inv = sbom.inventory;
    assert_eq!((inv.tool.name.as_str(), inv.tool.version.as_str()), ("trivy", "0.50.0"));
    assert_eq!(inv.subject.digest.as_deref(), Some("sha256:0123"));
    assert_eq!(inv.created.as_deref(), Some("2024-05-06T07:08:09Z"));
    assert_eq!(inv.os, None);
    let p = &inv.packages[0];
    assert_eq!((p.ecosystem.as_str(), p.source_name.as_deref()), ("pypi", None));
    assert_eq!(p.licenses, ["LicenseRef-Apache-2.0"]);
}

// ---- fresh SBOMs from the real tools, where installed ----

fn run(cmd: &mut Command) -> Vec<u8> {
    pare_test::tools::run_ok(cmd).stdout
}

/// This machine's whole dpkg database (hundreds of real packages) as an image: syft and trivy,
/// in SPDX and CycloneDX, read back to exactly pare's packages, versions, sources and OS.
#[test]
fn fresh_syft_and_trivy_sboms_match_pare() {
    let syft = pare_test::tools::venv_tool("venv-syft", "syft");
    let trivy = pare_test::tools::venv_tool("venv-trivy", "trivy");
    let status = fs::read("/var/lib/dpkg/status").expect("this test needs a Debian machine's /var/lib/dpkg/status");
    let tmp = tempfile::tempdir().unwrap();
    let ours = image(tmp.path(), &status, &[]);
    let expected = debs(&ours);
    assert!(expected.len() > 50);
    let layout = tmp.path().join("layout");
    let mut outputs = Vec::new();
    for format in ["spdx-json", "cyclonedx-json"] {
        let bytes = run(Command::new(&syft)
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .arg(format!("oci-dir:{}", layout.display()))
            .args(["-q", "-o", format]));
        outputs.push((format!("syft {format}"), bytes));
    }
    for format in ["spdx-json", "cyclonedx"] {
        let bytes = run(Command::new(&trivy)
            .env("TRIVY_CACHE_DIR", tmp.path().join("trivy-cache"))
            .args(["image", "-q", "--skip-db-update", "--offline-scan", "--format", format])
            .arg("--input")
            .arg(&layout));
        outputs.push((format!("trivy {format}"), bytes));
    }
    for (what, bytes) in outputs {
        let sbom = read(&bytes, &what).unwrap();
        assert!(sbom.warnings.is_empty(), "{what}: {:?}", sbom.warnings);
        assert_same_debs(&what, &expected, &debs(&sbom.inventory));
        assert_bookworm(&what, &sbom.inventory);
        println!("{what}: {} packages, as pare", sbom.inventory.packages.len());
    }
}
