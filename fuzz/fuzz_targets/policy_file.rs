//! Text → the policy file parser (`pare policy check --policy`, admission): a policy is read from
//! a file the user or a ConfigMap gives. Any panic is a bug; every error names a line and column.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match pare_policy::Policy::parse(text, "fuzz.toml", std::path::Path::new("/nonexistent-fuzz-dir")) {
        Ok(policy) => assert!(policy.digest.starts_with("sha256:")),
        Err(e) => assert!(e.to_string().starts_with("fuzz.toml:")),
    }
});
