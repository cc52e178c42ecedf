//! Command-line arguments. Every flag's help lives here, once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pare_vuln::Severity;

const ABOUT: &str = "Minimal, reproducible container images from Debian, with SBOMs, scans, signatures and policy";

const LONG_ABOUT: &str = "\
pare builds minimal OCI images straight from Debian's signed archive, describes what ships in any
image (SPDX, CycloneDX), scans it against the Debian security tracker and OSV with VEX triage, checks
that its binaries load, signs and verifies it as cosign and the containers tools do, checks it against
a policy (in CI, at build time, at Kubernetes admission), audits Dockerfiles, and moves images between
registries, layout directories and archives.

IMAGE LOCATIONS
    Wherever a command takes an image (SRC or DST) it accepts, as skopeo does:
      oci:DIR[:NAME]                 an OCI image layout directory (NAME: an entry of index.json)
      oci-archive:FILE[:NAME]        an OCI layout packed in a tar file
      docker-archive:FILE[:REF]      the `docker save` / `docker load` format (REF: REPO:TAG or @N)
      dir:PATH                       a directory, read as a one-layer image (source only)
      [docker://]REGISTRY/REPO[:TAG][@DIGEST]
                                     a registry; `alpine` means docker.io/library/alpine:latest
    A SRC without a transport that exists as a path is read by its content (a directory, an OCI
    layout, an OCI or Docker archive, an SBOM file), never as a registry reference.

EXIT STATUS
    0   success
    1   a check said no (a gate, a policy)
    2   anything else went wrong: bad input, network, I/O

ENVIRONMENT
    PARE_CACHE_DIR      blob cache (default: $XDG_CACHE_HOME/pare or ~/.cache/pare)
    REGISTRY_AUTH_FILE  registry credentials (containers-auth.json); ~/.docker/config.json too
    PARE_REGISTRY_STALL_TIMEOUT
                        seconds after which a registry download that moved less than 1 KiB has
                        stalled (default 30; same as --stall-timeout)
    SOURCE_DATE_EPOCH   timestamp for everything pare writes, for reproducible output
    NO_COLOR            no colours in log lines (they are coloured only on a terminal anyway)";

#[derive(Parser, Debug)]
#[command(name = "pare", version, about = ABOUT, long_about = LONG_ABOUT, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Print only results and errors: no progress, no warnings
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what happens (repeat for debug output)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Talk plain HTTP or unverified TLS to registries (always allowed for localhost)
    #[arg(long, global = true)]
    pub insecure: bool,
    /// A registry download that moves less than 1 KiB in this many seconds has stalled: it is
    /// resumed where it stopped, a few times, then fails
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "PARE_REGISTRY_STALL_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub stall_timeout: u64,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Human-readable tables
    #[default]
    Table,
    /// JSON with the same fields, for scripts
    Json,
}

/// SBOM output formats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SbomFormat {
    /// A human-readable table
    #[default]
    Table,
    /// pare's own JSON inventory
    Json,
    /// SPDX 2.3 JSON
    SpdxJson,
    /// CycloneDX 1.6 JSON
    CyclonedxJson,
    /// CycloneDX 1.5 JSON
    #[value(name = "cyclonedx-1.5-json")]
    Cyclonedx15Json,
}

#[derive(Args, Debug, Clone)]
pub struct FormatArg {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug, Clone)]
pub struct PlatformArg {
    /// Platform to pick from a multi-platform image, as OS/ARCH[/VARIANT] (default: this machine's)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Largest total uncompressed size to read or extract, in bytes (stops decompression bombs)
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 30)]
    pub max_size: u64,
    /// Largest number of filesystem entries to read or extract
    #[arg(long, value_name = "N", default_value_t = 2_000_000)]
    pub max_entries: u64,
    /// Largest single file to read or extract, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 30)]
    pub max_file_size: u64,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Download an image from a registry into a layout directory or an archive
    #[command(long_about = "Download an image from a registry into a layout directory or an archive.\n\n\
Blobs are verified against their digests as they stream and kept in the local cache, so a second pull \
of the same layers does not download them again.\n\nExample:\n    pare pull debian:bookworm --to oci:./debian:bookworm")]
    Pull {
        /// Registry reference, such as `127.0.0.1:5000/app:1.0` or `debian:bookworm`
        reference: String,
        /// Destination: oci:DIR[:NAME], oci-archive:FILE[:NAME] or docker-archive:FILE[:REF]
        #[arg(long, value_name = "DST")]
        to: String,
        /// Without --platform, every platform of a multi-platform image is copied (a Docker archive
        /// holds one image: this machine's platform)
        #[command(flatten)]
        platform: PlatformArg,
        /// Largest total uncompressed size of the layers written to a docker-archive: destination,
        /// in bytes (its layers are stored uncompressed; stops decompression bombs)
        #[arg(long, value_name = "BYTES", default_value_t = pare_oci::DOCKER_ARCHIVE_MAX_SIZE)]
        max_size: u64,
    },
    /// Upload an image to a registry
    #[command(long_about = "Upload an image to a registry.\n\nBlobs the registry already has are skipped.\n\n\
Example:\n    pare push oci:./out:app 127.0.0.1:5000/app:1.0")]
    Push {
        /// Image to upload (any location)
        src: String,
        /// Registry reference to push to
        reference: String,
        #[command(flatten)]
        platform: PlatformArg,
    },
    /// Copy an image between any two locations
    #[command(long_about = "Copy an image between any two locations, keeping manifests byte for byte \
(and so their digests) unless a single platform is picked out of an index.\n\n\
With --referrers, the referrers of every manifest copied (SBOMs, signatures, attestations attached \
as OCI 1.1 artifacts) are carried too, and their referrers, 4 levels deep: between oci:DIR layouts \
(listed in index.json) and registries (referrers API, or the `sha256-<hex>` fallback tag); and so \
are cosign's tag-attached signatures, attestations and SBOMs (`sha256-<hex>.sig`, `.att`, `.sbom`), \
as `cosign copy` does: a signed image copied with --referrers still verifies at the destination \
(`pare verify`). Archives cannot hold referrers: --referrers with one is an error.\n\n\
Examples:\n    pare copy oci:./out:app docker-archive:app.tar:app:1.0\n    pare copy docker-archive:app.tar 127.0.0.1:5000/app:1.0\n    \
pare copy --referrers 127.0.0.1:5000/app:1.0 oci:./mirror:app")]
    Copy {
        /// Source image
        src: String,
        /// Destination
        dst: String,
        #[command(flatten)]
        platform: PlatformArg,
        /// Largest total uncompressed size of the layers written to a docker-archive: destination,
        /// in bytes (its layers are stored uncompressed; stops decompression bombs)
        #[arg(long, value_name = "BYTES", default_value_t = pare_oci::DOCKER_ARCHIVE_MAX_SIZE)]
        max_size: u64,
        /// Also copy the image's referrers (SBOMs, signature bundles, attestations), recursively,
        /// and cosign's `sha256-<hex>.sig`/`.att`/`.sbom` tags
        #[arg(long, visible_alias = "signatures")]
        referrers: bool,
    },
    /// Show an image's platforms, digests, layers and configuration
    #[command(long_about = "Show an image's platforms, manifest and config digests, layers with sizes, \
creation time, user, entrypoint, environment, labels and history.\n\nExample:\n    pare inspect oci:./out:app --format json")]
    Inspect {
        /// Image to inspect
        src: String,
        #[command(flatten)]
        platform: PlatformArg,
        /// Show every image of a multi-platform index
        #[arg(long, conflicts_with = "platform")]
        all_platforms: bool,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List files of an image's merged filesystem
    #[command(long_about = "List the files of an image's merged filesystem (all layers applied, whiteouts \
honoured), read straight from the layer blobs without extracting them.\n\nExample:\n    pare ls oci:./out:app /etc")]
    Ls {
        /// Image
        src: String,
        /// Directory or file to list (default: the whole filesystem)
        path: Option<String>,
        /// List only the directory's direct children
        #[arg(long, short = 'd')]
        shallow: bool,
        #[command(flatten)]
        platform: PlatformArg,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print a file of an image to standard output
    #[command(long_about = "Print a file of an image's merged filesystem to standard output, following \
symbolic links inside the image.\n\nExample:\n    pare cat oci:./out:app /etc/os-release")]
    Cat {
        /// Image
        src: String,
        /// Absolute path inside the image
        path: String,
        #[command(flatten)]
        platform: PlatformArg,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Extract an image's merged filesystem into a directory, safely
    #[command(long_about = "Extract an image's merged filesystem into a directory.\n\n\
Entries that would land outside DIR (`..`, links pointing outside, paths through symbolic links) \
are refused, symbolic links are never followed while writing, and the total size, the number of \
entries and the size of each file are capped against decompression bombs. Ownership is applied only \
when running as root; device nodes are created only with --allow-devices and setuid/setgid bits kept \
only with --keep-setid.\n\n\
Example:\n    pare unpack oci:./out:app ./rootfs")]
    Unpack {
        /// Image
        src: String,
        /// Directory to create (must be empty or absent)
        dir: PathBuf,
        #[command(flatten)]
        platform: PlatformArg,
        #[command(flatten)]
        limits: LimitArgs,
        /// Create character and block devices the image holds (as root); by default they are
        /// skipped with a warning, as a rootless runtime would
        #[arg(long)]
        allow_devices: bool,
        /// Keep setuid and setgid bits of files; by default they are dropped with a warning
        #[arg(long)]
        keep_setid: bool,
    },
    /// Check that an image's binaries would load: interpreter, libraries, symbol versions
    #[command(long_about = "Check, without running anything, what the dynamic loader checks before `main`: \
for each ELF executable and shared object of the image (or each PATH), its interpreter (PT_INTERP) is in the \
image, every DT_NEEDED library resolves by the loader's search order (RPATH, LD_LIBRARY_PATH from the image's \
environment, RUNPATH with $ORIGIN, ld.so.conf when the image has a loader cache, /lib/TRIPLET, /usr/lib/TRIPLET, \
/lib, /usr/lib), recursively, and every symbol version a loaded object needs (GLIBC_2.34, GLIBCXX_3.4.30) is \
defined by the library that provides it. Static binaries pass.\n\nExit status: 0 when everything checked \
loads, 1 when something would not (each problem is printed), 2 on errors.\n\nExamples:\n    \
pare ldd oci:./out:app /app/server\n    pare ldd gallery-built-image:tag --format json")]
    Ldd {
        /// Image
        src: String,
        /// Files to check, absolute paths in the image (default: every ELF executable and shared object)
        paths: Vec<String>,
        /// Also list, for each file, every library and where it resolved
        #[arg(long, short = 'l')]
        libraries: bool,
        #[command(flatten)]
        platform: PlatformArg,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Build an image from a definition (a TOML file or gallery:NAME)
    #[command(long_about = "Build a minimal image from Debian packages, as a definition says, without running \
maintainer scripts. With DEF.lock present (see `pare lock`) the exact locked packages are used and \
the build is reproducible: the same digest on every run, timestamps from SOURCE_DATE_EPOCH or else \
the lock's newest Release date. Without a lock the archive is resolved afresh.\n\n\
SBOM: every platform image is cataloged as `pare sbom` does, checked against the lock, and each \
Debian package gets its .deb's SHA-256 and URL from the lock. The SBOM is attached to each platform \
image pushed to a registry as an OCI 1.1 referrer (an artifact manifest with `subject`: the referrers \
API, or the `sha256-<hex>` fallback tag), and, with `--attach-sbom`, inside an oci:DIR layout (listed \
in index.json). Archives cannot hold referrers. `--sbom FILE` writes it next to the image for any \
destination. `pare sbom IMAGE --attached` reads an attached one back; `--no-sbom` attaches nothing.\n\n\
SIGNING: `--sign --key K` signs each platform image (and the index of a multi-platform build) as \
`pare sign` does, and attests its SBOM and a SLSA v1 provenance (the definition's and the lock's \
SHA-256, every .deb's URL and SHA-256, pare's version, SOURCE_DATE_EPOCH) as `pare attest` does; \
`pare verify-attestation IMAGE --type slsaprovenance` checks it.\n\n\
Examples:\n    pare build gallery:static --to oci:./static\n    pare build app.toml --add target/release/app:/usr/local/bin/app --to 127.0.0.1:5000/app:1.0\n    \
pare build app.toml --to oci:./out:app --sbom app.spdx.json")]
    Build(BuildArgs),
    /// Resolve a definition and write DEF.lock (when it is missing or out of date)
    #[command(long_about = "Verify the archive's signed Release files, resolve every architecture of the definition \
and write DEF.lock next to it: each package with version, source, URL, SHA-256 and size, and the \
Release dates. An up-to-date lock is left alone (`pare update` always resolves again).\n\nExample:\n    pare lock app.toml")]
    Lock {
        /// Definition file
        definition: PathBuf,
    },
    /// Resolve a definition again and rewrite DEF.lock, printing what changed
    Update {
        /// Definition file
        definition: PathBuf,
    },
    /// Show the chain of dependencies that pulled a package into an image
    #[command(long_about = "Show why a package is in the image: the requested package and each relation that \
led to it. Reads DEF.lock when present, else resolves.\n\nExample:\n    pare why gallery:python3 libc6")]
    Why {
        /// Definition file or gallery:NAME
        definition: String,
        /// Package name
        package: String,
        /// Architecture (default: the definition's first)
        #[arg(long)]
        arch: Option<String>,
    },
    /// The built-in golden image definitions
    Gallery {
        #[command(subcommand)]
        command: GalleryCommand,
    },
    /// List packages the Debian archive has newer versions of, and the vulnerabilities updating fixes
    #[command(long_about = OUTDATED_ABOUT)]
    Outdated(OutdatedArgs),
    /// List the packages in an image, as SPDX, CycloneDX, JSON or a table
    #[command(long_about = "List the packages installed in an image (Debian's dpkg database, \
including distroless `status.d`), with source packages, architectures, owned files, licenses from \
machine-readable copyright files and package URLs, read in one pass over the layers without \
extracting them.\n\nThe output is deterministic: its timestamp is SOURCE_DATE_EPOCH or the \
image's creation time.\n\nExamples:\n    pare sbom oci:./out:app --format spdx-json --output app.spdx.json\n    \
pare sbom dir:./rootfs")]
    Sbom {
        /// Image (any location, or dir:PATH for a root filesystem), or an SBOM file to convert
        src: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = SbomFormat::Table)]
        format: SbomFormat,
        /// Write to FILE instead of standard output
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        platform: PlatformArg,
        #[command(flatten)]
        limits: LimitArgs,
        /// Print the SBOM attached to the image (by `pare build`) instead of cataloging it: read from
        /// an oci:DIR layout or a registry (referrers API or `sha256-<hex>` fallback tag), verified
        /// against its digest, and written in --format
        #[arg(long)]
        attached: bool,
    },
    /// Find known vulnerabilities in an image, a directory or an SBOM
    #[command(long_about = SCAN_ABOUT)]
    Scan(ScanArgs),
    /// Compare two images: packages and vulnerabilities gained and lost
    #[command(long_about = DIFF_ABOUT)]
    Diff(DiffArgs),
    /// Write a VEX (OpenVEX) statement for a triage decision
    #[command(long_about = VEX_ABOUT)]
    Vex(VexArgs),
    /// Audit a Dockerfile: full-OS and unpinned bases, root, build tools, `curl | sh`, secrets;
    /// the gallery base that fits
    #[command(long_about = AUDIT_ABOUT)]
    Audit(AuditArgs),
    /// Build or inspect the local vulnerability database
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Watch a fleet: store SBOMs, rescan them when the database changes, alert, serve an API
    #[command(long_about = MONITOR_ABOUT)]
    Monitor {
        #[command(subcommand)]
        command: MonitorCommand,
    },
    /// Make signing keys (as cosign does)
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Serve the Kubernetes admission webhook: pods and workloads checked against a policy
    Admission {
        #[command(subcommand)]
        command: AdmissionCommand,
    },
    /// Sign an image (cosign bundle and legacy signature, or an OpenPGP simple signature)
    #[command(long_about = SIGN_ABOUT)]
    Sign(SignArgs),
    /// Attest an image: sign a statement (SBOM, provenance, VEX, scan) about it
    #[command(long_about = ATTEST_ABOUT)]
    Attest(AttestArgs),
    /// Verify an image's signatures
    #[command(long_about = VERIFY_ABOUT)]
    Verify(VerifyArgs),
    /// Verify an image's attestations of one predicate type
    #[command(long_about = VERIFY_ATTESTATION_ABOUT)]
    VerifyAttestation(VerifyAttestationArgs),
    /// Sign a file with a key, writing a Sigstore bundle (as `cosign sign-blob --bundle`)
    #[command(long_about = SIGN_BLOB_ABOUT)]
    SignBlob(SignBlobArgs),
    /// Verify a file against a Sigstore bundle, by key or by keyless identity, offline
    #[command(long_about = VERIFY_BLOB_ABOUT)]
    VerifyBlob(VerifyBlobArgs),
    /// Check images against a policy file, or print a starter policy
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Gather an image's SBOM, signatures, attestations, scan and verdict into one JSON file
    #[command(long_about = EVIDENCE_ABOUT)]
    Evidence(EvidenceArgs),
    /// Check an evidence file offline: every blob against its digest, and the bundles with a key
    #[command(long_about = "Check a file `pare evidence` wrote, offline: the bytes of the manifest, the \
configuration and every referrer and signature blob against their digests, the manifest against the \
subject digest, and, with --key, every Sigstore bundle in it against the subject.\n\n\
Exit status: 0 everything matched, 1 something did not (listed), 2 errors.\n\n\
Example:\n    pare verify-evidence evidence.json --key cosign.pub")]
    VerifyEvidence {
        /// The evidence file
        file: PathBuf,
        /// Public key the bundles must verify with
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print a shell completion script (bash, zsh, fish)
    #[command(long_about = "Print the completion script for a shell, generated from the same definitions as \
`--help`.\n\nExamples:\n    pare completions bash > /etc/bash_completion.d/pare\n    \
pare completions zsh > \"${fpath[1]}/_pare\"\n    pare completions fish > ~/.config/fish/completions/pare.fish")]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page, or write one per verb into a directory
    #[command(long_about = "Print pare(1) as roff, generated from the same definitions as `--help`; with \
--dir, write pare.1 and pare-VERB.1 for every verb there.\n\nExamples:\n    pare man | man -l -\n    \
pare man --dir /usr/local/share/man/man1")]
    Man {
        /// Write pare.1 and pare-VERB.1 into DIR instead of printing pare.1
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdmissionCommand {
    /// Serve a validating admission webhook over HTTPS (`/validate`, `/healthz`, `/readyz`, `/metrics`)
    #[command(long_about = ADMISSION_SERVE_ABOUT)]
    Serve(AdmissionServeArgs),
}

#[derive(Args, Debug)]
pub struct AdmissionServeArgs {
    /// The policy file every image is checked against
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The server's certificate chain (PEM); reloaded when the file changes
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// The certificate's private key (PEM); reloaded when the file changes
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    /// Address and port to listen on (port 0: any free port, printed at start)
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:8443")]
    pub listen: std::net::SocketAddr,
    /// The vulnerability database, for `vulnerabilities` rules
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Seconds a review may take; images not checked by then are answered by --failure-policy.
    /// Keep it below the webhook's timeoutSeconds
    #[arg(long, value_name = "SECONDS", default_value_t = 8.0, value_parser = parse_timeout)]
    pub timeout: f64,
    /// What to answer for an image not checked in time or that cannot be checked: deny (`fail`)
    /// or allow with a warning (`ignore`)
    #[arg(long, value_name = "POLICY", default_value = "fail", value_parser = ["fail", "ignore"])]
    pub failure_policy: String,
    /// Verdicts kept in memory (allowed and denied alike)
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub cache_size: usize,
    /// Seconds a verdict, or a tag resolved to a digest, is kept
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub cache_ttl: u64,
    /// A registry (`host[:port]`) reached over plain HTTP or without verifying its certificate;
    /// repeat for more (loopback registries always are)
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// A public key (PEM) whose signed verification summaries (`pare policy check --attest`) of
    /// this same policy are trusted: a PASSED one stands for every rule but digest pinning, which
    /// is judged on the pod's image name; repeat for more keys
    #[arg(long, value_name = "FILE")]
    pub trust_vsa: Vec<PathBuf>,
}

fn parse_timeout(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 30.0 => Ok(s),
        _ => Err(format!("`{value}` is not a number of seconds between 0 and 30")),
    }
}

pub(crate) const ADMISSION_SERVE_ABOUT: &str = "Serve a Kubernetes validating admission webhook over HTTPS.\n\n\
The API server posts an admission.k8s.io/v1 AdmissionReview to /validate for each Pod, Deployment, \
StatefulSet, DaemonSet, Job, CronJob and ReplicaSet. Every container, init container and ephemeral \
container image is resolved to a digest through its registry and checked against the policy in the \
review's namespace (as `pare policy check` does); a tag is judged by `digest-pinned` as written. Deny \
rules deny the request, naming the container, the rule, what is wrong and the fix; warn rules become \
warnings kubectl prints. Verdicts are cached by digest, allowed and denied alike (--cache-size, \
--cache-ttl). A review that is not done within --timeout is answered by --failure-policy, never left \
hanging. /healthz and /readyz answer `ok`; /metrics is Prometheus text. The certificate and key are \
reloaded when their files change; a new pair that does not load is logged and the old one kept.\n\n\
A sample ValidatingWebhookConfiguration, Deployment and Service are in docs/admission/.\n\n\
Example:\n    pare admission serve --policy policy.toml --tls-cert tls.crt --tls-key tls.key --listen 0.0.0.0:8443";

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Write a new ECDSA P-256 key pair: NAME.key (encrypted, mode 0600) and NAME.pub
    #[command(long_about = KEY_GENERATE_ABOUT)]
    Generate {
        /// Write NAME.key and NAME.pub
        #[arg(long, value_name = "NAME", default_value = "cosign")]
        output_key_prefix: String,
        /// Replace existing NAME.key and NAME.pub
        #[arg(long)]
        force: bool,
    },
}

pub(crate) const KEY_GENERATE_ABOUT: &str = "Write a new ECDSA P-256 key pair as `cosign generate-key-pair` does.\n\n\
NAME.key holds the private key encrypted with a password (PEM `ENCRYPTED SIGSTORE PRIVATE KEY`: \
scrypt N=65536 r=8 p=1 and NaCl secretbox over PKCS#8), readable by cosign; NAME.pub the public key \
(PKIX PEM). Existing files are kept unless --force.\n\n\
The password comes from PARE_PASSWORD, else COSIGN_PASSWORD (an empty value is an empty password), \
else a prompt on the terminal (asked twice).\n\n\
Example:\n    pare key generate --output-key-prefix release";

pub(crate) const SIGN_BLOB_ABOUT: &str = "Sign a file with a key and write a Sigstore bundle v0.3 \
(`messageSignature`, the key's hint), offline: no transparency log entry is made.\n\n\
The key is a cosign key (password from PARE_PASSWORD, COSIGN_PASSWORD or a prompt) or a plain \
PKCS#8/SEC1 PEM.\n\n\
Example:\n    pare sign-blob app.tar.gz --key cosign.key --bundle app.tar.gz.sigstore.json";

pub(crate) const VERIFY_BLOB_ABOUT: &str = "Verify a file against a Sigstore bundle (v0.1 to v0.3: \
a signature over the file, or a DSSE in-toto statement naming the file's SHA-256), offline.\n\n\
With --key, the signature must be by that key; transparency log entries and timestamps the bundle \
carries are verified against the trusted root (a bundle signed offline has none). With \
--certificate-identity and --certificate-oidc-issuer, the bundle must hold a Fulcio certificate for \
exactly that identity and issuer, chaining to the trusted root, with its SCT, a Rekor entry (v1: \
inclusion proof with a signed checkpoint, or a signed entry timestamp; v2: inclusion proof) and \
signing times (Rekor, RFC 3161) within the certificate's validity.\n\n\
The trusted root defaults to Sigstore's public-good instance, embedded in pare; --trusted-root \
replaces it (a `trusted_root.json` as `cosign` and `sigstore` use).\n\n\
Exit status: 0 verified, 1 not verified (the reason is printed), 2 bad input.\n\n\
Examples:\n    pare verify-blob app.tar.gz --bundle app.tar.gz.sigstore.json --key cosign.pub\n    \
pare verify-blob a.txt --bundle a.txt.sigstore.json \\\n        \
--certificate-identity https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.0 \\\n        \
--certificate-oidc-issuer https://token.actions.githubusercontent.com";

#[derive(Args, Debug, Clone)]
pub struct SignBlobArgs {
    /// The file to sign
    pub file: PathBuf,
    /// Private key: cosign's encrypted PEM, or PKCS#8/SEC1 PEM
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Where to write the bundle
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
}

#[derive(Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("trust").required(true).args(["key", "certificate_identity"]))]
pub struct VerifyBlobArgs {
    /// The signed file
    pub file: PathBuf,
    /// The Sigstore bundle (JSON)
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Subcommand, Debug)]
pub enum GalleryCommand {
    /// List the gallery's definitions
    List {
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Args, Debug, Clone)]
pub struct BuildArgs {
    /// Definition file or gallery:NAME (see `pare gallery list`)
    pub definition: String,
    /// Destination: oci:DIR[:NAME], oci-archive:FILE[:NAME], docker-archive:FILE[:REF] or a registry reference
    #[arg(long, value_name = "DST")]
    pub to: String,
    /// Put a host file or directory into a top layer, as SRC:DEST (repeatable). SRC may be any host
    /// path: it is given here, not by the definition
    #[arg(long, value_name = "SRC:DEST")]
    pub add: Vec<String>,
    /// Let the definition's `[[files]] source` read host files outside its own directory (by
    /// default a source must resolve, symlinks followed, inside the definition's directory)
    #[arg(long)]
    pub allow_host_paths: bool,
    /// Write the image even when a program added with --add would not load in it (missing
    /// interpreter, library or symbol version; see `pare ldd`)
    #[arg(long)]
    pub no_load_check: bool,
    /// Build only this architecture of the definition (repeatable)
    #[arg(long, value_name = "ARCH")]
    pub arch: Vec<String>,
    /// Ignore DEF.lock and resolve afresh
    #[arg(long)]
    pub no_lock: bool,
    /// Layer compression: gzip (any runtime) or zstd (smaller; podman, containerd 1.5+, Docker 23+).
    /// Default: the definition's `compression`, else gzip
    #[arg(long, value_name = "gzip|zstd", value_parser = ["gzip", "zstd"])]
    pub compression: Option<String>,
    /// Compression level: gzip 1-9 (default 6), zstd 1-19 (default 3; 19 is ~20% smaller and much
    /// slower). Default: the definition's `compression_level`
    #[arg(long, value_name = "N")]
    pub compression_level: Option<i32>,
    /// Also write the build-time SBOM to FILE. With several architectures, one file per architecture,
    /// named with `-ARCH` inserted before the first `.` of the file name (app.spdx.json →
    /// app-amd64.spdx.json, app-arm64.spdx.json)
    #[arg(long, value_name = "FILE")]
    pub sbom: Option<PathBuf>,
    /// Format of the build-time SBOM (the file and the attached artifact)
    #[arg(long, value_enum, default_value_t = BuildSbomFormat::SpdxJson, value_name = "FORMAT")]
    pub sbom_format: BuildSbomFormat,
    /// Do not attach the SBOM to the image (by default it is attached to every platform image
    /// pushed to a registry)
    #[arg(long, conflicts_with = "attach_sbom")]
    pub no_sbom: bool,
    /// Also attach the SBOM inside an oci:DIR layout. It is then a second manifest in index.json,
    /// which tools that expect one image per layout refuse (syft's oci-dir:, skopeo or umoci without
    /// a tag): off by default
    #[arg(long)]
    pub attach_sbom: bool,
    /// Sign each platform image with --key, and attest its SBOM and a SLSA v1 provenance (the
    /// definition, the lock and every .deb with its SHA-256), as `pare sign` and `pare attest` do.
    /// The destination must be a registry or an oci:DIR layout
    #[arg(long, requires = "key")]
    pub sign: bool,
    /// cosign private key for --sign (password from PARE_PASSWORD or COSIGN_PASSWORD)
    #[arg(long, value_name = "FILE", requires = "sign")]
    pub key: Option<PathBuf>,
    /// Which forms --sign writes
    #[arg(long, value_enum, default_value_t = SignatureFormat::Both, value_name = "FORMAT")]
    pub signature_format: SignatureFormat,
    /// Check each built image against this policy before writing it: a deny stops the build (exit
    /// 1, nothing written). Rules about what a registry holds (signature, attestations,
    /// digest-pinned) are left to `pare policy check` on the published image, and named
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The vulnerability database --policy's vulnerability rules read
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub format: FormatArg,
}

/// Formats of the build-time SBOM.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BuildSbomFormat {
    /// SPDX 2.3 JSON (artifact type application/spdx+json)
    #[default]
    SpdxJson,
    /// CycloneDX 1.6 JSON (artifact type application/vnd.cyclonedx+json)
    CyclonedxJson,
}

// `pare scan`, `pare diff`, `pare vex`

pub(crate) const SCAN_ABOUT: &str = "Find known vulnerabilities in an image, a directory or an SBOM.\n\n\
SRC is any image location (see `pare --help`), a directory (read as a root filesystem), or an SBOM file \
(SPDX 2.x JSON or tag-value, CycloneDX JSON, from pare, syft or trivy; detected by content). A path that \
exists is never a registry reference. Debian packages are matched by source package and \
source version in the image's release (from /etc/os-release or the SBOM's `distro`), against the Debian \
Security Tracker data and DSA/DLA advisories; other packages by name and version against OSV records.\n\n\
Findings are grouped by severity. Severity comes from CVSS where the data has a score, else from the \
distribution's urgency (labelled as such); a finding with neither is `unknown`, and `--fail-on` counts \
it as failing unless `--allow-unknown` is given. VEX statements (`--vex`, OpenVEX or CycloneDX VEX) that \
say `not_affected` or `fixed` suppress a finding: it stays in the report, marked, with the statement's \
author and justification.\n\n\
Exit status: 0 no failing findings, 1 findings at or above --fail-on remain after VEX, 2 errors.\n\n\
Examples:\n    pare db update\n    pare scan oci:./out:app\n    pare scan sbom.spdx.json --fail-on high --vex triage.openvex.json\n    \
pare scan oci:./out:app --format sarif -o pare.sarif";

#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Image location, directory, or SBOM file (SPDX JSON or tag-value, CycloneDX JSON)
    pub src: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with status 1 when open findings at or above SEVERITY remain (critical, high, medium, low)
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// With --fail-on: do not count findings of unknown severity as failing
    #[arg(long)]
    pub allow_unknown: bool,
    /// Report only findings that have a fixed version
    #[arg(long, visible_alias = "ignore-unfixed")]
    pub only_fixed: bool,
    /// Apply the statements of a VEX document (OpenVEX or CycloneDX VEX); repeatable
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// The distribution release, when the image or SBOM does not say (debian-12, bookworm, debian:13)
    #[arg(long, value_name = "DISTRO")]
    pub distro: Option<String>,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub platform: PlatformArg,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFormat {
    /// Findings grouped by severity
    Table,
    /// pare's JSON report
    Json,
    /// SARIF 2.1.0 (GitHub code scanning)
    Sarif,
    /// CycloneDX 1.6 with vulnerabilities
    Cyclonedx,
}

fn parse_severity(value: &str) -> Result<Severity, String> {
    match value.parse::<Severity>()? {
        Severity::Unknown | Severity::Negligible => {
            Err("expected critical, high, medium or low (unknown findings fail unless --allow-unknown)".into())
        }
        s => Ok(s),
    }
}

fn parse_age(value: &str) -> Result<std::time::Duration, String> {
    let value = value.trim();
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("`{value}`: expected a number and a unit, like 7d or 36h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" | "" => n * 3600,
        "d" => n * 86400,
        "w" => n * 7 * 86400,
        _ => return Err(format!("`{value}`: unknown unit `{unit}` (s, m, h, d, w)")),
    };
    Ok(std::time::Duration::from_secs(seconds))
}

pub(crate) const DIFF_ABOUT: &str = "Compare two images (or SBOMs): packages added, removed and changed, and \
vulnerabilities gained and lost (the case for minimal bases, on your own images). Vulnerabilities are compared \
when a database exists (`pare db update`).\n\n\
Example:\n    pare diff docker-archive:debian.tar oci:./out:app";

#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    /// The old image, directory or SBOM
    pub old: String,
    /// The new image, directory or SBOM
    pub new: String,
    #[command(flatten)]
    pub format: crate::args::FormatArg,
    /// The distribution release, when an image or SBOM does not say
    #[arg(long, value_name = "DISTRO")]
    pub distro: Option<String>,
    /// Apply the statements of a VEX document to both sides, as `pare scan --vex` does; repeatable
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Compare only findings that have a fixed version
    #[arg(long, visible_alias = "ignore-unfixed")]
    pub only_fixed: bool,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub platform: PlatformArg,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub(crate) const AUDIT_ABOUT: &str = "Audit a Dockerfile before it is built.\n\n\
The verb takes a Dockerfile, so `pare audit` reads ./Dockerfile and `pare audit Dockerfile` reads as \
it is said; images are checked by `pare ldd`, `pare scan` and policies. Every stage is parsed (parser \
directives, ARG before FROM, FROM … AS, COPY --from, heredocs, line continuations). Each finding has a \
stable code, an action, the line and column, and a fix (docs/audit.md lists them):\n    \
DF001 deny  full-OS base in the final stage (Debian, Ubuntu, Alpine, RPM distributions, and language \
images on them, slim ones too)\n    \
DF002 warn  base (or COPY --from image) not pinned by a digest\n    \
DF003 deny  base (or COPY --from image) with the `latest` tag or no tag\n    \
DF004 deny  final stage runs as root (no USER, or USER root/0)\n    \
DF005 deny  compilers or build tools installed in the final stage\n    \
DF006 warn  package manager used in the final stage (apt-get, apk, yum, dnf, pip, npm, …)\n    \
DF007 deny  download piped into a shell (`curl … | sh`)\n    \
DF008 deny  ADD from a URL without --checksum\n    \
DF009 warn  apt-get update without removing /var/lib/apt/lists in the same RUN (final stage)\n    \
DF010 deny  secret in ENV or ARG (PASSWORD, SECRET, TOKEN, API_KEY, … with a value)\n\
The final stage is mapped to a gallery image (static, base, cc, python3, java, nodejs) and printed \
rewritten on it. Its digest is not printed: pare knows a gallery image's digest only once `pare build` \
made it (the gallery has no committed lock), so pin the digest that command prints.\n\n\
With --image, the image built from the Dockerfile is compared with the base the final stage names \
(read from --base, else from the reference in FROM): DF020 deny when the image does not start with \
the base's layers, DF021 deny when its org.opencontainers.image.base.name annotation or label names \
another base, DF022 warn when its base.digest is not what the base resolves to now.\n\n\
Exit status: 0 no deny finding, 1 a deny finding, 2 an unreadable or unparsable Dockerfile (the error \
names the file, line and column) or an image that cannot be read.\n\n\
Examples:\n    pare audit\n    pare audit build/Dockerfile --format sarif > audit.sarif\n    \
pare audit Dockerfile --image 127.0.0.1:5000/app:1.0";

#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    /// The Dockerfile
    #[arg(default_value = "Dockerfile", value_name = "PATH")]
    pub path: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
    /// An image built from the Dockerfile: report drift between the base it names and the base
    /// the image was built on
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Where to read the final stage's base from for --image (default: the reference FROM names)
    #[arg(long, value_name = "LOCATION", requires = "image")]
    pub base: Option<String>,
    #[command(flatten)]
    pub platform: PlatformArg,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditFormat {
    /// One line per finding, then the suggested final stage
    Table,
    /// The verdict, stages, suggestion and drift
    Json,
    /// SARIF 2.1.0 (GitHub code scanning)
    Sarif,
}

pub(crate) const VEX_ABOUT: &str = "Write a triage decision as an OpenVEX 0.2 statement.\n\n\
Creates FILE (or prints a new document) or adds the statement to an existing OpenVEX document, \
raising its version. `pare scan --vex FILE` then applies it: not_affected and fixed suppress the \
finding, which stays in the report with this statement's author and justification.\n\n\
Example:\n    pare vex --vulnerability CVE-2024-6387 --product pkg:deb/debian/openssh-client \\\n        \
--status not_affected --justification vulnerable_code_not_in_execute_path --file triage.openvex.json";

#[derive(Args, Debug, Clone)]
pub struct VexArgs {
    /// The vulnerability (CVE-…, GHSA-…)
    #[arg(long, value_name = "ID")]
    pub vulnerability: String,
    /// A product the statement is about: a package purl, or an image (pkg:oci/…@sha256:…); repeatable
    #[arg(long, value_name = "ID", required = true)]
    pub product: Vec<String>,
    /// A package inside the product the statement is about (purl); repeatable
    #[arg(long, value_name = "PURL")]
    pub subcomponent: Vec<String>,
    /// not_affected, affected, fixed or under_investigation
    #[arg(long)]
    pub status: String,
    /// Why not_affected: component_not_present, vulnerable_code_not_present,
    /// vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary,
    /// inline_mitigations_already_exist
    #[arg(long)]
    pub justification: Option<String>,
    /// Free text on why the product is not affected
    #[arg(long)]
    pub impact_statement: Option<String>,
    /// What users should do (required for affected)
    #[arg(long)]
    pub action_statement: Option<String>,
    /// Who makes the statement (default: $USER)
    #[arg(long)]
    pub author: Option<String>,
    /// The OpenVEX document to create or add to (default: print a new document)
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

// the vulnerability database

#[derive(Args, Debug, Clone)]
pub struct DbArg {
    #[command(flatten)]
    pub file: DbPathArg,
    /// Warn when the database is older than this (e.g. 36h, 7d)
    #[arg(long, value_name = "AGE", default_value = "7d", value_parser = parse_age)]
    pub max_db_age: std::time::Duration,
}

#[derive(Args, Debug, Clone)]
pub struct DbPathArg {
    /// The vulnerability database (default: $PARE_VULN_DB, else vuln.db in the pare cache directory)
    #[arg(long = "db", value_name = "PATH")]
    pub path: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Build the vulnerability database from the tracker, the DSA/DLA lists, OSV and CVE records
    #[command(long_about = "Build the local vulnerability database. Every source is read first; the new \
database is written into a temporary file beside the old one and renamed over it only when complete, so a \
failed download or an interrupted update leaves the previous database working.\n\n\
Without --source or --from the official endpoints are read: the Debian Security Tracker's JSON, its \
DSA and DLA lists, and osv.dev's PyPI, Go and crates.io archives. With either flag, exactly the sources \
given are read.\n\n\
KINDS\n    tracker-json   https://security-tracker.debian.org/tracker/data/json\n    \
dsa-list, dla-list   the tracker's data/DSA/list and data/DLA/list\n    \
osv            an OSV record (JSON or YAML), a directory of them, or a zip archive (osv.dev's all.zip)\n    \
cve            CVE JSON 5 or NVD API 2.0 records (their CVSS scores)\n\n\
Examples:\n    pare db update\n    pare db update --from ./DSA-list --from ./osv-go/ --from ./PyPI-all.zip\n    \
pare db update --source dsa-list=https://mirror.example/DSA/list --db ./vuln.db")]
    Update(UpdateArgs),
    /// Show when the database was built, from which sources, and what it holds
    #[command(long_about = "Show the database's build time, schema, each source (kind, location, records, \
SHA-256 of what was read, warnings) and advisories per origin and ecosystem.\n\nExample:\n    \
pare db status --format json")]
    Status {
        #[command(flatten)]
        db: DbPathArg,
        #[command(flatten)]
        format: FormatArg,
    },
}

const MONITOR_ABOUT: &str = "The fleet monitor: a server that stores the SBOMs of deployed images (by digest, \
with environment and team), rescans every stored SBOM when the vulnerability database changes (no image is \
pulled), records findings with first-seen and fixed times, applies VEX per product, sends alerts for new \
critical findings on production images as signed webhooks, and serves a REST API (OpenAPI at /openapi.json) \
and Prometheus /metrics.\n\n\
The store is a SQLite file in the pare data directory by default (no setup); `--database postgres://…` \
shares one PostgreSQL between several servers, which split rescans without scanning an image twice.\n\n\
Examples:\n    pare monitor serve --listen 127.0.0.1:8080\n    \
pare monitor token create --scope write\n    \
pare monitor push oci:./layout --server http://127.0.0.1:8080 --token $TOKEN --env production --team payments\n    \
pare monitor watch add registry.example/shop/api --server http://127.0.0.1:8080 --token $TOKEN --env production --team payments --tag 'v*'";

#[derive(Subcommand, Debug)]
pub enum MonitorCommand {
    /// Run the monitor: API, rescans when the vulnerability database changes, alert delivery
    Serve(MonitorServeArgs),
    /// Manage API tokens
    Token {
        #[command(subcommand)]
        command: MonitorTokenCommand,
    },
    /// Make the inventory of an image (or read an SBOM) here and upload it to a monitor
    Push(MonitorPushArgs),
    /// Watch registry repositories: new digests of their tags are pulled, registered and scanned by the server
    Watch {
        #[command(subcommand)]
        command: MonitorWatchCommand,
    },
}

#[derive(Args, Debug, Clone)]
pub struct MonitorServerArgs {
    /// The monitor's URL
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// A token (write scope to add or remove)
    #[arg(long, value_name = "TOKEN", env = "PARE_MONITOR_TOKEN", hide_env_values = true)]
    pub token: String,
}

#[derive(Subcommand, Debug)]
pub enum MonitorWatchCommand {
    /// Watch a repository: its tags (all, or those given) are checked every interval by the server
    Add {
        /// The repository, without tag: `registry/name` (`127.0.0.1:5000/team/app`, `debian`)
        repository: String,
        #[command(flatten)]
        server: MonitorServerArgs,
        /// The environment its images run in (production, staging, …)
        #[arg(long = "env", value_name = "ENV")]
        environment: String,
        /// The team that owns them
        #[arg(long, value_name = "TEAM")]
        team: String,
        /// A tag, or a pattern with `*` and `?` (repeatable; default: every tag of the repository)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Time between checks: 30s, 15m, 1h, 2d or seconds
        #[arg(long, value_name = "DURATION", default_value = "1h")]
        interval: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List the watches with their last check, last error and the tags seen
    List {
        #[command(flatten)]
        server: MonitorServerArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Stop watching (what was registered stays)
    Remove {
        /// The watch's id (`pare monitor watch list`)
        id: String,
        #[command(flatten)]
        server: MonitorServerArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct MonitorDatabaseArg {
    /// The monitor's store: `sqlite:PATH` or `postgres://USER@HOST:PORT/DB` (default: monitor.db in the pare
    /// data directory: $PARE_DATA_DIR, else $XDG_DATA_HOME/pare, else ~/.local/share/pare)
    #[arg(long, value_name = "URL", env = "PARE_MONITOR_DATABASE")]
    pub database: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct MonitorServeArgs {
    /// Address and port to listen on (port 0: any free port, printed on standard error)
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub database: MonitorDatabaseArg,
    /// The vulnerability database to scan with, reopened when `pare db update` replaces it (default: as `pare db`)
    #[arg(long, value_name = "PATH")]
    pub vuln_db: Option<PathBuf>,
    /// Let requests without a token read (never write)
    #[arg(long)]
    pub allow_anonymous_read: bool,
    /// POST alerts for new critical findings on production images to URL (JSON)
    #[arg(long, value_name = "URL")]
    pub alert_url: Option<String>,
    /// Sign each alert with HMAC-SHA256 of its body under this key (header X-Pare-Signature: sha256=HEX)
    #[arg(long, value_name = "SECRET", env = "PARE_MONITOR_ALERT_SECRET", hide_env_values = true)]
    pub alert_secret: Option<String>,
    /// Seconds between looks at the vulnerability database file and the alert outbox
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub poll_interval: f64,
    /// Seconds a claimed image stays claimed when its server dies (then another server rescans it)
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub lease: u64,
    /// The name of this server in work claims (default: PID and a random suffix)
    #[arg(long, value_name = "NAME")]
    pub worker_id: Option<String>,
    /// Rebuild the vulnerability database itself from this source, as `pare db update` does: a local file or
    /// directory, or KIND=URL (repeatable; every update reads all of them, then every image is rescanned)
    #[arg(long, value_name = "URL|PATH")]
    pub db_source: Vec<String>,
    /// Seconds between updates from --db-source (the first runs at start)
    #[arg(long, value_name = "SECONDS", default_value_t = 21_600)]
    pub db_update_interval: u64,
    /// Watch a registry repository (every tag, checked hourly) for an environment and team, as
    /// `pare monitor watch add` does (repeatable; added once, however often the server starts)
    #[arg(long, value_name = "REPO=ENV/TEAM")]
    pub watch: Vec<String>,
    /// Rebuild advice: the mirror of the Debian release and -updates pockets images are compared with
    /// (default: deb.debian.org/debian)
    #[arg(long, value_name = "URL")]
    pub archive_mirror: Option<String>,
    /// Rebuild advice: the mirror of the -security pocket (default: deb.debian.org/debian-security)
    #[arg(long, value_name = "URL")]
    pub security_mirror: Option<String>,
    /// Rebuild advice: OpenPGP keyring that signs the mirrors' Releases (default: Debian's archive keyring)
    #[arg(long, value_name = "FILE")]
    pub archive_keyring: Option<PathBuf>,
    /// Rebuild advice: archive component to compare (repeatable; default main)
    #[arg(long = "archive-component", value_name = "NAME")]
    pub archive_components: Vec<String>,
    /// Time between rebuild-advice checks (archive and bases; the first runs at start), e.g. 6h, 30m; 0 turns
    /// them off
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_age)]
    pub advice_interval: std::time::Duration,
}

#[derive(Subcommand, Debug)]
pub enum MonitorTokenCommand {
    /// Make a token; it is printed once, and only its hash is stored
    Create {
        /// read: GET requests; write: everything
        #[arg(long, value_parser = ["read", "write"])]
        scope: String,
        /// A name to recognise the token by
        #[arg(long, default_value = "")]
        name: String,
        #[command(flatten)]
        database: MonitorDatabaseArg,
    },
}

#[derive(Args, Debug, Clone)]
pub struct MonitorPushArgs {
    /// Image location, directory, or SBOM file (SPDX JSON or tag-value, CycloneDX JSON, pare's JSON)
    pub src: String,
    /// The monitor's URL
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// A token with write scope
    #[arg(long, value_name = "TOKEN", env = "PARE_MONITOR_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The environment the image runs in (production, staging, …)
    #[arg(long = "env", value_name = "ENV")]
    pub environment: String,
    /// The team that owns the image
    #[arg(long, value_name = "TEAM")]
    pub team: String,
    /// The repository (default: SRC's name in the SBOM)
    #[arg(long, value_name = "NAME")]
    pub repository: Option<String>,
    /// The tag deployed (a tag that moves to a new digest is recorded as a deploy)
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// The image digest, when SRC is an SBOM that names none
    #[arg(long, value_name = "DIGEST")]
    pub digest: Option<String>,
    /// The VEX product whose statements apply (default: the repository)
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// Say pare built the image (for an SBOM SRC; an image SRC is recognised by its history)
    #[arg(long)]
    pub pare_built: bool,
    /// The base image it was built on (default: an image SRC's org.opencontainers.image.base.name)
    #[arg(long, value_name = "NAME")]
    pub base_name: Option<String>,
    /// The base's digest it was built on (default: an image SRC's org.opencontainers.image.base.digest)
    #[arg(long, value_name = "DIGEST")]
    pub base_digest: Option<String>,
    #[command(flatten)]
    pub platform: PlatformArg,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Args, Debug, Clone)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub db: DbPathArg,
    /// Read a source from a URL, as KIND=URL (repeatable; kinds: tracker-json, dsa-list, dla-list, osv, cve)
    #[arg(long, value_name = "KIND=URL")]
    pub source: Vec<String>,
    /// Import a local file or directory, its kind detected from the content (repeatable)
    #[arg(long, value_name = "FILE|DIR")]
    pub from: Vec<PathBuf>,
    /// Largest download accepted per source, in bytes or with a K, M or G suffix (powers of 1024)
    #[arg(long, value_name = "SIZE", env = "PARE_DB_MAX_DOWNLOAD", default_value = "1G", value_parser = parse_size)]
    pub max_download: u64,
    #[command(flatten)]
    pub format: FormatArg,
}

/// `123`, `64K`, `512M`, `2G` (also `512MiB`, `2GB`: powers of 1024 either way).
fn parse_size(value: &str) -> Result<u64, String> {
    let v = value.trim();
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(digits);
    let number: u64 = number.parse().map_err(|_| format!("`{value}` is not a size (e.g. 512M, 2G)"))?;
    let shift = match unit.trim().to_ascii_uppercase().trim_end_matches('B').trim_end_matches('I') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("`{value}`: unknown unit `{unit}` (use K, M, G or T)")),
    };
    number.checked_mul(1 << shift).filter(|n| *n > 0).ok_or_else(|| format!("`{value}` is out of range"))
}

// `pare outdated`

pub(crate) const OUTDATED_ABOUT: &str = "List the Debian packages for which the archive has a newer version: \
for a definition (its lock), or for any Debian-based image or directory (its dpkg database and os-release).\n\n\
The signed Releases of the release, -updates and -security pockets are verified and their indexes read \
(for a definition: its pockets, mirrors and keyring). Each update names the pocket it comes from and the \
vulnerabilities of the local database (`pare db update`) that updating fixes. A security update is one \
from a -security pocket or one that fixes a known vulnerability.\n\n\
Exit status: 0 no security update, 1 a security update is available (rebuild advised), 2 errors.\n\n\
Examples:\n    pare outdated app.toml\n    pare outdated oci:./out:app --format json";

#[derive(Args, Debug, Clone)]
pub struct OutdatedArgs {
    /// A definition (FILE.toml with its lock, or gallery:NAME), an image location or a directory
    pub src: String,
    /// The Debian release of an image, when its os-release does not say (bookworm, debian-12)
    #[arg(long, value_name = "SUITE")]
    pub suite: Option<String>,
    /// Archive mirror for an image's release and -updates pockets (default: deb.debian.org/debian)
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Mirror for an image's -security pocket (default: deb.debian.org/debian-security)
    #[arg(long, value_name = "URL")]
    pub security_mirror: Option<String>,
    /// OpenPGP keyring that signs the mirrors' Releases (default: Debian's archive keyring)
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// Archive components to compare an image with (repeatable; default: main)
    #[arg(long = "component", value_name = "NAME")]
    pub components: Vec<String>,
    #[command(flatten)]
    pub format: FormatArg,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub platform: PlatformArg,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Shells `pare completions` writes for.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

// `pare sign`, `pare attest`, `pare verify`, `pare verify-attestation`

pub(crate) const SIGN_ABOUT: &str = "Sign an image: the manifest digest a tag resolves to is signed, never the tag.\n\n\
With --key (a cosign key: `ENCRYPTED SIGSTORE PRIVATE KEY` PEM, password from PARE_PASSWORD or \
COSIGN_PASSWORD), pare writes, by default, both forms cosign verifiers read:\n\
  bundle   a Sigstore bundle v0.3 (DSSE envelope over an in-toto Statement, predicate type \
https://sigstore.dev/cosign/sign/v1) attached as an OCI 1.1 referrer (cosign 3's form);\n\
  legacy   a simple-signing payload in the `sha256-<hex>.sig` tag (cosign 2's form, which \
Kyverno and policy-controller verify with keys).\n\
Signing again with the same key adds nothing; another key adds its signature beside. Registries \
and oci:DIR layouts (offline) can be signed. A multi-platform index is signed as the index (what \
`pare verify` of its tag checks); --recursive signs each of its images too. `pare copy --referrers` \
carries signatures along.\n\n\
With --gpg-key, pare writes a containers simple signature instead (what `skopeo copy --sign-by` \
writes): an OpenPGP signed message made by `gpg` with the key from your GnuPG home, stored under \
--sigstore-dir as `<repository>@sha256=<hex>/signature-N` (point `lookaside` of \
containers-registries.d(5) at it; skopeo and podman verify with a policy.json `signedBy` rule).\n\n\
Examples:\n    pare sign 127.0.0.1:5000/app:1.0 --key cosign.key\n    \
pare sign oci:./out:app --key cosign.key --format legacy --annotation team=blue\n    \
pare sign registry.example/app:1.0 --gpg-key 0123ABCD --sigstore-dir /var/lib/containers/sigstore";

#[derive(Args, Debug, Clone)]
pub struct SignArgs {
    /// Image to sign: a registry reference or oci:DIR[:NAME]
    pub image: String,
    /// cosign private key (PEM)
    #[arg(long, value_name = "FILE", required_unless_present = "gpg_key", conflicts_with = "gpg_key")]
    pub key: Option<PathBuf>,
    /// Add KEY=VALUE to the signed claims (repeatable)
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// Which forms to write (with --key)
    #[arg(long, value_enum, default_value_t = SignatureFormat::Both)]
    pub format: SignatureFormat,
    /// With --key, sign each image of a multi-platform index too, not only the index
    #[arg(long, conflicts_with = "gpg_key")]
    pub recursive: bool,
    /// Make an OpenPGP simple signature with this key of your GnuPG home (fingerprint, key ID or
    /// user ID), as `skopeo copy --sign-by` does
    #[arg(long, value_name = "KEY")]
    pub gpg_key: Option<String>,
    #[command(flatten)]
    pub sigstore: SigstoreDirArg,
}

#[derive(Args, Debug, Clone)]
pub struct SigstoreDirArg {
    /// Lookaside directory of OpenPGP simple signatures (containers-registries.d(5) `lookaside`)
    #[arg(long, value_name = "DIR", default_value = "/var/lib/containers/sigstore")]
    pub sigstore_dir: PathBuf,
}

/// Which signature forms `pare sign` writes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SignatureFormat {
    /// Sigstore bundle as an OCI 1.1 referrer (cosign 3)
    Bundle,
    /// simple-signing payload in the `sha256-<hex>.sig` tag (cosign 2)
    Legacy,
    /// Both
    #[default]
    Both,
}

pub(crate) const ATTEST_ABOUT: &str = "Attest an image: an in-toto Statement v1 whose subject is the image's \
manifest digest and whose predicate is FILE, signed in a DSSE envelope, written as cosign writes it: a \
Sigstore bundle referrer (annotation dev.sigstore.bundle.predicateType) and an envelope in the legacy \
`sha256-<hex>.att` tag (--format picks).\n\n\
Predicate types: spdx (https://spdx.dev/Document), cyclonedx (https://cyclonedx.org/bom), openvex \
(https://openvex.dev/ns/v0.2.0), slsaprovenance (https://slsa.dev/provenance/v1), vuln \
(https://in-toto.io/attestation/vulns/v0.2), or any URI.\n\n\
Example:\n    pare sbom oci:./out:app --format spdx-json -o app.spdx.json\n    \
pare attest oci:./out:app --key cosign.key --predicate app.spdx.json --type spdx";

#[derive(Args, Debug, Clone)]
pub struct AttestArgs {
    /// Image to attest: a registry reference or oci:DIR[:NAME]
    pub image: String,
    /// cosign private key (PEM)
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The predicate: a JSON file
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    /// Predicate type: spdx, cyclonedx, openvex, slsaprovenance, vuln, or a URI
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: String,
    /// Which forms to write
    #[arg(long, value_enum, default_value_t = SignatureFormat::Both)]
    pub format: SignatureFormat,
}

pub(crate) const VERIFY_ABOUT: &str = "Verify an image's signatures: Sigstore bundles attached as referrers \
first, then legacy signatures in the `sha256-<hex>.sig` tag (or, with --gpg-keyring, OpenPGP simple \
signatures in --sigstore-dir). Prints what verified: the digest, the form, the key and the signed \
annotations.\n\n\
Keyless bundles (cosign's Fulcio certificates) are verified with --certificate-identity and \
--certificate-oidc-issuer against --trusted-root (default: Sigstore's public-good root, embedded), \
offline: certificate chain, SCT, transparency log proofs, timestamps. Legacy signatures are \
verified with --key only.\n\n\
Exit status: 0 a signature verified, 1 none did (the reason each was refused is printed: no \
signature, signed by another key, a payload for another digest, a tampered payload or envelope, a \
malformed bundle), 2 errors.\n\n\
Examples:\n    pare verify 127.0.0.1:5000/app:1.0 --key cosign.pub\n    \
pare verify registry.example/app:1.0 --gpg-keyring trusted.gpg --sigstore-dir ./sigstore";

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// Image to verify: a registry reference or oci:DIR[:NAME]
    pub image: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// OpenPGP keyring (binary or armored) trusted for containers simple signatures
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub gpg_keyring: Option<PathBuf>,
    #[command(flatten)]
    pub sigstore: SigstoreDirArg,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Args, Debug, Clone)]
pub struct TrustArgs {
    /// Public key (PKIX PEM, as cosign.pub) the signatures must verify with
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Keyless: the identity (SAN: an email, a workflow URI) the signing certificate must name, exactly
    #[arg(long, value_name = "ID", requires = "certificate_oidc_issuer", conflicts_with = "key")]
    pub certificate_identity: Option<String>,
    /// Keyless: the OIDC issuer the signing certificate must name
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    pub certificate_oidc_issuer: Option<String>,
    /// Sigstore trusted root (JSON): keyless certificates, and with --key the bundles' log entries
    /// and timestamps, are checked against it (default: the embedded public-good root)
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Accepted for cosign compatibility: pare always verifies offline (the trusted root and the
    /// bundle's own proofs; it never contacts Rekor, Fulcio or TUF)
    #[arg(long)]
    pub offline: bool,
}

pub(crate) const VERIFY_ATTESTATION_ABOUT: &str = "Verify an image's attestations of one predicate type: \
bundles attached as referrers first, then DSSE envelopes in the `sha256-<hex>.att` tag. Prints the \
digest, form, key and predicate type of each that verified.\n\n\
Exit status: 0 an attestation verified, 1 none did (with the reasons), 2 errors.\n\n\
Example:\n    pare verify-attestation oci:./out:app --key cosign.pub --type spdx";

#[derive(Args, Debug, Clone)]
pub struct VerifyAttestationArgs {
    /// Image: a registry reference or oci:DIR[:NAME]
    pub image: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Predicate type: spdx, cyclonedx, openvex, slsaprovenance, vuln, or a URI
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: String,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Print a commented starter policy with safe defaults
    #[command(long_about = "Print a commented starter policy (TOML) with safe defaults: deny fixable \
critical CVEs, deny shells and package managers, require a non-root user, require digest pinning, \
require that binaries load. The reference of every check is docs/policy.md.\n\n\
Example:\n    pare policy init > policy.toml")]
    Init {
        /// Write the policy to FILE (refuses to overwrite) instead of printing it
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Evaluate every rule of a policy over an image
    #[command(long_about = POLICY_CHECK_ABOUT)]
    Check(Box<PolicyCheckArgs>),
}

pub(crate) const POLICY_CHECK_ABOUT: &str = "Evaluate every rule of a policy file over an image and print \
one line per failure: the action, the rule, the image, what is wrong and the fix. Rules that need a \
vulnerability database read it as `pare scan` does (--db); signatures and attestations are verified \
with the keys the policy names.\n\n\
With --attest --key, the verdict is also signed as a SLSA Verification Summary Attestation \
(https://slsa.dev/verification_summary/v1: policy digest, result, the attestations checked) and \
attached to the image, so admission can trust the CI verdict.\n\n\
Exit status: 0 no deny rule failed (warnings may be printed), 1 a deny rule failed, 2 errors (bad \
policy, unreadable image).\n\n\
Examples:\n    pare policy check 127.0.0.1:5000/app@sha256:… --policy policy.toml\n    \
pare policy check oci:./out:app --policy policy.toml --format sarif -o policy.sarif\n    \
pare policy check 127.0.0.1:5000/app:1 --policy policy.toml --attest --key cosign.key";

#[derive(Args, Debug, Clone)]
pub struct PolicyCheckArgs {
    /// Image to check (any location; signatures are found in registries and oci: layouts)
    pub src: String,
    /// The policy file (TOML; `pare policy init` prints a starter)
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The Kubernetes namespace the image is for (rules scoped to namespaces)
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Apply the statements of a VEX document to the vulnerability rules; repeatable
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
    /// Output format
    #[arg(long, value_enum, default_value_t = PolicyFormat::Table)]
    pub format: PolicyFormat,
    /// Write the report to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Sign the verdict as a SLSA verification summary and attach it to the image (needs --key)
    #[arg(long, requires = "key")]
    pub attest: bool,
    /// cosign private key (PEM) for --attest
    #[arg(long, value_name = "FILE", requires = "attest")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub platform: PlatformArg,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Output formats of a verdict.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PolicyFormat {
    /// One line per failure
    #[default]
    Table,
    /// The verdict as JSON
    Json,
    /// SARIF 2.1.0 (GitHub code scanning)
    Sarif,
}

pub(crate) const EVIDENCE_ABOUT: &str = "Gather, for one image digest, everything an auditor asks for into \
one JSON file they can read and check offline: the image's manifest and configuration, its SBOM \
(SPDX 2.3, made now) and the SBOMs attached to it, every signature and attestation found (referrers \
and cosign's `.sig`/`.att` tags, kept byte for byte, with what verified when --key is given), the \
scan with VEX applied when a database is at hand, and the policy verdict with --policy.\n\n\
Example:\n    pare evidence 127.0.0.1:5000/app@sha256:… --key cosign.pub --policy policy.toml -o evidence.json";

#[derive(Args, Debug, Clone)]
pub struct EvidenceArgs {
    /// Image (a registry reference or oci:DIR[:NAME])
    pub src: String,
    /// Write the bundle to FILE (atomically)
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Public key the signatures and attestations are verified with
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Evaluate this policy and include the verdict
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Apply the statements of a VEX document to the scan; repeatable
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
    /// Leave the scan out (no vulnerability database needed)
    #[arg(long)]
    pub no_scan: bool,
    #[command(flatten)]
    pub platform: PlatformArg,
    #[command(flatten)]
    pub limits: LimitArgs,
}
