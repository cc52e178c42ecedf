//! Text from images reaches the terminal escaped: file names, Env, labels, os-release and package data
//! holding OSC 52 (writes the clipboard), colour escapes and line breaks neither run on the terminal
//! nor forge lines, in every human-readable output. `pare cat` alone writes bytes as they are.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use pare_oci::{
    Assembler, Compression, ImageSpec, LayerEntry, LayerOptions, LayoutSink, Platform, Quiet, RuntimeConfig,
};

/// OSC 52 (set the clipboard), a colour, and a line break that starts a forged line.
const EVIL: &str = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[31mred\nFORGED LINE";

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("running pare");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// No raw ESC, BEL or other control byte but line breaks, and no line that starts with the forged text.
fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{what}: a raw control character reached the output:\n{text:?}"
    );
    assert!(!text.lines().any(|l| l.trim_start().starts_with("FORGED")), "{what}: a forged line:\n{text}");
    assert!(text.contains("\\x1b]52;"), "{what}: the escape is shown, not dropped:\n{text}");
}

fn write_image(dir: &Path) -> String {
    let status = format!(
        "Package: evil{}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0{}\n\
         Description: x\n\n",
        EVIL.replace('\n', " "),
        "\x1b]52;c;eA==\x07"
    );
    let entries = vec![
        LayerEntry::dir("etc", 0o755),
        LayerEntry::file(
            "etc/os-release",
            0o644,
            format!("ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"{}\"\n", EVIL.replace('\n', " ")),
        ),
        LayerEntry::file(&format!("etc/{EVIL}"), 0o644, EVIL),
        LayerEntry::symlink("etc/link", &format!("/target{EVIL}")),
        LayerEntry::dir(&format!("etc/dir{EVIL}"), 0o755),
        LayerEntry::dir("var", 0o755),
        LayerEntry::dir("var/lib", 0o755),
        LayerEntry::dir("var/lib/dpkg", 0o755),
        LayerEntry::file("var/lib/dpkg/status", 0o644, status),
        LayerEntry::dir("usr", 0o755),
        LayerEntry::dir("usr/lib", 0o755),
        LayerEntry::dir("usr/lib/node_modules", 0o755),
        LayerEntry::dir("usr/lib/node_modules/evil", 0o755),
        LayerEntry::file(
            "usr/lib/node_modules/evil/package.json",
            0o644,
            serde_json::json!({"name": format!("evil{EVIL}"), "version": format!("1.0{EVIL}"), "license": EVIL})
                .to_string(),
        ),
    ];
    let mut asm = Assembler::new().unwrap();
    let layer = asm
        .add_layer(entries, &LayerOptions { mtime: 1_700_000_000, compression: Compression::Gzip, level: None })
        .unwrap();
    let spec = ImageSpec {
        platform: Platform::host(),
        runtime: RuntimeConfig {
            user: Some(format!("root{EVIL}")),
            env: vec![format!("EVIL={EVIL}"), "PATH=/usr/bin".into()],
            entrypoint: Some(vec![format!("/bin/sh{EVIL}")]),
            cmd: None,
            working_dir: None,
            labels: BTreeMap::from([(format!("key{EVIL}"), format!("value{EVIL}"))]),
            stop_signal: None,
        },
        created: 1_700_000_000,
        annotations: BTreeMap::new(),
    };
    let desc = asm.add_image(&spec, &[layer]).unwrap();
    let root = asm.finish(&desc).unwrap().open().unwrap();
    pare_oci::copy(
        &root,
        Box::new(LayoutSink::create(dir, Some("evil")).unwrap()),
        &pare_oci::PlatformChoice::All,
        &Quiet,
    )
    .unwrap();
    format!("oci:{}:evil", dir.display())
}

#[test]
fn image_text_is_escaped_in_every_human_readable_output() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let src = write_image(&tmp.path().join("layout"));

    let ls = run(pare.cmd().env_remove("NO_COLOR").args(["ls", &src]));
    assert_clean("ls", &ls.stdout);
    let ls_text = String::from_utf8_lossy(&ls.stdout);
    assert!(ls_text.contains("/etc/\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[31mred\\nFORGED LINE"), "{ls_text}");
    assert!(ls_text.contains("-> /target\\x1b]52;"), "{ls_text}");

    let inspect = run(pare.cmd().env_remove("NO_COLOR").args(["inspect", &src]));
    assert_clean("inspect", &inspect.stdout);
    let inspect_text = String::from_utf8_lossy(&inspect.stdout);
    assert!(inspect_text.contains("EVIL=\\x1b]52;") && inspect_text.contains("key\\x1b]52;"), "{inspect_text}");

    let sbom = run(pare.cmd().env_remove("NO_COLOR").args(["sbom", &src]));
    assert_clean("sbom", &sbom.stdout);
    // The dpkg entry's invalid name is a warning, quoted escaped.
    assert!(!String::from_utf8_lossy(&sbom.stderr).chars().any(|c| c.is_control() && c != '\n'), "{:?}", sbom.stderr);
    assert!(
        String::from_utf8_lossy(&sbom.stdout).contains("evil\\x1b]52;"),
        "{}",
        String::from_utf8_lossy(&sbom.stdout)
    );

    // The same package read back from an SBOM file, in sbom's and diff's tables.
    let spdx = tmp.path().join("evil.spdx.json");
    run(pare.cmd().env_remove("NO_COLOR").args(["sbom", &src, "--format", "spdx-json", "--output"]).arg(&spdx));
    let again = run(pare.cmd().env_remove("NO_COLOR").arg("sbom").arg(&spdx));
    assert_clean("sbom of an SBOM", &again.stdout);
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let diff = run(pare
        .cmd()
        .env_remove("NO_COLOR")
        .args(["diff", &src])
        .arg(format!("dir:{}", tmp.path().join("empty").display()))
        .env("PARE_VULN_DB", tmp.path().join("no.db")));
    assert_clean("diff", &diff.stdout);

    // Errors quoting image paths, and warnings, are escaped too.
    let out = pare.cmd().env_remove("NO_COLOR").args(["cat", &src, &format!("/etc/dir{EVIL}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!out.stderr.iter().any(|b| *b == 0x1b || *b == 0x07), "{:?}", String::from_utf8_lossy(&out.stderr));

    // `pare cat` is cat: the file's bytes, as they are.
    let cat = run(pare.cmd().env_remove("NO_COLOR").args(["cat", &src, &format!("/etc/{EVIL}")]));
    assert_eq!(cat.stdout, EVIL.as_bytes());
}

/// Log lines (`-v`, warnings from the libraries) carry colour codes only on a terminal without `NO_COLOR`.
#[test]
fn log_lines_are_coloured_only_on_a_terminal_without_no_color() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let src = write_image(&tmp.path().join("layout"));
    let piped = run(pare.cmd().env_remove("NO_COLOR").args(["-v", "ls", &src]));
    let log = String::from_utf8_lossy(&piped.stderr);
    assert!(log.contains("applied layer"), "the debug events are there: {log}");
    assert!(!piped.stderr.contains(&0x1b), "no colour codes into a pipe: {log:?}");

    // On a terminal (a pseudo-terminal from util-linux `script`), colours unless NO_COLOR is set.
    let on_tty = |no_color: Option<&str>| {
        let command = format!("{} -v ls '{src}' >/dev/null", pare.bin().display());
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"]).env_remove("NO_COLOR");
        pare.apply(&mut cmd);
        cmd.env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = run(&mut cmd);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains("applied layer"), "{text}");
        text
    };
    assert!(on_tty(None).contains("\x1b["), "coloured on a terminal");
    assert!(!on_tty(Some("1")).contains('\x1b'), "NO_COLOR=1 turns colour off");
}
