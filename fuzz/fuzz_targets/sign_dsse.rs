//! Bytes → a DSSE envelope (JSON) verified with a fixed key, and its payload as an in-toto
//! statement; the bytes as a statement too. Errors are fine; any panic is a bug.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pare_sign::{Envelope, PublicKey, SigningKey, Statement, pae};

fn key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_p256().public_key())
}

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::from_json(data) {
        let _ = envelope.verify(key());
        let _ = pae(&envelope.payload_type, &envelope.payload);
        let again = Envelope::from_json(&envelope.to_json()).expect("a parsed envelope reparses");
        assert_eq!(again, envelope);
        if let Ok(statement) = Statement::parse(&envelope.payload) {
            let _ = statement.has_sha256(&[0; 32]);
        }
    }
    if let Ok(statement) = Statement::parse(data) {
        let _ = Statement::parse(&statement.to_json()).expect("a parsed statement reparses");
    }
});
