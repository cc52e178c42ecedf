//! Policy over images: whether an image's binaries load (`loader`, from the ELF facts `elf` reads)
//! and the one answer every gate gives (`verdict`). Rules, the Dockerfile audit and admission come
//! with their issue.

pub mod elf;
pub mod loader;
pub mod verdict;

pub use loader::{Binaries, Checked, LoadReport, Problem, check, check_under, gallery_hint, read_binaries};
pub use verdict::{Action, Failure, Location, Verdict};
