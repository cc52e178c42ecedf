//! Generic referrers (`pare_oci::referrers`) in OCI layouts and in a real registry: Debian's
//! `docker-registry` 2.8 on 127.0.0.1, which has no referrers API, so the `sha256-<hex>` fallback
//! tag is what is exercised there (through the harness's fault proxy, to see the requests).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use oci_spec::image::{Descriptor, MediaType};
use pare_oci::referrers::{Artifact, CREATED, MAX_REFERRER_DEPTH, ReferrerStore, copy_referrers};
use pare_oci::registry::{Client, ClientConfig, Credentials, RegistrySink, RegistrySource};
use pare_oci::{
    CopyOptions, LayoutSink, LayoutSource, OciArchiveSink, PlatformChoice, Quiet, Reference, Root, Sink, copy_with,
    media_types as mt, sha256,
};
use pare_test::registry::{Fault, FaultProxy, TestRegistry};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const SBOM: &str = "application/spdx+json";
const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor::new(MediaType::from(media_type), bytes.len() as u64, sha256(bytes))
}

/// Writes a small image (one layer of opaque bytes) into a sink and names it; its descriptor.
fn write_image(mut sink: Box<dyn Sink>, seed: &str) -> TestResult<Descriptor> {
    let layer = format!("layer {seed}").into_bytes();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256(&layer).to_string()]},
    }))?;
    let (config_desc, layer_desc) = (descriptor(mt::OCI_CONFIG, &config), descriptor(mt::OCI_LAYER, &layer));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
        "config": {"mediaType": mt::OCI_CONFIG, "digest": config_desc.digest().to_string(), "size": config.len()},
        "layers": [{"mediaType": mt::OCI_LAYER, "digest": layer_desc.digest().to_string(), "size": layer.len()}],
    }))?;
    let desc = descriptor(mt::OCI_MANIFEST, &manifest);
    sink.put_blob(&config_desc, &mut &config[..])?;
    sink.put_blob(&layer_desc, &mut &layer[..])?;
    sink.put_manifest(&desc, &manifest)?;
    sink.set_root(&desc)?;
    sink.finish()?;
    Ok(desc)
}

fn sbom(subject: &Descriptor, created: &str) -> Artifact {
    Artifact::new(SBOM, subject)
        .with_layer(SBOM, br#"{"spdxVersion":"SPDX-2.3"}"#.to_vec(), BTreeMap::new())
        .with_annotation(CREATED, created)
}

fn bundle(subject: &Descriptor) -> Artifact {
    Artifact::new(BUNDLE, subject).with_layer(BUNDLE, br#"{"mediaType":"bundle"}"#.to_vec(), BTreeMap::new())
}

fn client() -> TestResult<Client> {
    Ok(Client::new(ClientConfig {
        credentials: Credentials::none(),
        retry_base_delay: Duration::from_millis(20),
        retry_max_delay: Duration::from_millis(200),
        timeout: Duration::from_secs(30),
        ..ClientConfig::default()
    })?)
}

fn digests<'a>(descs: impl IntoIterator<Item = &'a Descriptor>) -> Vec<String> {
    descs.into_iter().map(|d| d.digest().to_string()).collect()
}

fn index_len(layout: &Path) -> TestResult<usize> {
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    Ok(index["manifests"].as_array().map(Vec::len).unwrap_or_default())
}

#[test]
fn layout_attach_is_idempotent_and_lists_by_type() -> TestResult {
    let dir = tempfile::tempdir()?;
    let layout = dir.path().join("layout");
    let image = write_image(Box::new(LayoutSink::create(&layout, Some("app"))?), "a")?;
    let store = ReferrerStore::Layout(layout.clone());
    assert!(store.list(image.digest(), None)?.is_empty());

    let sbom_desc = store.attach(&sbom(&image, "2026-01-01T00:00:00Z"))?;
    let bundle_desc = store.attach(&bundle(&image))?;
    // Attaching again changes nothing.
    assert_eq!(store.attach(&sbom(&image, "2026-01-01T00:00:00Z"))?, sbom_desc);
    assert_eq!(index_len(&layout)?, 3);

    let all = store.list(image.digest(), None)?;
    assert_eq!(digests(&all), digests([&sbom_desc, &bundle_desc]));
    assert_eq!(all[0].artifact_type().as_ref().map(ToString::to_string).as_deref(), Some(SBOM));
    assert_eq!(
        all[0].annotations().as_ref().and_then(|a| a.get(CREATED)).map(String::as_str),
        Some("2026-01-01T00:00:00Z")
    );
    let bundles = store.list(image.digest(), Some(BUNDLE))?;
    assert_eq!(digests(&bundles), digests([&bundle_desc]));
    assert!(store.list(image.digest(), Some("application/vnd.example.none"))?.is_empty());
    // Another subject has none; the image is still the layout's only image.
    assert!(store.list(sbom_desc.digest(), None)?.is_empty());
    let root = Root::open(Arc::new(LayoutSource::new(&layout, None)))?;
    assert_eq!(root.descriptor().digest(), image.digest());

    let fetched = store.fetch(&bundle_desc, 1024)?;
    assert_eq!(fetched.subject.as_ref(), Some(image.digest()));
    assert_eq!(fetched.config.1, b"{}");
    assert_eq!(fetched.layers.len(), 1);
    assert_eq!(fetched.layers[0].1, br#"{"mediaType":"bundle"}"#);
    // Over the size cap: refused before it is read.
    assert!(matches!(store.fetch(&bundle_desc, 4), Err(pare_oci::Error::LimitExceeded { .. })));

    // A damaged layer is not handed out.
    let layer = &fetched.layers[0].0;
    let path = pare_oci::blob_path(&layout, layer.digest());
    std::fs::write(&path, br#"{"mediaType":"bundlf"}"#)?;
    let err = store.fetch(&bundle_desc, 1024).err().ok_or("expected an error")?;
    assert!(matches!(err, pare_oci::Error::DigestMismatch { .. }), "{err}");
    Ok(())
}

#[test]
fn registry_fallback_tag_is_idempotent_and_uses_if_match() -> TestResult {
    let registry = TestRegistry::start();
    let proxy = FaultProxy::start(registry.addr(), Vec::new());
    let client = client()?;
    let repo = Reference::parse(&format!("{}/signed/app:v1", proxy.host()))?;
    let image = write_image(Box::new(RegistrySink::new(client.clone(), repo.clone())), "r")?;
    let store = ReferrerStore::Registry { client: client.clone(), repository: repo.clone() };

    let sbom_desc = store.attach(&sbom(&image, "2026-01-01T00:00:00Z"))?;
    // The second update of the fallback index carries the ETag of the index it read.
    let bundle_desc = store.attach(&bundle(&image))?;
    let tag_part = format!("/manifests/sha256-{}", image.digest().digest());
    let puts: Vec<_> =
        proxy.requests().into_iter().filter(|r| r.method == "PUT" && r.path.contains(&tag_part)).collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[0].header("if-match"), None, "the index did not exist yet");
    let etag = puts[1].header("if-match").ok_or("no If-Match on the update")?;
    assert!(etag.contains(&sha256(&puts[0].body).to_string()), "{etag}");

    // A 412 (another writer updated the index) makes it read the index again and retry.
    proxy.add_fault(Fault::status("PUT", &tag_part, 412, 1));
    let third = store.attach(&Artifact::new("application/vnd.example.verdict", &image))?;
    assert_eq!(proxy.count("PUT", &tag_part), 4);

    // Re-attaching adds nothing.
    store.attach(&bundle(&image))?;
    store.attach(&sbom(&image, "2026-01-01T00:00:00Z"))?;
    let all = store.list(image.digest(), None)?;
    assert_eq!(digests(&all), digests([&sbom_desc, &bundle_desc, &third]));
    let bundles = store.list(image.digest(), Some(BUNDLE))?;
    assert_eq!(digests(&bundles), digests([&bundle_desc]));
    let fetched = store.fetch(&bundle_desc, 1024)?;
    assert_eq!(fetched.layers[0].1, br#"{"mediaType":"bundle"}"#);
    Ok(())
}

/// An image with an SBOM and a signature of the SBOM (a referrer of a referrer) goes registry →
/// layout → another repository → layout, with `copy_with`; without the option nothing is carried.
#[test]
fn copy_carries_referrers_of_referrers_between_layouts_and_registries() -> TestResult {
    let registry = TestRegistry::start();
    let client = client()?;
    let dir = tempfile::tempdir()?;
    let first = Reference::parse(&format!("{}/team/app:1", registry.host()))?;
    let image = write_image(Box::new(RegistrySink::new(client.clone(), first.clone())), "c")?;
    let origin = ReferrerStore::Registry { client: client.clone(), repository: first.clone() };
    let sbom_desc = origin.attach(&sbom(&image, "2026-01-01T00:00:00Z"))?;
    let signature = origin.attach(&bundle(&sbom_desc))?;

    let copy_to = |from: Arc<dyn pare_oci::Source>, sink: Box<dyn Sink>, referrers: bool| {
        let root = Root::open(from)?;
        copy_with(&root, sink, &CopyOptions { platform: PlatformChoice::All, referrers }, &Quiet)
    };
    let check = |store: &ReferrerStore| -> TestResult {
        assert_eq!(digests(&store.list(image.digest(), None)?), digests([&sbom_desc]));
        assert_eq!(digests(&store.list(sbom_desc.digest(), None)?), digests([&signature]));
        let fetched = store.fetch(&sbom_desc, 1024)?;
        assert_eq!(fetched.layers[0].1, br#"{"spdxVersion":"SPDX-2.3"}"#);
        Ok(())
    };

    // registry → layout
    let layout = dir.path().join("mirror");
    let copied = copy_to(
        Arc::new(RegistrySource::new(client.clone(), first.clone())),
        Box::new(LayoutSink::create(&layout, Some("app"))?),
        true,
    )?;
    assert_eq!(digests(&copied.referrers), digests([&sbom_desc, &signature]));
    check(&ReferrerStore::Layout(layout.clone()))?;
    // layout → registry (another repository)
    let second = Reference::parse(&format!("{}/mirror/app:1", registry.host()))?;
    copy_to(
        Arc::new(LayoutSource::new(&layout, Some("app"))),
        Box::new(RegistrySink::new(client.clone(), second.clone())),
        true,
    )?;
    check(&ReferrerStore::Registry { client: client.clone(), repository: second.clone() })?;
    // registry → registry, and again (idempotent)
    let third = Reference::parse(&format!("{}/again/app:1", registry.host()))?;
    for _ in 0..2 {
        copy_to(
            Arc::new(RegistrySource::new(client.clone(), second.clone())),
            Box::new(RegistrySink::new(client.clone(), third.clone())),
            true,
        )?;
    }
    check(&ReferrerStore::Registry { client: client.clone(), repository: third.clone() })?;
    // layout → layout
    let other = dir.path().join("other");
    copy_to(Arc::new(LayoutSource::new(&layout, Some("app"))), Box::new(LayoutSink::create(&other, None)?), true)?;
    check(&ReferrerStore::Layout(other.clone()))?;
    assert_eq!(index_len(&other)?, 3);

    // Without the option, nothing is carried.
    let plain = dir.path().join("plain");
    let copied = copy_to(
        Arc::new(RegistrySource::new(client.clone(), first.clone())),
        Box::new(LayoutSink::create(&plain, None)?),
        false,
    )?;
    assert!(copied.referrers.is_empty());
    assert!(ReferrerStore::Layout(plain.clone()).list(image.digest(), None)?.is_empty());
    assert_eq!(index_len(&plain)?, 1);

    // An archive cannot hold referrers: refused, and nothing is written.
    let archive = dir.path().join("app.tar");
    let err = copy_to(
        Arc::new(LayoutSource::new(&layout, Some("app"))),
        Box::new(OciArchiveSink::create(&archive, None)?),
        true,
    )
    .err()
    .ok_or("expected an error")?;
    assert!(err.to_string().contains("cannot hold referrers"), "{err}");
    assert!(!archive.exists());
    Ok(())
}

/// Referrers are followed `MAX_REFERRER_DEPTH` levels deep and no further.
#[test]
fn referrer_chains_are_copied_to_a_bounded_depth() -> TestResult {
    let dir = tempfile::tempdir()?;
    let from = dir.path().join("from");
    let image = write_image(Box::new(LayoutSink::create(&from, None)?), "d")?;
    let store = ReferrerStore::Layout(from.clone());
    let mut chain = Vec::new();
    let mut subject = image.clone();
    for _ in 0..MAX_REFERRER_DEPTH + 1 {
        subject = store.attach(&bundle(&subject))?;
        chain.push(subject.clone());
    }
    let to = ReferrerStore::Layout(dir.path().join("to"));
    write_image(Box::new(LayoutSink::create(dir.path().join("to"), None)?), "d")?;
    let copied = copy_referrers(&store, &to, image.digest(), MAX_REFERRER_DEPTH)?;
    assert_eq!(digests(&copied), digests(&chain[..MAX_REFERRER_DEPTH]));
    Ok(())
}
