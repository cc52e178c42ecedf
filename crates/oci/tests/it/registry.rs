//! The registry client against a real registry: Debian's `docker-registry` 2.8, started per test
//! on 127.0.0.1 by `pare_test::registry::TestRegistry` (the test fails if it is not installed).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oci_spec::image::{Descriptor, MediaType};
use pare_oci::registry::{BlobCache, Client, ClientConfig, Credential, Credentials, RegistrySink, RegistrySource};
use pare_oci::{
    Digest, Error, LayoutSink, LayoutSource, PlatformChoice, Progress, Quiet, Reference, Root, Sink, copy,
    media_types as mt, sha256,
};
use pare_test::registry::{Fault, FaultAction, FaultProxy, MockResponse, MockServer, TestRegistry};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

// ---------------------------------------------------------------------------------------------
// Building small images by hand.

/// A tar with regular files, fixed metadata.
fn tar_of(files: &[(&str, Vec<u8>)]) -> TestResult<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_path(path)?;
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, &data[..])?;
    }
    Ok(builder.into_inner()?)
}

fn gzip(data: &[u8]) -> TestResult<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// Incompressible bytes, so gzip layers stay as large as their content.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor::new(MediaType::from(media_type), bytes.len() as u64, sha256(bytes))
}

/// An image: its manifest and every blob it needs.
struct Built {
    desc: Descriptor,
    manifest: Vec<u8>,
    blobs: Vec<(Descriptor, Vec<u8>)>,
}

/// An image whose layers hold these files (one list per layer).
fn build_image(arch: &str, layers: &[Vec<(&str, Vec<u8>)>]) -> TestResult<Built> {
    let mut blobs = Vec::new();
    let mut diff_ids = Vec::new();
    let mut layer_json = Vec::new();
    for files in layers {
        let tar = tar_of(files)?;
        diff_ids.push(sha256(&tar).to_string());
        let gz = gzip(&tar)?;
        let desc = descriptor(mt::OCI_LAYER_GZIP, &gz);
        layer_json.push(
            serde_json::json!({"mediaType": mt::OCI_LAYER_GZIP, "digest": desc.digest().to_string(), "size": gz.len()}),
        );
        blobs.push((desc, gz));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Entrypoint": ["/usr/bin/hello"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": layers.iter().map(|_| serde_json::json!({"created_by": "pare test"})).collect::<Vec<_>>(),
    }))?;
    let config_desc = descriptor(mt::OCI_CONFIG, &config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": mt::OCI_MANIFEST,
        "config": {"mediaType": mt::OCI_CONFIG, "digest": config_desc.digest().to_string(), "size": config.len()},
        "layers": layer_json,
        "annotations": {"org.opencontainers.image.title": format!("pare test {arch}")},
    }))?;
    blobs.push((config_desc, config));
    Ok(Built { desc: descriptor(mt::OCI_MANIFEST, &manifest), manifest, blobs })
}

fn small_image(arch: &str, seed: u64) -> TestResult<Built> {
    build_image(
        arch,
        &[
            vec![("etc/os-release", b"ID=pare-test\n".to_vec()), ("usr/bin/hello", noise(3000, seed))],
            vec![("usr/share/doc/readme", format!("layer two of {arch}\n").into_bytes())],
            vec![("var/lib/data.bin", noise(20_000, seed + 1))],
        ],
    )
}

fn build_index(images: &[(&Built, &str)]) -> TestResult<(Descriptor, Vec<u8>)> {
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .map(|(image, arch)| {
            serde_json::json!({
                "mediaType": mt::OCI_MANIFEST,
                "digest": image.desc.digest().to_string(),
                "size": image.desc.size(),
                "platform": {"os": "linux", "architecture": arch},
            })
        })
        .collect();
    let index = serde_json::to_vec(
        &serde_json::json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": manifests}),
    )?;
    Ok((descriptor(mt::OCI_INDEX, &index), index))
}

/// Writes images (and an optional index as root) into an OCI layout under `tag`.
fn write_layout(dir: &Path, tag: &str, images: &[&Built], index: Option<&(Descriptor, Vec<u8>)>) -> TestResult {
    let mut sink = LayoutSink::create(dir, Some(tag))?;
    for image in images {
        for (desc, bytes) in &image.blobs {
            sink.put_blob(desc, &mut &bytes[..])?;
        }
        sink.put_manifest(&image.desc, &image.manifest)?;
    }
    let root = match index {
        Some((desc, bytes)) => {
            sink.put_manifest(desc, bytes)?;
            desc.clone()
        }
        None => images.first().ok_or("no image")?.desc.clone(),
    };
    sink.set_root(&root)?;
    Box::new(sink).finish()?;
    Ok(())
}

/// Every file under `blobs/` of a layout, by relative path.
fn layout_blobs(dir: &Path) -> TestResult<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let root = dir.join("blobs").join("sha256");
    for entry in std::fs::read_dir(&root)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            out.insert(name, std::fs::read(entry.path())?);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Pushing and pulling.

fn config() -> ClientConfig {
    ClientConfig {
        credentials: Credentials::none(),
        retry_base_delay: Duration::from_millis(20),
        retry_max_delay: Duration::from_millis(200),
        timeout: Duration::from_secs(30),
        ..ClientConfig::default()
    }
}

fn client() -> TestResult<Client> {
    Ok(Client::new(config())?)
}

fn reference(host: &str, repo_and_tag: &str) -> TestResult<Reference> {
    Ok(Reference::parse(&format!("{host}/{repo_and_tag}"))?)
}

/// Counts blobs copied and skipped.
#[derive(Default)]
struct Counting {
    copied: AtomicUsize,
    skipped: AtomicUsize,
}

impl Progress for Counting {
    fn blob_done(&self, _desc: &Descriptor, skipped: bool) {
        if skipped { &self.skipped } else { &self.copied }.fetch_add(1, Ordering::SeqCst);
    }
}

fn push_with(sink: RegistrySink, layout: &Path, tag: &str, progress: &dyn Progress) -> TestResult<Descriptor> {
    let root = Root::open(Arc::new(LayoutSource::new(layout, Some(tag))))?;
    Ok(copy(&root, Box::new(sink), &PlatformChoice::All, progress)?)
}

fn push(client: &Client, layout: &Path, tag: &str, to: &Reference) -> TestResult<Descriptor> {
    push_with(RegistrySink::new(client.clone(), to.clone()), layout, tag, &Quiet)
}

fn pull(client: &Client, from: &Reference, cache: Option<&BlobCache>, into: &Path) -> Result<Descriptor, Error> {
    let mut source = RegistrySource::new(client.clone(), from.clone());
    if let Some(cache) = cache {
        source = source.with_cache(cache.clone());
    }
    let root = Root::open(Arc::new(source))?;
    copy(&root, Box::new(LayoutSink::create(into, Some("pulled"))?), &PlatformChoice::All, &Quiet)
}

fn tempdir() -> TestResult<tempfile::TempDir> {
    Ok(tempfile::Builder::new().prefix("pare-registry-test-").tempdir()?)
}

/// A layout holding `small_image("amd64")` under `tag`.
fn small_layout(tag: &str) -> TestResult<(tempfile::TempDir, Built)> {
    let dir = tempdir()?;
    let image = small_image("amd64", 1)?;
    write_layout(dir.path(), tag, &[&image], None)?;
    Ok((dir, image))
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn push_and_pull_are_byte_identical() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image) = small_layout("v1")?;
    let client = client()?;
    let to = reference(&registry.host(), "team/app:v1")?;
    let pushed = push(&client, src.path(), "v1", &to)?;
    assert_eq!(pushed.digest(), image.desc.digest());
    // 4 blobs and the manifest; nothing was there before.
    assert_eq!(client.stats().blob_uploads, 4);

    let (desc, bytes) = client.get_manifest(&to)?;
    assert_eq!(bytes, image.manifest);
    assert_eq!(desc.digest(), image.desc.digest());
    assert_eq!(desc.media_type().to_string(), mt::OCI_MANIFEST);
    let head = client.head_manifest(&to)?.ok_or("HEAD found no manifest")?;
    assert_eq!((head.digest(), head.size()), (image.desc.digest(), image.desc.size()));

    let dst = tempdir()?;
    let pulled = pull(&client, &to, None, dst.path())?;
    assert_eq!(pulled.digest(), image.desc.digest());
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);

    // By digest too, and the image reads through the model.
    let by_digest = to.with_digest(image.desc.digest().clone());
    let root = Root::open(Arc::new(RegistrySource::new(client.clone(), by_digest)))?;
    let img = root.image(None)?;
    assert_eq!(img.layers()?.len(), 3);
    assert_eq!(img.platform()?.architecture, "amd64");
    Ok(())
}

#[test]
fn missing_things_are_clear_errors() -> TestResult {
    let registry = TestRegistry::start();
    let client = client()?;
    let missing = reference(&registry.host(), "nothing/here:v1")?;
    let err = client.get_manifest(&missing).err().ok_or("expected an error")?;
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("v1"), "{err}");
    assert_eq!(client.head_manifest(&missing)?, None);
    let digest = sha256(b"nope");
    assert_eq!(client.blob_exists(&missing, &digest)?, None);
    let err = client.get_blob(&missing, &digest, 4).err().ok_or("expected an error")?;
    assert!(matches!(&err, Error::BlobNotFound { digest: d, .. } if d == &digest), "{err}");
    Ok(())
}

#[test]
fn multi_platform_index_round_trip() -> TestResult {
    let registry = TestRegistry::start();
    let amd = small_image("amd64", 10)?;
    let arm = small_image("arm64", 20)?;
    let index = build_index(&[(&amd, "amd64"), (&arm, "arm64")])?;
    let src = tempdir()?;
    write_layout(src.path(), "multi", &[&amd, &arm], Some(&index))?;
    let client = client()?;
    let to = reference(&registry.host(), "multi:1.0")?;
    let pushed = push(&client, src.path(), "multi", &to)?;
    assert_eq!(pushed.digest(), index.0.digest());
    assert_eq!(client.get_manifest(&to)?.1, index.1);

    let dst = tempdir()?;
    pull(&client, &to, None, dst.path())?;
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);

    let Root::Index(idx) = Root::open(Arc::new(RegistrySource::new(client.clone(), to.clone())))? else {
        return Err("expected an index".into());
    };
    let platforms: Vec<String> = idx.platforms().iter().map(ToString::to_string).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let arm64 = pare_oci::Platform { os: "linux".into(), architecture: "arm64".into(), variant: None };
    let image = idx.select(Some(&arm64))?;
    assert_eq!(image.digest(), arm.desc.digest());
    assert_eq!(image.raw_manifest(), &arm.manifest[..]);
    Ok(())
}

#[test]
fn chunked_upload_when_forced() -> TestResult {
    let registry = TestRegistry::start();
    let image = build_image("amd64", &[vec![("big.bin", noise(300_000, 7))], vec![("small", b"x".to_vec())]])?;
    let src = tempdir()?;
    write_layout(src.path(), "big", &[&image], None)?;
    // Odd chunk size, so the last chunk is short; blobs above 1000 bytes go in chunks.
    let client = Client::new(ClientConfig { chunk_threshold: 1000, chunk_size: 65_537, ..config() })?;
    let to = reference(&registry.host(), "chunky:v1")?;
    push(&client, src.path(), "big", &to)?;
    let big = image.blobs.iter().map(|(d, _)| d.size()).max().ok_or("no blobs")?;
    assert!(big > 300_000);
    let stats = client.stats();
    assert_eq!(stats.upload_chunks, big.div_ceil(65_537), "{stats:?}");
    assert_eq!(stats.blob_uploads, 3);

    let dst = tempdir()?;
    pull(&client, &to, None, dst.path())?;
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    Ok(())
}

#[test]
fn second_push_skips_blobs_the_registry_has() -> TestResult {
    let registry = TestRegistry::start();
    let (src, _) = small_layout("v1")?;
    let client = client()?;
    let first = Counting::default();
    push_with(RegistrySink::new(client.clone(), reference(&registry.host(), "app:v1")?), src.path(), "v1", &first)?;
    assert_eq!((first.copied.load(Ordering::SeqCst), first.skipped.load(Ordering::SeqCst)), (4, 0));

    let uploads = client.stats().blob_uploads;
    let second = Counting::default();
    push_with(RegistrySink::new(client.clone(), reference(&registry.host(), "app:v2")?), src.path(), "v1", &second)?;
    assert_eq!((second.copied.load(Ordering::SeqCst), second.skipped.load(Ordering::SeqCst)), (0, 4));
    assert_eq!(client.stats().blob_uploads, uploads);
    assert_eq!(client.list_tags(&reference(&registry.host(), "app")?)?, ["v1", "v2"]);
    Ok(())
}

#[test]
fn cross_repository_mount() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image) = small_layout("v1")?;
    let client = client()?;
    push(&client, src.path(), "v1", &reference(&registry.host(), "base/one:v1")?)?;
    let before = client.stats();

    // Same image into another repository: every blob is mounted.
    let to = reference(&registry.host(), "other/two:v1")?;
    let sink =
        RegistrySink::new(client.clone(), to.clone()).mount_from_source(&reference(&registry.host(), "base/one:v1")?);
    push_with(sink, src.path(), "v1", &Quiet)?;
    let after = client.stats();
    assert_eq!(after.blob_mounts - before.blob_mounts, image.blobs.len() as u64);
    assert_eq!(after.blob_uploads, before.blob_uploads);
    for (desc, _) in &image.blobs {
        assert_eq!(client.blob_exists(&to, desc.digest())?, Some(desc.size()));
    }

    // A blob the source repository lacks: the registry starts an upload instead (202), which is used.
    let extra = b"only here".to_vec();
    let digest = sha256(&extra);
    let how = client.push_blob(&to, &digest, extra.len() as u64, &mut &extra[..], Some("base/one"))?;
    assert_eq!(how, pare_oci::registry::BlobPush::Uploaded);
    assert_eq!(client.blob_exists(&to, &digest)?, Some(extra.len() as u64));
    Ok(())
}

#[test]
fn tag_listing_on_the_real_registry() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image) = small_layout("v1")?;
    let client = client()?;
    let repo = reference(&registry.host(), "tagged:v1")?;
    push(&client, src.path(), "v1", &repo)?;
    let mut expected = vec!["v1".to_string()];
    for i in 0..6 {
        let tag = format!("t{i}");
        client.put_manifest(&repo.with_tag(&tag), mt::OCI_MANIFEST, &image.manifest)?;
        expected.push(tag);
    }
    expected.sort();
    // Registry 2.8 ignores `n` for tags and sends them all, unsorted.
    for page_size in [None, Some(2)] {
        let mut listed = client.list_tags_paged(&repo, page_size)?;
        listed.sort();
        assert_eq!(listed, expected);
    }
    let err = client.list_tags(&reference(&registry.host(), "never/pushed")?).err().ok_or("expected an error")?;
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    Ok(())
}

/// Registry 2.8 paginates its catalog with `n`, `last` and `Link` headers.
#[test]
fn catalog_pages_on_the_real_registry() -> TestResult {
    let registry = TestRegistry::start();
    let proxy = FaultProxy::start(registry.addr(), Vec::new());
    let (src, _) = small_layout("v1")?;
    let client = client()?;
    let names = ["a/one", "a/two", "b", "c/d/e", "zeta"];
    for name in names {
        push(&client, src.path(), "v1", &reference(&proxy.host(), &format!("{name}:v1"))?)?;
    }
    assert_eq!(client.list_repositories(&proxy.host(), Some(2))?, names);
    assert_eq!(proxy.count("GET", "/v2/_catalog"), 3);
    Ok(())
}

/// Tag pagination as the distribution spec defines it (`n`, `last`, `Link: <...>; rel="next"`),
/// against a scripted server because registry 2.8 does not paginate tags.
#[test]
fn tag_listing_follows_link_headers() -> TestResult {
    let all: Vec<String> = (0..5).map(|i| format!("tag{i}")).collect();
    let server = MockServer::start(move |request| {
        let Some(query) = request.path.strip_prefix("/v2/paged/tags/list") else {
            return MockResponse::json(200, &serde_json::json!({}));
        };
        let last = query.split(['?', '&']).find_map(|p| p.strip_prefix("last=")).unwrap_or("");
        let rest: Vec<&String> = all.iter().filter(|t| t.as_str() > last).collect();
        let page: Vec<&String> = rest.iter().take(2).copied().collect();
        let mut response = MockResponse::json(200, &serde_json::json!({"name": "paged", "tags": page}));
        if rest.len() > 2
            && let Some(end) = page.last()
        {
            response = response.header("Link", &format!("</v2/paged/tags/list?n=2&last={end}>; rel=\"next\""));
        }
        response
    });
    let client = client()?;
    let tags = client.list_tags_paged(&reference(&server.host(), "paged")?, Some(2))?;
    assert_eq!(tags, ["tag0", "tag1", "tag2", "tag3", "tag4"]);
    let pages: Vec<String> =
        server.requests().into_iter().filter(|r| r.path.contains("/tags/list")).map(|r| r.path).collect();
    assert_eq!(
        pages,
        ["/v2/paged/tags/list?n=2", "/v2/paged/tags/list?n=2&last=tag1", "/v2/paged/tags/list?n=2&last=tag3"]
    );
    Ok(())
}

/// An artifact manifest (empty config, one JSON layer) that refers to `subject`.
fn artifact(
    client: &Client,
    repo: &Reference,
    subject: &Descriptor,
    kind: &str,
    content: &[u8],
) -> TestResult<Vec<u8>> {
    let empty = b"{}";
    let empty_desc = descriptor(mt::OCI_EMPTY, empty);
    client.push_blob(repo, empty_desc.digest(), 2, &mut &empty[..], None)?;
    let layer_desc = descriptor("application/json", content);
    client.push_blob(repo, layer_desc.digest(), layer_desc.size(), &mut &content[..], None)?;
    Ok(serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": mt::OCI_MANIFEST,
        "artifactType": kind,
        "config": {"mediaType": mt::OCI_EMPTY, "digest": empty_desc.digest().to_string(), "size": 2},
        "layers": [{"mediaType": "application/json", "digest": layer_desc.digest().to_string(), "size": content.len()}],
        "subject": {"mediaType": subject.media_type().to_string(), "digest": subject.digest().to_string(), "size": subject.size()},
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    }))?)
}

#[test]
fn referrers_through_the_fallback_tag() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image) = small_layout("v1")?;
    let client = client()?;
    let repo = reference(&registry.host(), "signed:v1")?;
    push(&client, src.path(), "v1", &repo)?;
    let subject = image.desc.digest();
    assert!(client.referrers(&repo, subject, None)?.is_empty());

    let sbom = artifact(&client, &repo, &image.desc, "application/spdx+json", br#"{"spdxVersion":"SPDX-2.3"}"#)?;
    let sbom_desc = client.push_referrer(&repo, mt::OCI_MANIFEST, &sbom)?;
    let sig = artifact(&client, &repo, &image.desc, "application/vnd.example.sig", b"{\"sig\":1}")?;
    let sig_desc = client.push_referrer(&repo, mt::OCI_MANIFEST, &sig)?;
    // Pushing the same referrer again does not duplicate it.
    client.push_referrer(&repo, mt::OCI_MANIFEST, &sig)?;

    let all = client.referrers(&repo, subject, None)?;
    let digests: Vec<&Digest> = all.iter().map(|d| d.digest()).collect();
    assert_eq!(digests, [sbom_desc.digest(), sig_desc.digest()]);
    assert_eq!(all[0].artifact_type().as_ref().map(ToString::to_string).as_deref(), Some("application/spdx+json"));
    assert!(all[0].annotations().as_ref().is_some_and(|a| a.contains_key("org.opencontainers.image.created")));
    let sigs = client.referrers(&repo, subject, Some("application/vnd.example.sig"))?;
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0].digest(), sig_desc.digest());

    // The registry has no referrers API: the index lives under the fallback tag.
    let tag = pare_oci::registry::referrers_tag(subject);
    assert_eq!(tag, format!("sha256-{}", subject.digest()));
    assert!(client.list_tags(&repo)?.contains(&tag));
    let (fallback, _) = client.get_manifest(&repo.with_tag(&tag))?;
    assert_eq!(fallback.media_type().to_string(), mt::OCI_INDEX);

    // A manifest without a subject is refused.
    let err = client.push_referrer(&repo, mt::OCI_MANIFEST, &image.manifest).err().ok_or("expected an error")?;
    assert!(err.to_string().contains("subject"), "{err}");
    Ok(())
}

fn docker_config(dir: &Path, registry: &str, user: &str, password: &str) -> TestResult<PathBuf> {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_vec(&serde_json::json!({"auths": {registry: {"auth": auth}}}))?)?;
    Ok(path)
}

fn round_trip(client: &Client, host: &str, repo: &str) -> TestResult {
    let (src, image) = small_layout("v1")?;
    let to = reference(host, repo)?;
    push(client, src.path(), "v1", &to)?;
    let dst = tempdir()?;
    let pulled = pull(client, &to, None, dst.path())?;
    assert_eq!(pulled.digest(), image.desc.digest());
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    Ok(())
}

#[test]
fn basic_auth_from_docker_config() -> TestResult {
    let registry = TestRegistry::start_with_basic_auth("alice", "s3cret");
    let home = tempdir()?;
    let docker_dir = home.path().join(".docker");
    std::fs::create_dir_all(&docker_dir)?;
    docker_config(&docker_dir, &registry.host(), "alice", "s3cret")?;
    // As found from $HOME, the way `docker login` leaves it.
    let vars: HashMap<&str, OsString> = [("HOME", home.path().as_os_str().to_owned())].into_iter().collect();
    let credentials = Credentials::from_vars(|k| vars.get(k).cloned());
    let client = Client::new(ClientConfig { credentials, ..config() })?;
    round_trip(&client, &registry.host(), "private/app:v1")
}

#[test]
fn basic_auth_from_registry_auth_file() -> TestResult {
    let registry = TestRegistry::start_with_basic_auth("alice", "s3cret");
    let dir = tempdir()?;
    let file = docker_config(dir.path(), &registry.host(), "alice", "s3cret")?;
    let auth_json = dir.path().join("auth.json");
    std::fs::rename(file, &auth_json)?;
    let vars: HashMap<&str, OsString> =
        [("REGISTRY_AUTH_FILE", auth_json.into_os_string()), ("HOME", dir.path().join("empty-home").into_os_string())]
            .into_iter()
            .collect();
    let client =
        Client::new(ClientConfig { credentials: Credentials::from_vars(|k| vars.get(k).cloned()), ..config() })?;
    round_trip(&client, &registry.host(), "private/app:v1")
}

#[test]
fn basic_auth_failures_are_clear() -> TestResult {
    let registry = TestRegistry::start_with_basic_auth("alice", "s3cret");
    let (src, _) = small_layout("v1")?;
    let to = reference(&registry.host(), "private/app:v1")?;

    let wrong = Credentials::none().with_credential(registry.host(), Credential::basic("alice", "wrong"));
    let client = Client::new(ClientConfig { credentials: wrong, ..config() })?;
    let err = push(&client, src.path(), "v1", &to).err().ok_or("expected an error")?;
    let text = err.to_string();
    let hint = err.downcast_ref::<Error>().and_then(Error::hint).unwrap_or_default();
    assert!(text.contains("rejected the credentials of `alice`") && hint.contains("check the password"), "{text}");
    assert!(!text.contains("wrong"), "the password leaked into the message: {text}");

    let anonymous = client_anonymous_error(&registry.host())?;
    assert!(anonymous.contains("needs credentials") && anonymous.contains("docker"), "{anonymous}");
    Ok(())
}

fn client_anonymous_error(host: &str) -> TestResult<String> {
    let client = client()?;
    let err = client.get_manifest(&reference(host, "private/app:v1")?).err().ok_or("expected an error")?;
    assert!(matches!(err.root(), Error::Auth { .. }), "{err}");
    Ok(format!("{err}\nhint: {}", err.hint().unwrap_or_default()))
}

/// The real token flow: docker-registry configured with `auth: token:` and a token server (in
/// the harness) that signs JWTs the registry verifies.
#[test]
fn bearer_token_flow_with_scopes() -> TestResult {
    let registry = TestRegistry::start_with_token_auth("bob", "hunter2");
    let tokens = registry.token_server().ok_or("no token server")?;
    let credentials = Credentials::none().with_credential(registry.host(), Credential::basic("bob", "hunter2"));
    let client = Client::new(ClientConfig { credentials, ..config() })?;
    round_trip(&client, &registry.host(), "tok/app:v1")?;

    let requests = tokens.requests();
    assert!(requests.iter().all(|r| r.user.as_deref() == Some("bob")), "{requests:?}");
    assert!(requests.iter().all(|r| r.service.as_deref() == Some("pare-test-registry")), "{requests:?}");
    let scopes: Vec<String> = requests.iter().flat_map(|r| r.scopes.clone()).collect();
    assert!(scopes.contains(&"repository:tok/app:pull,push".to_string()), "{scopes:?}");
    assert!(scopes.contains(&"repository:tok/app:pull".to_string()), "{scopes:?}");
    // Tokens are cached per scope: a handful of token requests for dozens of registry requests.
    let stats = client.stats();
    assert!(stats.token_requests <= 3 && stats.requests > 15, "{stats:?}");

    // A mount asks for pull on the source repository as well.
    let to = reference(&registry.host(), "tok/copy:v1")?;
    let (src, image) = small_layout("v1")?;
    push_with(RegistrySink::new(client.clone(), to).with_mount_from("tok/app"), src.path(), "v1", &Quiet)?;
    assert_eq!(client.stats().blob_mounts, image.blobs.len() as u64);
    let last = tokens.requests().into_iter().map(|r| r.scopes).find(|s| s.len() == 2).ok_or("no mount token")?;
    assert_eq!(last, ["repository:tok/copy:pull,push", "repository:tok/app:pull"]);

    // Wrong password: the token server refuses, and the error says so.
    let wrong = Credentials::none().with_credential(registry.host(), Credential::basic("bob", "nope"));
    let bad = Client::new(ClientConfig { credentials: wrong, ..config() })?;
    let err = bad.get_manifest(&reference(&registry.host(), "tok/app:v1")?).err().ok_or("expected an error")?;
    let text = err.to_string();
    assert!(
        matches!(err.root(), Error::Auth { .. }) && text.contains("token server") && text.contains("`bob`"),
        "{text}"
    );

    // Anonymous: a token that grants nothing, then a clear error.
    let anonymous = client_anonymous_error(&registry.host())?;
    assert!(anonymous.contains("credentials"), "{anonymous}");
    Ok(())
}

/// An `identitytoken` (docker's refresh token) is exchanged with a form `POST` at the realm; a
/// scripted server stands in for a token service that supports it (registry 2.8's does not).
#[test]
fn identity_token_is_exchanged_at_the_realm() -> TestResult {
    let own_host = Arc::new(std::sync::OnceLock::<String>::new());
    let realm_host = own_host.clone();
    let server = MockServer::start(move |r| {
        let realm = realm_host.get().map_or("", String::as_str);
        match (r.method.as_str(), r.path.split('?').next().unwrap_or("")) {
            ("POST", "/token") => {
                let form = String::from_utf8_lossy(&r.body).into_owned();
                if form.contains("grant_type=refresh_token") && form.contains("refresh_token=id-token") {
                    MockResponse::json(200, &serde_json::json!({"access_token": "granted", "expires_in": 300}))
                } else {
                    MockResponse::json(401, &serde_json::json!({"error": "invalid_grant"}))
                }
            }
            (_, "/v2/app/tags/list") if r.header("authorization") == Some("Bearer granted") => {
                MockResponse::json(200, &serde_json::json!({"name": "app", "tags": ["v1"]}))
            }
            _ => MockResponse::json(401, &serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "no"}]}))
                .header("WWW-Authenticate", &format!("Bearer realm=\"http://{realm}/token\",service=\"mock\"")),
        }
    });
    own_host.set(server.host()).map_err(|_| "host already set")?;
    let credentials = Credentials::none().with_credential(server.host(), Credential::IdentityToken("id-token".into()));
    let client = Client::new(ClientConfig { credentials, ..config() })?;
    assert_eq!(client.list_tags(&reference(&server.host(), "app")?)?, ["v1"]);
    let post = server.requests().into_iter().find(|r| r.method == "POST").ok_or("no token request")?;
    let form = String::from_utf8_lossy(&post.body).into_owned();
    for part in ["service=mock", "scope=repository%3Aapp%3Apull", "client_id=pare"] {
        assert!(form.contains(part), "{form}");
    }
    assert_eq!(post.header("content-type"), Some("application/x-www-form-urlencoded"));
    Ok(())
}

#[test]
fn wrong_digest_from_the_server_names_the_blob() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image) = small_layout("v1")?;
    let client = client()?;
    push(&client, src.path(), "v1", &reference(&registry.host(), "app:v1")?)?;

    let proxy = FaultProxy::start(registry.addr(), vec![Fault::corrupt_blob(1)]);
    let cache_dir = tempdir()?;
    let cache = BlobCache::new(cache_dir.path());
    let via_proxy = reference(&proxy.host(), "app:v1")?;
    let dst = tempdir()?;
    let err = pull(&client, &via_proxy, Some(&cache), dst.path()).err().ok_or("expected an error")?;
    let Error::DigestMismatch { digest, .. } = &err else {
        return Err(format!("expected a digest mismatch, got {err}").into());
    };
    assert!(image.blobs.iter().any(|(d, _)| d.digest() == digest), "{err}");
    assert!(err.to_string().contains(&digest.to_string()));
    // The bad bytes were not cached, and nothing half-written is left.
    assert!(!cache.path(digest).exists());
    assert_no_temp_files(cache_dir.path())?;

    // The next pull (no more faults) succeeds and fills the cache with verified blobs.
    pull(&client, &via_proxy, Some(&cache), tempdir()?.path())?;
    for (desc, _) in &image.blobs {
        assert!(cache.open(desc.digest(), desc.size())?.is_some());
    }
    Ok(())
}

fn assert_no_temp_files(dir: &Path) -> TestResult {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                let name = entry.file_name().to_string_lossy().into_owned();
                assert!(!name.starts_with('.'), "temporary file left in the cache: {}", entry.path().display());
            }
        }
    }
    Ok(())
}

/// One large layer, so a cut after 10 000 bytes is mid-blob; also returns that layer's digest.
fn big_layout() -> TestResult<(tempfile::TempDir, Built, Digest)> {
    let dir = tempdir()?;
    let image = build_image("amd64", &[vec![("big.bin", noise(200_000, 3))]])?;
    write_layout(dir.path(), "v1", &[&image], None)?;
    let big = image.blobs.iter().max_by_key(|(d, _)| d.size()).ok_or("no blobs")?.0.digest().clone();
    Ok((dir, image, big))
}

#[test]
fn dropped_connection_mid_blob_resumes() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image, big) = big_layout()?;
    let pusher = client()?;
    push(&pusher, src.path(), "v1", &reference(&registry.host(), "app:v1")?)?;

    // The layer's download is cut after 10 000 bytes; the client continues with Range.
    let cut = Fault::new("GET", &format!("/blobs/{big}"), 1, FaultAction::CutBodyAfter(10_000));
    let proxy = FaultProxy::start(registry.addr(), vec![cut]);
    let cache_dir = tempdir()?;
    let cache = BlobCache::new(cache_dir.path());
    let dst = tempdir()?;
    let reader = client()?;
    pull(&reader, &reference(&proxy.host(), "app:v1")?, Some(&cache), dst.path())?;
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    assert_eq!(reader.stats().blob_resumes, 1);
    let ranged: Vec<String> = proxy.requests().iter().filter_map(|r| r.header("range").map(str::to_string)).collect();
    assert_eq!(ranged.len(), 1, "{:?}", proxy.requests());
    assert!(ranged[0].starts_with("bytes=") && ranged[0] != "bytes=0-", "{ranged:?}");
    for (desc, _) in &image.blobs {
        assert!(cache.open(desc.digest(), desc.size())?.is_some());
    }
    Ok(())
}

#[test]
fn registry_ignoring_range_gets_a_clean_retry() -> TestResult {
    let registry = TestRegistry::start();
    let (src, _, big) = big_layout()?;
    push(&client()?, src.path(), "v1", &reference(&registry.host(), "app:v1")?)?;

    // Cut once; the retry's `Range` is dropped, so the registry sends the whole blob again and
    // the client skips what it already passed on.
    let path = format!("/blobs/{big}");
    let proxy = FaultProxy::start(
        registry.addr(),
        vec![
            Fault::new("GET", &path, 1, FaultAction::CutBodyAfter(10_000)),
            Fault::new("GET", &path, 1, FaultAction::IgnoreRange),
        ],
    );
    let cache_dir = tempdir()?;
    let cache = BlobCache::new(cache_dir.path());
    let dst = tempdir()?;
    let reader = client()?;
    pull(&reader, &reference(&proxy.host(), "app:v1")?, Some(&cache), dst.path())?;
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    assert_eq!(reader.stats().blob_resumes, 1);
    assert_eq!(proxy.count("GET", &path), 2);
    let size = std::fs::metadata(cache.path(&big))?.len();
    assert!(cache.open(&big, size)?.is_some());
    Ok(())
}

#[test]
fn connection_dropped_every_time_fails_cleanly_and_cache_stays_clean() -> TestResult {
    let registry = TestRegistry::start();
    let (src, _, big) = big_layout()?;
    let pusher = client()?;
    push(&pusher, src.path(), "v1", &reference(&registry.host(), "app:v1")?)?;

    let cut = Fault::new("GET", &format!("/blobs/{big}"), 1000, FaultAction::CutBodyAfter(10_000));
    let proxy = FaultProxy::start(registry.addr(), vec![cut]);
    let cache_dir = tempdir()?;
    let cache = BlobCache::new(cache_dir.path());
    let dst = tempdir()?;
    let reader = client()?;
    let err = pull(&reader, &reference(&proxy.host(), "app:v1")?, Some(&cache), dst.path())
        .err()
        .ok_or("expected an error")?;
    let text = err.to_string();
    assert!(text.contains("blob `sha256:") && text.contains("resuming did not help"), "{text}");
    // Each resume continued from the bytes already read (10 000 per try, never from 0 again).
    let ranges: Vec<String> = proxy.requests().iter().filter_map(|r| r.header("range").map(str::to_string)).collect();
    assert_eq!(ranges.len(), 4, "{ranges:?}");
    assert_eq!(ranges[0], "bytes=10000-");
    assert_eq!(ranges[1], "bytes=20000-");
    assert!(text.contains(&big.to_string()), "{text}");
    assert!(!cache.path(&big).exists());
    assert_no_temp_files(cache_dir.path())?;

    // The next pull, straight from the registry, succeeds and is verified.
    let dst = tempdir()?;
    pull(&reader, &reference(&registry.host(), "app:v1")?, Some(&cache), dst.path())?;
    assert!(cache.open(&big, std::fs::metadata(cache.path(&big))?.len())?.is_some());
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    Ok(())
}

#[test]
fn retries_server_errors_with_backoff() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image) = small_layout("v1")?;
    let proxy = FaultProxy::start(
        registry.addr(),
        vec![
            Fault::status("GET", "/manifests/", 503, 2),
            Fault::status("GET", "/blobs/sha256:", 500, 1),
            Fault::new("HEAD", "/blobs/", 1, FaultAction::Status { code: 429, retry_after: Some(1) }),
            Fault::new("PUT", "/manifests/", 1, FaultAction::Close),
            // A failed monolithic upload starts a new session.
            Fault::status("PUT", "/blobs/uploads/", 503, 1),
        ],
    );
    let client = client()?;
    let to = reference(&proxy.host(), "flaky:v1")?;
    push(&client, src.path(), "v1", &to)?;
    let dst = tempdir()?;
    let started = std::time::Instant::now();
    pull(&client, &to, None, dst.path())?;
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    assert!(client.stats().retries >= 6, "{:?}", client.stats());
    assert_eq!(proxy.count("POST", "/blobs/uploads/"), 5);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(proxy.requests().iter().any(|r| r.path.contains(image.desc.digest().digest())));

    // A server that keeps failing: bounded tries, then an error with the status and URL.
    proxy.add_fault(Fault::status("GET", "/manifests/", 503, 100));
    let before = proxy.count("GET", "/manifests/");
    let err = client.get_manifest(&to).err().ok_or("expected an error")?;
    assert!(matches!(err, Error::Registry { status: Some(503), .. }), "{err}");
    assert!(err.to_string().contains("/v2/flaky/manifests/v1"), "{err}");
    assert_eq!(proxy.count("GET", "/manifests/") - before, 4);
    Ok(())
}

#[test]
fn failed_chunk_is_resent_from_where_the_registry_stands() -> TestResult {
    let registry = TestRegistry::start();
    let image = build_image("amd64", &[vec![("big.bin", noise(100_000, 9))]])?;
    let src = tempdir()?;
    write_layout(src.path(), "v1", &[&image], None)?;
    // The second PATCH is refused once, without reaching the registry.
    let proxy = FaultProxy::start(registry.addr(), vec![Fault::status("PATCH", "/blobs/uploads/", 503, 1).after(1)]);
    let client = Client::new(ClientConfig { chunk_threshold: 1000, chunk_size: 30_000, ..config() })?;
    let to = reference(&proxy.host(), "chunks:v1")?;
    push(&client, src.path(), "v1", &to)?;
    let dst = tempdir()?;
    pull(&client, &to, None, dst.path())?;
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    // The refused chunk led to an upload status request, then the chunk again.
    assert_eq!(proxy.count("GET", "/blobs/uploads/"), 1);
    assert!(client.stats().retries >= 1);
    Ok(())
}

#[test]
fn second_pull_reads_blobs_from_the_cache() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image) = small_layout("v1")?;
    push(&client()?, src.path(), "v1", &reference(&registry.host(), "app:v1")?)?;
    let cache_dir = tempdir()?;
    let cache = BlobCache::new(cache_dir.path());
    let from = reference(&registry.host(), "app:v1")?;

    let first = client()?;
    pull(&first, &from, Some(&cache), tempdir()?.path())?;
    assert_eq!(first.stats().blob_downloads, 4);
    for (desc, bytes) in &image.blobs {
        let path = cache.path(desc.digest());
        assert!(path.starts_with(cache_dir.path().join("blobs-v1").join("sha256")));
        assert_eq!(&std::fs::read(path)?, bytes);
    }

    let second = client()?;
    let dst = tempdir()?;
    pull(&second, &from, Some(&cache), dst.path())?;
    assert_eq!(second.stats().blob_downloads, 0, "{:?}", second.stats());
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);

    // A corrupted entry is not trusted: it is deleted and fetched again.
    let (victim, good) = &image.blobs[0];
    let path = cache.path(victim.digest());
    let mut bad = good.clone();
    bad[10] ^= 0xff;
    std::fs::write(&path, &bad)?;
    let third = client()?;
    let dst = tempdir()?;
    pull(&third, &from, Some(&cache), dst.path())?;
    assert_eq!(third.stats().blob_downloads, 1);
    assert_eq!(&std::fs::read(&path)?, good);
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    Ok(())
}

fn skopeo() -> PathBuf {
    let path = PathBuf::from("/usr/bin/skopeo");
    assert!(path.exists(), "skopeo is not installed: apt-get install skopeo");
    path
}

fn run(cmd: &mut Command) -> TestResult<Vec<u8>> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(out.stdout)
}

#[test]
fn skopeo_pushes_and_pare_pulls_the_same_bytes() -> TestResult {
    let registry = TestRegistry::start();
    let amd = small_image("amd64", 30)?;
    let arm = small_image("arm64", 40)?;
    let index = build_index(&[(&amd, "amd64"), (&arm, "arm64")])?;
    let src = tempdir()?;
    write_layout(src.path(), "multi", &[&amd, &arm], Some(&index))?;
    let dest = format!("docker://{}/from-skopeo:v1", registry.host());
    run(Command::new(skopeo())
        .args(["copy", "--insecure-policy", "--all", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:multi", src.path().display()))
        .arg(&dest))?;
    let raw = run(Command::new(skopeo()).args(["inspect", "--raw", "--tls-verify=false"]).arg(&dest))?;

    let client = client()?;
    let from = reference(&registry.host(), "from-skopeo:v1")?;
    let dst = tempdir()?;
    let pulled = pull(&client, &from, None, dst.path())?;
    let blobs = layout_blobs(dst.path())?;
    let root_bytes = blobs.get(pulled.digest().digest()).ok_or("root manifest missing")?;
    assert_eq!(root_bytes, &raw);
    assert_eq!(root_bytes, &index.1);
    assert_eq!(blobs, layout_blobs(src.path())?);
    Ok(())
}

#[test]
fn pare_pushes_and_skopeo_accepts() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image) = small_layout("v1")?;
    let client = client()?;
    push(&client, src.path(), "v1", &reference(&registry.host(), "from-pare:v1")?)?;
    let target = format!("docker://{}/from-pare:v1", registry.host());
    let inspect = run(Command::new(skopeo()).args(["inspect", "--tls-verify=false"]).arg(&target))?;
    let info: serde_json::Value = serde_json::from_slice(&inspect)?;
    assert_eq!(info["Digest"], image.desc.digest().to_string());
    assert_eq!(info["Architecture"], "amd64");
    assert_eq!(info["Layers"].as_array().map(Vec::len), Some(3));
    let raw = run(Command::new(skopeo()).args(["inspect", "--raw", "--tls-verify=false"]).arg(&target))?;
    assert_eq!(raw, image.manifest);

    // And skopeo copies it out byte for byte.
    let out = tempdir()?;
    run(Command::new(skopeo())
        .args(["copy", "--insecure-policy", "--src-tls-verify=false"])
        .arg(&target)
        .arg(format!("oci:{}:v1", out.path().display())))?;
    assert_eq!(layout_blobs(out.path())?, layout_blobs(src.path())?);
    Ok(())
}

#[test]
fn repull_replaces_a_damaged_layout_blob() -> TestResult {
    let registry = TestRegistry::start();
    let (src, image) = small_layout("v1")?;
    let from = reference(&registry.host(), "app:v1")?;
    push(&client()?, src.path(), "v1", &from)?;
    let cache_dir = tempdir()?;
    let cache = BlobCache::new(cache_dir.path());
    let dst = tempdir()?;
    pull(&client()?, &from, Some(&cache), dst.path())?;

    // Damaged in place, same size: the cache entry it is hard-linked to is damaged with it.
    let (victim, good) = image.blobs.iter().max_by_key(|(d, _)| d.size()).ok_or("no blobs")?;
    let in_layout = pare_oci::blob_path(dst.path(), victim.digest());
    let mut file = std::fs::OpenOptions::new().write(true).open(&in_layout)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(100))?;
    file.write_all(&[good[100] ^ 0xff])?;
    drop(file);
    assert_ne!(&std::fs::read(&in_layout)?, good);

    let again = client()?;
    pull(&again, &from, Some(&cache), dst.path())?;
    assert_eq!(again.stats().blob_downloads, 1, "{:?}", again.stats());
    assert_eq!(&std::fs::read(&in_layout)?, good);
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    assert!(cache.open(victim.digest(), victim.size())?.is_some());
    // The whole image reads back verified.
    let root = Root::open(Arc::new(LayoutSource::new(dst.path(), Some("pulled"))))?;
    let pulled = root.image(None)?;
    for desc in std::iter::once(pulled.manifest().config()).chain(pulled.manifest().layers()) {
        std::io::copy(&mut pulled.source().fetch(desc)?, &mut std::io::sink())?;
    }
    assert_no_temp_files(dst.path())?;
    Ok(())
}

/// A push whose upload `Location` names another host: credentials go only to the registry that
/// asked for them (scheme, host and port), as Docker and containerd do.
#[test]
fn credentials_are_not_sent_to_an_upload_location_on_another_host() -> TestResult {
    let registries = [
        ("basic", TestRegistry::start_with_basic_auth("alice", "s3cret"), Credential::basic("alice", "s3cret")),
        ("token", TestRegistry::start_with_token_auth("alice", "s3cret"), Credential::basic("alice", "s3cret")),
    ];
    for (kind, registry, credential) in registries {
        // Another port in front of the same registry, where the upload sessions are sent.
        let elsewhere = FaultProxy::start(registry.addr(), Vec::new());
        let front = FaultProxy::start(
            registry.addr(),
            vec![Fault::new("POST", "/blobs/uploads/", 1000, FaultAction::RewriteLocation(elsewhere.addr()))],
        );
        let credentials = Credentials::none().with_credential(front.host(), credential);
        let client = Client::new(ClientConfig { credentials, ..config() })?;
        let (src, _) = small_layout("v1")?;
        let result = push(&client, src.path(), "v1", &reference(&front.host(), "private/app:v1")?);

        let sent_here = elsewhere.requests();
        assert!(!sent_here.is_empty(), "{kind}: the upload never went to the Location host");
        for r in &sent_here {
            assert!(
                r.header("authorization").is_none(),
                "{kind}: credentials sent to {}: {} {}",
                elsewhere.host(),
                r.method,
                r.path
            );
        }
        assert!(
            front.requests().iter().any(|r| r.header("authorization").is_some()),
            "{kind}: the registry itself never got credentials"
        );
        // The other host wants credentials too, which it does not get: a clear error naming it.
        let err = result.err().ok_or_else(|| format!("{kind}: expected an error"))?;
        assert!(err.to_string().contains(&elsewhere.host()), "{kind}: {err}");
    }
    Ok(())
}

/// A layer that arrives one byte every 100 ms (a link that drips, never quite stopping): with a
/// stall timeout of 1 s the download is resumed with `Range`; one that always drips fails with
/// an error that names the stall and the setting.
#[test]
fn stalled_download_is_resumed_and_a_persistent_stall_fails() -> TestResult {
    let registry = TestRegistry::start();
    let (src, _, big) = big_layout()?;
    push(&client()?, src.path(), "v1", &reference(&registry.host(), "app:v1")?)?;
    let stalling = || Client::new(ClientConfig { stall_timeout: Duration::from_secs(1), ..config() });
    let path = format!("/blobs/{big}");
    let drip = FaultAction::Drip(Duration::from_millis(100));

    let once = FaultProxy::start(registry.addr(), vec![Fault::new("GET", &path, 1, drip.clone())]);
    let reader = stalling()?;
    let dst = tempdir()?;
    pull(&reader, &reference(&once.host(), "app:v1")?, None, dst.path())?;
    assert_eq!(layout_blobs(dst.path())?, layout_blobs(src.path())?);
    assert_eq!(reader.stats().blob_resumes, 1, "{:?}", reader.stats());

    let always = FaultProxy::start(registry.addr(), vec![Fault::new("GET", &path, 1000, drip)]);
    let dst = tempdir()?;
    let err =
        pull(&stalling()?, &reference(&always.host(), "app:v1")?, None, dst.path()).err().ok_or("expected an error")?;
    let text = err.to_string();
    assert!(text.contains("stalled") && text.contains(&big.to_string()), "{text}");
    let hint = err.hint().unwrap_or_default();
    assert!(hint.contains("PARE_REGISTRY_STALL_TIMEOUT"), "{text}: {hint}");
    assert!(!dst.path().join("index.json").exists());
    Ok(())
}
