//! Shell completions and man pages come from the same clap types as `--help`; errors print each cause once
//! and their hints after the chain (issue 11).
#![allow(clippy::unwrap_used)]

use std::process::Command;

use pare_test::Pare;
use pare_test::tools::{run_err, run_ok};

#[test]
fn completions_and_man_pages_name_every_verb() {
    let env = Pare::new(crate::PARE);
    let pare = || env.cmd();
    let help = String::from_utf8(run_ok(pare().arg("--help")).stdout).unwrap();
    let verbs: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
        .collect();
    assert!(verbs.contains(&"outdated") && verbs.contains(&"scan") && verbs.len() > 15, "{verbs:?}");
    for shell in ["bash", "zsh", "fish"] {
        let script = String::from_utf8(run_ok(pare().args(["completions", shell])).stdout).unwrap();
        for verb in &verbs {
            assert!(script.contains(verb), "{shell} completion lacks {verb}");
        }
    }
    // bash accepts the script.
    let script = run_ok(pare().args(["completions", "bash"])).stdout;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pare.bash"), script).unwrap();
    run_ok(Command::new("bash").arg("-n").arg(dir.path().join("pare.bash")));

    let page = String::from_utf8(run_ok(pare().arg("man")).stdout).unwrap();
    assert!(page.contains(".TH pare 1") && page.contains("outdated"), "{page}");
    run_ok(pare().args(["man", "--dir"]).arg(dir.path().join("man1")));
    for verb in &verbs {
        let file = dir.path().join("man1").join(format!("pare-{verb}.1"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(".SH NAME"), "{}", file.display());
    }
    let bad = run_err(pare().args(["completions", "tcsh"]));
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn an_error_prints_each_cause_once_and_its_hints_after_the_chain() {
    let env = Pare::new(crate::PARE);
    let pare = || env.cmd();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("app.spdx.json");
    let out = run_err(pare().arg("scan").arg(&missing));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("error: ") && lines[0].contains("no such file"), "{err}");
    let first_hint = lines.iter().position(|l| l.starts_with("hint: ")).unwrap();
    assert!(lines[first_hint..].iter().all(|l| l.starts_with("hint: ")), "hints come last: {err}");
    let mut seen = std::collections::BTreeSet::new();
    for line in &lines {
        assert!(seen.insert(*line), "printed twice: {line}\n{err}");
    }
}
