//! The finding codes of `pare audit`: stable, documented in `docs/audit.md`, one action each.

use serde::Serialize;

use crate::verdict::Action;

/// One check of the Dockerfile audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Code {
    /// `DF001`
    pub code: &'static str,
    pub action: Action,
    /// What the check finds, in a few words.
    pub title: &'static str,
    /// hadolint's rules that find the same thing (compared in the tests).
    pub hadolint: &'static [&'static str],
}

pub const FULL_OS_BASE: &str = "DF001";
pub const UNPINNED_BASE: &str = "DF002";
pub const LATEST_OR_UNTAGGED: &str = "DF003";
pub const RUNS_AS_ROOT: &str = "DF004";
pub const BUILD_TOOLS_IN_FINAL: &str = "DF005";
pub const PACKAGE_MANAGER_IN_FINAL: &str = "DF006";
pub const PIPE_TO_SHELL: &str = "DF007";
pub const ADD_FROM_URL: &str = "DF008";
pub const APT_LISTS_LEFT: &str = "DF009";
pub const SECRET_IN_ENV_OR_ARG: &str = "DF010";
pub const BASE_LAYERS_DIFFER: &str = "DF020";
pub const BASE_NAME_DIFFERS: &str = "DF021";
pub const BASE_DIGEST_MOVED: &str = "DF022";

/// Every code, in order.
pub const CODES: &[Code] = &[
    Code { code: FULL_OS_BASE, action: Action::Deny, title: "full-OS base in the final stage", hadolint: &[] },
    Code { code: UNPINNED_BASE, action: Action::Warn, title: "base not pinned by a digest", hadolint: &[] },
    Code {
        code: LATEST_OR_UNTAGGED,
        action: Action::Deny,
        title: "base uses `latest` or no tag",
        hadolint: &["DL3006", "DL3007"],
    },
    Code { code: RUNS_AS_ROOT, action: Action::Deny, title: "final stage runs as root", hadolint: &["DL3002"] },
    Code {
        code: BUILD_TOOLS_IN_FINAL,
        action: Action::Deny,
        title: "compilers or build tools installed in the final stage",
        hadolint: &[],
    },
    Code {
        code: PACKAGE_MANAGER_IN_FINAL,
        action: Action::Warn,
        title: "package manager used in the final stage",
        hadolint: &[],
    },
    Code { code: PIPE_TO_SHELL, action: Action::Deny, title: "download piped into a shell", hadolint: &[] },
    Code { code: ADD_FROM_URL, action: Action::Deny, title: "ADD from a URL without a checksum", hadolint: &[] },
    Code {
        code: APT_LISTS_LEFT,
        action: Action::Warn,
        title: "apt lists left in the final image",
        hadolint: &["DL3009"],
    },
    Code { code: SECRET_IN_ENV_OR_ARG, action: Action::Deny, title: "secret in ENV or ARG", hadolint: &["DL3064"] },
    Code {
        code: BASE_LAYERS_DIFFER,
        action: Action::Deny,
        title: "image not built on the base the Dockerfile names (layers)",
        hadolint: &[],
    },
    Code {
        code: BASE_NAME_DIFFERS,
        action: Action::Deny,
        title: "image's base annotation names another base",
        hadolint: &[],
    },
    Code {
        code: BASE_DIGEST_MOVED,
        action: Action::Warn,
        title: "base reference now resolves to another digest",
        hadolint: &[],
    },
];

/// The code's entry (every code this crate reports has one).
pub fn code(code: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.code == code)
}

/// The action of a code this crate reports.
pub(crate) fn action(code_id: &str) -> Action {
    code(code_id).map_or(Action::Deny, |c| c.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_sorted() {
        let ids: Vec<&str> = CODES.iter().map(|c| c.code).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }
}
