//! Policy over images. Today: whether an image's binaries load (`loader`), from the ELF facts
//! `elf` reads. Rules, verdicts, the Dockerfile audit and admission come with their issue.

pub mod elf;
pub mod loader;

pub use loader::{Binaries, Checked, LoadReport, Problem, check, check_under, gallery_hint, read_binaries};
