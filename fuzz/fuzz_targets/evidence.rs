//! Bytes → `pare verify-evidence` (an evidence document an auditor was handed). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(checked) = pare_policy::evidence::verify(data, None) {
        let _ = checked.problems.len();
    }
});
