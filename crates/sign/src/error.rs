/// Everything that can go wrong while reading keys, signing and verifying.
///
/// Verification failures are distinct variants so a caller can print the precise reason
/// (`pare verify` prints the `Display` of the error as the reason).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // Keys.
    #[error("Not a PEM key file: {reason}")]
    Pem { reason: String },
    #[error("Unsupported PEM type `{label}`")]
    UnsupportedPemType { label: String },
    #[error("Unsupported key type: {reason}")]
    UnsupportedKeyType { reason: String },
    #[error("Malformed key: {reason}")]
    MalformedKey { reason: String },
    #[error("Malformed encrypted key: {reason}")]
    MalformedEncryptedKey { reason: String },
    #[error("Unsupported key derivation in the encrypted key: {reason}")]
    UnsupportedKdf { reason: String },
    #[error("The key is encrypted and no password was given")]
    PasswordRequired,
    #[error("Wrong password for the encrypted key")]
    WrongPassword,

    // Signatures and envelopes.
    #[error("The signature does not match: {reason}")]
    SignatureMismatch { reason: String },
    #[error("Not signed by the given key: {reason}")]
    NoMatchingKey { reason: String },
    #[error("The signature is for another artifact: {reason}")]
    SubjectMismatch { reason: String },
    #[error("Malformed DSSE envelope: {reason}")]
    MalformedEnvelope { reason: String },
    #[error("Malformed in-toto statement: {reason}")]
    MalformedStatement { reason: String },

    // Bundles.
    #[error("Malformed bundle: `{field}`: {reason}")]
    MalformedBundle { field: String, reason: String },
    #[error("Bundle is too large: {size} bytes, the limit is {limit}")]
    BundleTooLarge { size: usize, limit: usize },
    #[error("Unknown bundle media type `{media_type}`")]
    UnknownMediaType { media_type: String },
    #[error("The bundle holds {found}, but {expected} was asked for")]
    WrongVerificationMaterial { expected: String, found: String },

    // Keyless verification.
    #[error("Invalid trusted root: {reason}")]
    TrustedRootInvalid { reason: String },
    #[error("Certificate identity mismatch: expected `{expected}`, found `{found}`")]
    CertificateIdentityMismatch { expected: String, found: String },
    #[error("Certificate issuer mismatch: expected `{expected}`, found `{found}`")]
    CertificateIssuerMismatch { expected: String, found: String },
    #[error("Invalid signing certificate: {reason}")]
    CertificateInvalid { reason: String },
    #[error("Invalid signed certificate timestamp (SCT): {reason}")]
    SctInvalid { reason: String },
    #[error("Invalid transparency log inclusion proof: {reason}")]
    InclusionProofInvalid { reason: String },
    #[error("Invalid transparency log checkpoint: {reason}")]
    CheckpointInvalid { reason: String },
    #[error("Invalid signed entry timestamp (SET): {reason}")]
    SetInvalid { reason: String },
    #[error("The transparency log entry does not match the bundle: {reason}")]
    LogEntryMismatch { reason: String },
    #[error("Unknown transparency log: {reason}")]
    UnknownLog { reason: String },
    #[error("Timestamp outside the validity period: {reason}")]
    TimestampOutsideValidity { reason: String },
    #[error("Invalid RFC 3161 timestamp: {reason}")]
    TimestampInvalid { reason: String },
    #[error("No verified timestamp: {reason}")]
    NoVerifiedTimestamp { reason: String },
    #[error("Verification failed: {reason}")]
    Verification { reason: String },

    // Images: storage, payloads, OpenPGP simple signing.
    #[error(transparent)]
    Oci(#[from] pare_oci::Error),
    #[error("I/O error on `{}`", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Malformed signature payload: {reason}")]
    MalformedPayload { reason: String },
    #[error("Signing with the OpenPGP key `{key}` failed: {reason}")]
    Gpg { key: String, reason: String },
    #[error("{0}")]
    InvalidInput(String),
    #[error(transparent)]
    Deb(#[from] pare_deb::Error),
    /// Another error with a hint that only the place it was made knows.
    #[error("{error}")]
    Hinted {
        #[source]
        error: Box<Error>,
        hint: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}

impl Error {
    /// What to do about it, when there is something: the CLI prints it after the error.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::WrongVerificationMaterial { expected, .. } if expected.contains("public key") => {
                Some("verify a keyless bundle with --certificate-identity and --certificate-oidc-issuer".into())
            }
            Error::WrongVerificationMaterial { .. } => Some("verify a key-based bundle with --key PUB".into()),
            Error::CertificateIdentityMismatch { .. } | Error::CertificateIssuerMismatch { .. } => Some(
                "both must match the certificate exactly; check who signed before trusting the identity found".into(),
            ),
            Error::Hinted { hint, .. } => Some(hint.clone()),
            Error::Oci(e) => e.hint(),
            Error::Deb(e) => e.hint(),
            _ => None,
        }
    }

    /// This error with a hint (which replaces the variant's own).
    #[must_use]
    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        Error::Hinted { error: Box::new(self), hint: hint.into() }
    }

    /// A stable kebab-case code for the failure, for JSON output and scripts.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::Pem { .. } => "pem",
            Error::UnsupportedPemType { .. } => "unsupported-pem-type",
            Error::UnsupportedKeyType { .. } => "unsupported-key-type",
            Error::MalformedKey { .. } => "malformed-key",
            Error::MalformedEncryptedKey { .. } => "malformed-encrypted-key",
            Error::UnsupportedKdf { .. } => "unsupported-kdf",
            Error::PasswordRequired => "password-required",
            Error::WrongPassword => "wrong-password",
            Error::SignatureMismatch { .. } => "signature-mismatch",
            Error::NoMatchingKey { .. } => "no-matching-key",
            Error::SubjectMismatch { .. } => "subject-mismatch",
            Error::MalformedEnvelope { .. } => "malformed-envelope",
            Error::MalformedStatement { .. } => "malformed-statement",
            Error::MalformedBundle { .. } => "malformed-bundle",
            Error::BundleTooLarge { .. } => "bundle-too-large",
            Error::UnknownMediaType { .. } => "unknown-media-type",
            Error::WrongVerificationMaterial { .. } => "wrong-verification-material",
            Error::TrustedRootInvalid { .. } => "trusted-root-invalid",
            Error::CertificateIdentityMismatch { .. } => "certificate-identity-mismatch",
            Error::CertificateIssuerMismatch { .. } => "certificate-issuer-mismatch",
            Error::CertificateInvalid { .. } => "certificate-invalid",
            Error::SctInvalid { .. } => "sct-invalid",
            Error::InclusionProofInvalid { .. } => "inclusion-proof-invalid",
            Error::CheckpointInvalid { .. } => "checkpoint-invalid",
            Error::SetInvalid { .. } => "set-invalid",
            Error::LogEntryMismatch { .. } => "log-entry-mismatch",
            Error::UnknownLog { .. } => "unknown-log",
            Error::TimestampOutsideValidity { .. } => "timestamp-outside-validity",
            Error::TimestampInvalid { .. } => "timestamp-invalid",
            Error::NoVerifiedTimestamp { .. } => "no-verified-timestamp",
            Error::Verification { .. } => "verification",
            Error::Oci(_) => "image",
            Error::Io { .. } => "io",
            Error::MalformedPayload { .. } => "malformed-payload",
            Error::Gpg { .. } => "gpg",
            Error::InvalidInput(_) => "invalid-input",
            Error::Deb(_) => "openpgp",
            Error::Hinted { error, .. } => error.code(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
