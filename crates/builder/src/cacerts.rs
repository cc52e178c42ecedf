//! The Java trust store `/etc/ssl/certs/java/cacerts`, which Debian's ca-certificates-java makes
//! in a maintainer script by running Java: here it is written from the image's CA certificates.
//!
//! The store is PKCS#12 (JDK 9+ reads it; JDK 17 is Debian's) holding one certificate bag per CA,
//! each with a `friendlyName` (the alias, `debian:NAME.pem` as ca-certificates-java names them) and
//! Oracle's trusted-key-usage attribute (OID 2.16.840.1.113894.746875.1.1 = anyExtendedKeyUsage),
//! which is what makes the JDK load a bag as a `trustedCertEntry`. Neither encryption nor MAC: the
//! JDK writes such stores itself with `keystore.pkcs12.certProtectionAlgorithm=NONE` and
//! `keystore.pkcs12.macAlgorithm=NONE` and loads them with any password (`changeit` included). A MAC
//! keyed with the well-known `changeit` protects nothing, and leaving out the random salts keeps the
//! bytes, and so the image digest, the same on every build.
//!
//! The ASN.1 is encoded with `der` (RustCrypto): p12-keystore, the PKCS#12 crate, always encrypts
//! with random salts and cannot write a reproducible store.

use der::asn1::{Any, BmpString, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence, Tagged, ValueOrd};

use crate::Error;

/// Where the JRE looks (`/usr/lib/jvm/*/lib/security/cacerts` links here).
pub const JAVA_CACERTS: &str = "etc/ssl/certs/java/cacerts";

const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const ORACLE_TRUSTED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.113894.746875.1.1");
const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// RFC 7292 `PFX`, without `macData`.
#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: ContentInfo,
}

/// RFC 5652 `ContentInfo` of type `data`.
#[derive(Sequence)]
struct ContentInfo {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: OctetString,
}

#[derive(Sequence)]
struct SafeBag {
    bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bag_value: CertBag,
    bag_attributes: SetOfVec<Attribute>,
}

#[derive(Sequence)]
struct CertBag {
    cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    cert_value: OctetString,
}

#[derive(Clone, Sequence, ValueOrd)]
struct Attribute {
    oid: ObjectIdentifier,
    values: SetOfVec<Any>,
}

/// One CA certificate: its alias in the store and its DER bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedCert {
    pub alias: String,
    pub der: Vec<u8>,
}

/// The certificates of a PEM file (those that are DER SEQUENCEs), aliased
/// `debian:STEM.pem` (then `debian:STEM-2.pem`, ... for further certificates in the file).
/// What is not a certificate is returned as a warning.
pub fn certs_from_pem(stem: &str, pem: &[u8]) -> (Vec<TrustedCert>, Vec<String>) {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let base = stem.to_lowercase();
    let (mut certs, mut warnings) = (Vec::new(), Vec::new());
    for item in CertificateDer::pem_slice_iter(pem) {
        let alias = if certs.is_empty() {
            format!("debian:{base}.pem")
        } else {
            format!("debian:{base}-{}.pem", certs.len() + 1)
        };
        match item {
            // The JDK refuses the whole store when one entry does not parse: check the outer SEQUENCE.
            Ok(der) if Any::from_der(der.as_ref()).is_ok_and(|a| a.tag() == der::Tag::Sequence) => {
                certs.push(TrustedCert { alias, der: der.as_ref().to_vec() });
            }
            Ok(_) => {
                warnings.push(format!("`{stem}`: a CERTIFICATE block that is not DER: left out of {JAVA_CACERTS}"))
            }
            Err(e) => {
                warnings.push(format!("`{stem}`: unreadable PEM ({e:?}): left out of {JAVA_CACERTS}"));
                break;
            }
        }
    }
    (certs, warnings)
}

/// The PKCS#12 trust store holding `certs` in this order (aliases made unique).
pub fn trust_store(certs: &[TrustedCert]) -> Result<Vec<u8>, Error> {
    let mut bags = Vec::with_capacity(certs.len());
    let mut seen = std::collections::BTreeSet::new();
    for cert in certs {
        let mut alias = cert.alias.clone();
        let mut n = 1;
        while !seen.insert(alias.clone()) {
            n += 1;
            alias = format!("{}#{n}", cert.alias);
        }
        let fail = |source| Error::Cacerts { alias: alias.clone(), source };
        let name =
            Any::from_der(&BmpString::from_utf8(&alias).and_then(|b| b.to_der()).map_err(fail)?).map_err(fail)?;
        let usage = Any::from_der(&ANY_EXTENDED_KEY_USAGE.to_der().map_err(fail)?).map_err(fail)?;
        let mut attributes = SetOfVec::new();
        for (oid, value) in [(FRIENDLY_NAME, name), (ORACLE_TRUSTED_KEY_USAGE, usage)] {
            let values = SetOfVec::try_from(vec![value]).map_err(fail)?;
            attributes.insert(Attribute { oid, values }).map_err(fail)?;
        }
        let cert_value = OctetString::new(cert.der.clone()).map_err(fail)?;
        bags.push(SafeBag {
            bag_id: CERT_BAG,
            bag_value: CertBag { cert_id: X509_CERTIFICATE, cert_value },
            bag_attributes: attributes,
        });
    }
    let store = |source| Error::Cacerts { alias: "(the store)".into(), source };
    let safe_contents = bags.to_der().map_err(store)?;
    let auth_safe = vec![ContentInfo { content_type: DATA, content: OctetString::new(safe_contents).map_err(store)? }];
    let pfx = Pfx {
        version: 3,
        auth_safe: ContentInfo {
            content_type: DATA,
            content: OctetString::new(auth_safe.to_der().map_err(store)?).map_err(store)?,
        },
    };
    pfx.to_der().map_err(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";

    #[test]
    fn aliases_and_non_der_blocks() {
        let two = format!("{PEM}junk\n{PEM}-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n");
        let (certs, warnings) = certs_from_pem("My_CA", two.as_bytes());
        let aliases: Vec<&str> = certs.iter().map(|c| c.alias.as_str()).collect();
        assert_eq!(aliases, ["debian:my_ca.pem", "debian:my_ca-2.pem"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn same_input_same_bytes_and_unique_aliases() {
        let (certs, _) = certs_from_pem("a", PEM.as_bytes());
        let twice = [certs[0].clone(), certs[0].clone()];
        let a = trust_store(&twice).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, trust_store(&twice).unwrap_or_else(|e| panic!("{e}")));
        // The second alias is made unique: `debian:a.pem#2` in UTF-16.
        let utf16: Vec<u8> = "#2".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert!(a.windows(utf16.len()).any(|w| w == utf16));
    }
}
