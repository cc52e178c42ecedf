//! The image model on assembled images: nesting limits and platform choice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use pare_oci::{Assembler, Compression, Error, ImageSpec, LayerEntry, LayerOptions, Platform, RuntimeConfig};

fn nested(depth: usize) -> pare_oci::Root {
    let mut asm = Assembler::new().unwrap();
    let layer = asm
        .add_layer(
            vec![LayerEntry::file("f", 0o644, "x")],
            &LayerOptions { mtime: 0, compression: Compression::Gzip, level: None },
        )
        .unwrap();
    let spec = ImageSpec {
        platform: Platform::host(),
        runtime: RuntimeConfig::default(),
        created: 0,
        annotations: BTreeMap::new(),
    };
    let mut top = asm.add_image(&spec, &[layer]).unwrap();
    for _ in 0..depth {
        top = asm.add_index(&[top], &BTreeMap::new()).unwrap();
    }
    asm.finish(&top).unwrap().open().unwrap()
}

#[test]
fn nested_indexes_resolve_up_to_the_limit() {
    assert!(nested(3).image(None).is_ok());
    let err = nested(pare_oci::MAX_INDEX_NESTING + 2).image(None).err().unwrap();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("nest"), "{err}");
}

#[test]
fn copy_refuses_endless_index_chains() {
    let tmp = tempfile::tempdir().unwrap();
    let root = nested(pare_oci::MAX_INDEX_NESTING + 2);
    let sink = pare_oci::LayoutSink::create(tmp.path(), Some("x")).unwrap();
    let err = pare_oci::copy(&root, Box::new(sink), &pare_oci::PlatformChoice::All, &pare_oci::Quiet).err().unwrap();
    assert!(err.to_string().contains("nest"), "{err}");
    let ok = nested(2);
    let sink = pare_oci::LayoutSink::create(tmp.path().join("ok"), Some("x")).unwrap();
    pare_oci::copy(&ok, Box::new(sink), &pare_oci::PlatformChoice::All, &pare_oci::Quiet).unwrap();
}

/// A source with no blobs: enough to parse manifests handed over as bytes.
struct NoBlobs;

impl pare_oci::Source for NoBlobs {
    fn location(&self) -> String {
        "test".into()
    }
    fn root(&self) -> pare_oci::Result<pare_oci::Descriptor> {
        Err(Error::Unsupported("no root".into()))
    }
    fn open_raw(&self, desc: &pare_oci::Descriptor) -> pare_oci::Result<Box<dyn std::io::Read + Send>> {
        Err(Error::BlobNotFound { digest: desc.digest().clone(), location: "test".into() })
    }
}

#[test]
fn malformed_manifests_say_what_is_wrong() {
    let config = r#"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0}"#;
    let cases = [
        (format!(r#"{{"schemaVersion":2,"config":{config},"layers":[]}}"#), None),
        (format!(r#"{{"schemaVersion":1,"config":{config},"layers":[]}}"#), Some("schemaVersion is 1")),
        (format!(r#"{{"config":{config},"layers":[]}}"#), Some("schemaVersion is missing")),
        (format!(r#"{{"schemaVersion":2,"config":{config}}}"#), Some("layers")),
        (
            format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{config},"layers":[]}}"#
            ),
            Some("mediaType"),
        ),
        ("not json".to_string(), Some("invalid JSON")),
    ];
    for (body, expected) in cases {
        let desc = pare_oci::Descriptor::new(
            pare_oci::media_types::OCI_MANIFEST.into(),
            body.len() as u64,
            pare_oci::sha256(body.as_bytes()),
        );
        let parsed = pare_oci::Image::from_bytes(std::sync::Arc::new(NoBlobs), desc, body.clone().into_bytes());
        match (parsed, expected) {
            (Ok(_), None) => {}
            (Err(e), Some(text)) => {
                assert!(matches!(e, Error::Malformed { .. }), "{body}: {e}");
                assert!(e.to_string().contains(text), "{body}: {e}");
            }
            (Ok(_), Some(text)) => panic!("{body} parsed, expected an error about {text}"),
            (Err(e), None) => panic!("{body}: {e}"),
        }
    }
}

/// A one-layer image whose file holds `content`.
fn image_with(content: &str) -> pare_oci::Root {
    let mut asm = Assembler::new().unwrap();
    let layer = asm
        .add_layer(
            vec![LayerEntry::file("f", 0o644, content)],
            &LayerOptions { mtime: 0, compression: Compression::Gzip, level: None },
        )
        .unwrap();
    let spec = ImageSpec {
        platform: Platform::host(),
        runtime: RuntimeConfig::default(),
        created: 0,
        annotations: BTreeMap::new(),
    };
    let top = asm.add_image(&spec, &[layer]).unwrap();
    asm.finish(&top).unwrap().open().unwrap()
}

#[test]
fn concurrent_writers_to_one_layout_keep_every_image() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    // An entry that was there before stays too.
    let first = image_with("first");
    let sink = pare_oci::LayoutSink::create(&layout, Some("first")).unwrap();
    pare_oci::copy(&first, Box::new(sink), &pare_oci::PlatformChoice::All, &pare_oci::Quiet).unwrap();

    const WRITERS: usize = 6;
    let roots: Vec<pare_oci::Root> = (0..WRITERS).map(|i| image_with(&format!("image {i}"))).collect();
    // Every writer opens the layout (reading its index) before any of them finishes.
    let opened = std::sync::Barrier::new(WRITERS);
    std::thread::scope(|scope| {
        for (i, root) in roots.iter().enumerate() {
            let (layout, opened) = (&layout, &opened);
            scope.spawn(move || {
                let sink = pare_oci::LayoutSink::create(layout, Some(&format!("w{i}"))).unwrap();
                opened.wait();
                pare_oci::copy(root, Box::new(sink), &pare_oci::PlatformChoice::All, &pare_oci::Quiet).unwrap();
            });
        }
    });

    let index = pare_oci::read_index(&layout).unwrap();
    assert_eq!(index.manifests().len(), WRITERS + 1, "{:?}", index.manifests());
    for (name, root) in std::iter::once(("first".to_string(), &first))
        .chain(roots.iter().enumerate().map(|(i, r)| (format!("w{i}"), r)))
    {
        let source = std::sync::Arc::new(pare_oci::LayoutSource::new(&layout, Some(&name)));
        let read = pare_oci::Root::open(source).unwrap();
        assert_eq!(read.descriptor().digest(), root.descriptor().digest(), "{name}");
        let image = read.image(None).unwrap();
        for layer in image.manifest().layers() {
            std::io::copy(&mut image.source().fetch(layer).unwrap(), &mut std::io::sink()).unwrap();
        }
    }
}
