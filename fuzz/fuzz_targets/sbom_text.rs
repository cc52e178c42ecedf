//! Bytes → pare-sbom's `fuzzing::text` (see that function's doc). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pare_sbom::fuzzing::text(data);
});
