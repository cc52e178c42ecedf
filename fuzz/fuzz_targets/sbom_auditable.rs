//! Bytes → pare-sbom's `fuzzing::auditable` (see that function's doc). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pare_sbom::fuzzing::auditable(data);
});
