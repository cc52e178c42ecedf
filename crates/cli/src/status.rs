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
