//! Policy over images: whether an image's binaries load (`loader`, from the ELF facts `elf` reads),
//! the Dockerfile audit (`dockerfile`: `pare audit`) and the one answer every gate gives
//! (`verdict`). Rules and admission come with their issue.

pub mod dockerfile;
pub mod elf;
mod error;
pub mod loader;
pub mod verdict;

pub use error::{Error, Result};

pub use loader::{Binaries, Checked, LoadReport, Problem, check, check_under, gallery_hint, read_binaries};
pub use verdict::{Action, Failure, Location, Verdict};
