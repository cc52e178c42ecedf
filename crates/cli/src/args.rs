//! Command-line arguments. Every flag's help lives here, once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Minimal, reproducible container images from Debian, with SBOMs, scans, signatures and policy";

const LONG_ABOUT: &str = "\
pare builds minimal OCI images straight from Debian's signed archive, describes what ships in any
image, and moves images between registries, layout directories and archives.

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
(listed in index.json) and registries (referrers API, or the `sha256-<hex>` fallback tag). Archives \
cannot hold referrers: --referrers with one is an error.\n\n\
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
        /// Also copy the image's referrers (SBOMs, signatures), recursively
        #[arg(long)]
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
    /// Find known vulnerabilities in an image, a directory or an SBOM
    #[command(long_about = crate::scan::SCAN_ABOUT)]
    Scan(crate::scan::ScanArgs),
    /// Compare two images: packages and vulnerabilities gained and lost
    #[command(long_about = crate::scan::DIFF_ABOUT)]
    Diff(crate::scan::DiffArgs),
    /// Write a VEX (OpenVEX) statement for a triage decision
    #[command(long_about = crate::scan::VEX_ABOUT)]
    Vex(crate::scan::VexArgs),
    /// List packages the Debian archive has newer versions of, and the vulnerabilities updating fixes
    #[command(long_about = crate::outdated::OUTDATED_ABOUT)]
    Outdated(crate::outdated::OutdatedArgs),
    /// Build or inspect the local vulnerability database
    Db {
        #[command(subcommand)]
        command: crate::db::DbCommand,
    },
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
