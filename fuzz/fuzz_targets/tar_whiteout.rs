//! Bytes → 1 to 3 tar layers (split at `--LAYER--`) → the merged filesystem view, then every
//! query and read on it. Any panic is a bug; errors are fine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pare_oci::fs::{FsView, Limits};

const SEPARATOR: &[u8] = b"--LAYER--";

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut layers = Vec::new();
    let mut rest = data;
    while layers.len() < 2 {
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(at) => {
                layers.push(&rest[..at]);
                rest = &rest[at + SEPARATOR.len()..];
            }
            None => break,
        }
    }
    layers.push(rest);
    layers
}

fuzz_target!(|data: &[u8]| {
    let layers = split(data);
    let limits = Limits { max_total_size: 4 << 20, max_entries: 20_000, max_file_size: 1 << 20 };
    let labeled = layers.iter().enumerate().map(|(i, layer)| (format!("layer{i}"), *layer));
    let Ok(view) = FsView::from_layers(labeled, &limits) else { return };
    let open = |i: usize| Ok(layers[i]);
    for entry in view.entries().take(200) {
        let _ = view.get(&entry.path);
        let _ = view.resolve(&entry.path);
        let _ = view.resolve_parent(&entry.path);
        let _ = view.children(&entry.path).count();
        if let Some(target) = &entry.link_target {
            let _ = view.resolve(target);
        }
        if entry.is_file() {
            let read = view.read_with(&entry.path, open);
            if let Ok(bytes) = read {
                assert_eq!(bytes.len() as u64, entry.size);
            }
        }
    }
    let _ = view.for_each_file_with(
        open,
        |_| true,
        |entry, content| {
            let n = std::io::copy(content, &mut std::io::sink())
                .map_err(|e| pare_oci::Error::Stream { context: "fuzz".into(), source: e })?;
            assert_eq!(n, entry.size);
            Ok::<(), pare_oci::Error>(())
        },
    );
});
