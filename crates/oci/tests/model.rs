//! The image model on assembled images: nesting limits and platform choice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use pare_oci::{Assembler, Compression, Error, ImageSpec, LayerEntry, LayerOptions, Platform, RuntimeConfig};

fn nested(depth: usize) -> pare_oci::Root {
    let mut asm = Assembler::new().unwrap();
    let layer = asm
        .add_layer(vec![LayerEntry::file("f", 0o644, "x")], &LayerOptions { mtime: 0, compression: Compression::Gzip })
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
