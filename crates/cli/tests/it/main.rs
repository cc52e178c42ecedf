//! The integration tests of this crate, in one binary (one link instead of one per file).

mod build_base;
mod build_live;
mod build_run;
mod build_sbom;
mod db;
mod gallery_live;
mod hostile_text;
mod interop;
mod outdated;
mod registry;
mod sbom;
mod sbom_lang;
mod sbom_peers;
mod scan;
mod scan_go_reach;
mod scan_live;
mod scan_trivy;
