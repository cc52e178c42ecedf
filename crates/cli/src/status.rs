//! Exit statuses a CI can act on, in one place.

use std::process::ExitCode;

/// How `pare` exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the verb did its job and every check passed.
    Success,
    /// 1: a gate said no (`scan --fail-on`, `outdated` with a security update, a policy).
    Failure,
    /// 2: anything else went wrong: bad input, network, I/O.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        })
    }
}

/// An error that is a gate's "no" (exit 1), not a failure to do the job: `pare build --add` of a
/// program that would not load.
#[derive(Debug)]
pub struct GateFailure(pub String);

impl std::fmt::Display for GateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GateFailure {}
