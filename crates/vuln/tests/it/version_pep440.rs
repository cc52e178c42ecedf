//! PEP 440 order against Python's `packaging.version` (Debian's python3-packaging, one process) on real
//! versions from the PyPA advisory database (fixtures/versions/pypi-versions.txt).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

use pare_vuln::Ecosystem;
use pare_vuln::version;

const VERSIONS: &str = include_str!("../fixtures/versions/pypi-versions.txt");

/// Debian's interpreter, where python3-packaging is installed (a pyenv `python3` may lack it).
const PYTHON: &str = "/usr/bin/python3";

const SCRIPT: &str = r#"
import sys
from packaging.version import Version, InvalidVersion
def p(s):
    try:
        return Version(s)
    except InvalidVersion:
        return None
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    va, vb = p(a), p(b)
    if va is None or vb is None:
        print("invalid" if va is None else "ok", "invalid" if vb is None else "ok")
    else:
        print("<" if va < vb else ">" if va > vb else "=")
"#;

#[test]
fn real_pypi_versions_match_packaging() {
    let versions: Vec<&str> = VERSIONS.lines().filter(|l| !l.is_empty()).collect();
    assert!(versions.len() >= 2000);
    let mut pairs = Vec::new();
    let mut seed: u64 = 440;
    for i in 0..versions.len() {
        pairs.push((versions[i], versions[(i + 1) % versions.len()]));
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        pairs.push((versions[i], versions[(seed >> 33) as usize % versions.len()]));
    }
    for (a, b) in
        [("1.0", "1.0.0"), ("1.0.post1", "1.0"), ("1!0.1", "2.0"), ("1.0+local", "1.0"), ("1.0a1", "1.0.dev1")]
    {
        pairs.push((a, b));
    }
    let mut child = Command::new(PYTHON)
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 is needed (scripts/system-deps.sh installs python3-packaging)");
    let input: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    let answers: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(answers.len(), pairs.len());

    let mut wrong = Vec::new();
    let mut compared = 0;
    for ((a, b), want) in pairs.iter().zip(&answers) {
        let (pa, pb) = (version::parse(Ecosystem::PyPI, a), version::parse(Ecosystem::PyPI, b));
        let got = match (&pa, &pb) {
            (Ok(x), Ok(y)) => {
                compared += 1;
                match x.compare(y).unwrap() {
                    Ordering::Less => "<".to_string(),
                    Ordering::Equal => "=".to_string(),
                    Ordering::Greater => ">".to_string(),
                }
            }
            _ => {
                format!("{} {}", if pa.is_err() { "invalid" } else { "ok" }, if pb.is_err() { "invalid" } else { "ok" })
            }
        };
        if &got != want {
            wrong.push(format!("{a} vs {b}: pare `{got}`, packaging `{want}`"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} pairs disagree:\n{}", wrong.len(), pairs.len(), wrong.join("\n"));
    assert!(compared > 4000, "only {compared} pairs were valid on both sides");
    eprintln!("{} pairs agree with packaging ({compared} compared, the rest refused by both)", pairs.len());
}
