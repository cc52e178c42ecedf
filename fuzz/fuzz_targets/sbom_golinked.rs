#![no_main]
//! Go pclntab reader (function names and source files of a Go binary) and npm lockfiles.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pare_sbom::fuzzing::go_linked(data);
    pare_sbom::fuzzing::npm_lockfile(data);
});
