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
pub struct GateFailure {
    pub message: String,
    pub hints: Vec<String>,
}

impl std::fmt::Display for GateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GateFailure {}

/// An error of the CLI's own, with what to do about it.
#[derive(Debug)]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// `Hinted` as an `anyhow::Error`.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted { message: message.into(), hint: hint.into() })
}

/// The hints an error in a chain carries: the libraries' `hint()`, the CLI's own errors.
pub fn hints_of(cause: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let one = if let Some(e) = cause.downcast_ref::<pare_oci::Error>() {
        e.hint()
    } else if let Some(e) = cause.downcast_ref::<pare_deb::Error>() {
        e.hint()
    } else if let Some(e) = cause.downcast_ref::<pare_sbom::Error>() {
        e.hint()
    } else if let Some(e) = cause.downcast_ref::<pare_vuln::Error>() {
        e.hint()
    } else if let Some(e) = cause.downcast_ref::<pare_build::Error>() {
        e.hint()
    } else if let Some(e) = cause.downcast_ref::<pare_sign::Error>() {
        e.hint()
    } else if let Some(e) = cause.downcast_ref::<pare_policy::Error>() {
        e.hint()
    } else if let Some(e) = cause.downcast_ref::<pare_monitor::Error>() {
        e.hint()
    } else if let Some(e) = cause.downcast_ref::<Hinted>() {
        Some(e.hint.clone())
    } else if let Some(e) = cause.downcast_ref::<GateFailure>() {
        return e.hints.clone();
    } else {
        None
    };
    one.into_iter().collect()
}
