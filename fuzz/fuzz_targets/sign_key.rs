//! Bytes → pare-sign's key readers: private key PEM (cosign's encrypted JSON, PKCS#8, SEC1) and
//! public key PEM/DER. The first byte picks whether a password is given (decrypting runs scrypt,
//! N ≥ 32768: slow by design). Errors are fine; any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pare_sign::{PublicKey, SigningKey};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let password: Option<&[u8]> = (selector & 1 == 1).then_some(b"hello");
    if let Ok(key) = SigningKey::from_pem(rest, password) {
        let public = key.public_key();
        let signature = key.sign(b"message");
        public.verify(b"message", &signature).expect("a key verifies its own signature");
        let _ = PublicKey::from_pem(public.to_pem().as_bytes()).expect("a written public key reads back");
    }
    let _ = SigningKey::from_pkcs8_der(rest);
    let _ = SigningKey::from_sec1_der(rest);
    if let Ok(public) = PublicKey::from_pem(rest) {
        let _ = public.verify(b"message", rest);
        let _ = public.hint();
    }
    let _ = PublicKey::from_der(rest);
});
