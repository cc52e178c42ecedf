//! Bytes → a simple-signing payload (the JSON cosign's legacy signatures and containers/image
//! OpenPGP signatures sign): what parses writes back to bytes that parse to the same claims.
//! Errors are fine; any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pare_sign::simple_signing::Payload;

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = Payload::parse(data) {
        let again = Payload::parse(&payload.to_bytes()).expect("a parsed payload reparses");
        assert_eq!(again, payload);
        let _ = payload.annotations();
    }
});
