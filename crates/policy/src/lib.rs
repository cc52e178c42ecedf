//! Policy over images: rules read from a policy file (`file`) evaluated over one image
//! (`evaluate`), verification summaries (`vsa`) and evidence documents (`evidence`), whether an
//! image's binaries load (`loader`, from the ELF facts `elf` reads), the Dockerfile audit
//! (`dockerfile`: `pare audit`), the Kubernetes admission webhook (`admission`), and the one
//! answer every gate gives (`verdict`).

pub mod admission;
pub mod dockerfile;
pub mod elf;
mod error;
pub mod evaluate;
pub mod evidence;
pub mod file;
pub mod loader;
pub mod verdict;
pub mod vsa;

pub use error::{Error, Result};
pub use evaluate::{BaseNow, Context, Evaluation, Subject, check_location, evaluate, resolve_base};
pub use file::{Check, Content, Exception, Policy, Rule, STARTER, Scope, TrustSpec};
pub use loader::{Binaries, Checked, LoadReport, Problem, check, check_under, gallery_hint, read_binaries};
pub use verdict::{Action, Failure, Location, RuleInfo, Verdict};
