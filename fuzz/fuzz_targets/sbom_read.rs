//! Bytes → `pare_sbom::read` (SPDX JSON, SPDX tag-value, CycloneDX JSON): any panic is a bug.
//! What is read must write back out in every format without error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pare_sbom::{OutputFormat, read, write};

fuzz_target!(|data: &[u8]| {
    if let Ok(sbom) = read(data, "fuzz") {
        for format in [OutputFormat::SpdxJson, OutputFormat::CycloneDxJson, OutputFormat::Table] {
            let _ = write(&sbom.inventory, format);
        }
        let _ = sbom.format.to_string();
    }
});
