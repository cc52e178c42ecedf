//! Bytes → tar layers → the merged view → unpack into a temporary directory. Nothing may appear
//! outside that directory, whatever the layers hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pare_oci::fs::{FsView, Limits, UnpackOptions};

const SEPARATOR: &[u8] = b"--LAYER--";

fuzz_target!(|data: &[u8]| {
    let layers: Vec<&[u8]> = {
        let mut out = Vec::new();
        let mut rest = data;
        while out.len() < 2 {
            let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) else { break };
            out.push(&rest[..at]);
            rest = &rest[at + SEPARATOR.len()..];
        }
        out.push(rest);
        out
    };
    let limits = Limits { max_total_size: 4 << 20, max_entries: 2_000, max_file_size: 1 << 20 };
    let labeled = layers.iter().enumerate().map(|(i, layer)| (format!("layer{i}"), *layer));
    let Ok(view) = FsView::from_layers(labeled, &limits) else { return };
    let Ok(base) = tempfile::tempdir() else { return };
    let out = base.path().join("out");
    let options = UnpackOptions { limits, preserve_owner: Some(false), ..UnpackOptions::default() };
    let _ = view.unpack(|i| Ok(layers[i]), &out, &options);
    let names: Vec<_> = std::fs::read_dir(base.path()).into_iter().flatten().flatten().map(|e| e.file_name()).collect();
    assert!(names.iter().all(|n| n == "out"), "written outside the target: {names:?}");
});
