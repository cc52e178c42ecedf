//! The integration tests of this crate, in one binary (one link instead of one per file).

mod admission;
mod audit;
mod build_base;
mod build_live;
mod build_run;
mod build_sbom;
mod db;
mod gallery_live;
mod help;
mod hostile_text;
mod interop;
mod ldd;
mod monitor;
mod outdated;
mod policy;
mod registry;
mod sbom;
mod sbom_lang;
mod sbom_peers;
mod scan;
mod scan_go_reach;
mod scan_live;
mod scan_trivy;
mod sign_build;
mod sign_cosign;
mod sign_gpg;
mod verify_blob;
mod verify_blob_interop;

/// The binary under test, for [`pare_test::Pare::new`].
pub const PARE: &str = env!("CARGO_BIN_EXE_pare");

/// The cache the live tests share on purpose (build_live, build_run, gallery_live, sbom_peers,
/// scan_live): the .debs they download are fetched once per machine.
pub fn live_cache() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pare-live-cache")
}
