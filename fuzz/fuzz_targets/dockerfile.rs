//! `pare audit`'s library on any bytes: `pare_policy::dockerfile::audit` either refuses them with an
//! error or answers with findings located inside the file; the suggestion and the final base never
//! panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(audit) = pare_policy::dockerfile::audit("Dockerfile", data) else { return };
    let lines = data.split(|b| *b == b'\n').count();
    for failure in &audit.verdict.failures {
        let location = failure.location.expect("every audit finding has a location");
        assert!(location.line >= 1 && location.line <= lines, "line {} of {lines}", location.line);
        assert!(location.column >= 1);
        assert!(pare_policy::dockerfile::code(&failure.rule).is_some(), "{}", failure.rule);
    }
    let _ = audit.final_base();
    if let Some(s) = &audit.suggestion {
        assert!(s.dockerfile.contains("USER 65532:65532"));
    }
});
