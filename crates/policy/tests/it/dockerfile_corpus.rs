//! The corpus of real-world Dockerfile patterns (`tests/fixtures/dockerfiles`, sources in its
//! SOURCE.md): every file audits without error, and gives exactly the codes and lines of
//! `expected.txt` (one line per file: `NAME CODE@LINE …`, `-` for none), each entry justified in
//! SOURCE.md by the file's content.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;

fn findings(path: &std::path::Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    let audit =
        pare_policy::dockerfile::audit(&name, &std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let codes: Vec<String> =
        audit.verdict.failures.iter().map(|f| format!("{}@{}", f.rule, f.location.unwrap().line)).collect();
    if codes.is_empty() { "-".into() } else { codes.join(" ") }
}

#[test]
fn corpus_gives_the_expected_codes() {
    let files = crate::corpus();
    assert!(files.len() >= 30, "the corpus has {} files", files.len());
    let dir = files[0].parent().unwrap().to_path_buf();
    let expected: BTreeMap<String, String> = std::fs::read_to_string(dir.join("expected.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, codes) = l.split_once(' ').unwrap_or((l, ""));
            (name.to_string(), codes.trim().to_string())
        })
        .collect();
    let mut actual = BTreeMap::new();
    for path in &files {
        actual.insert(path.file_name().unwrap().to_string_lossy().into_owned(), findings(path));
    }
    if std::env::var_os("PARE_PRINT_CORPUS").is_some() {
        for (name, codes) in &actual {
            println!("{name} {codes}");
        }
    }
    assert_eq!(actual, expected);
}
