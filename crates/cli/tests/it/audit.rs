//! `pare audit`: the table, JSON and SARIF outputs, exit statuses, and drift against real images
//! in the test registry (a base copied there, an image `pare build` made on it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use pare_deb::Paragraph;
use pare_deb::testing::{Compression, FileServer, RepoBuilder, TestKey, build_deb};
use pare_test::Pare;
use pare_test::registry::TestRegistry;
use pare_test::tools::{fixtures, run_err, run_ok, venv_tool};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn table_lines_exit_statuses_and_errors() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "Dockerfile",
        "FROM golang:1.22 AS build\nRUN CGO_ENABLED=0 go build -o /app .\n\nFROM ubuntu\nCOPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n",
    );
    // PATH defaults to ./Dockerfile.
    let out = run_err(pare.cmd().arg("audit").current_dir(tmp.path()));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "DF002 warn Dockerfile:1:1: base golang:1.22 is not pinned by a digest (fix: pin it: FROM golang:1.22@sha256:<digest> (`pare inspect golang:1.22` prints the digest))\n\
DF001 deny Dockerfile:4:1: final stage is based on ubuntu, a full Ubuntu system with a shell and a package manager (fix: build on gallery:bookworm/static instead (`pare build gallery:bookworm/static`; the rewritten stage is printed below))\n\
DF002 warn Dockerfile:4:1: base ubuntu is not pinned by a digest (fix: pin it: FROM ubuntu@sha256:<digest> (`pare inspect ubuntu` prints the digest))\n\
DF003 deny Dockerfile:4:1: base ubuntu has no tag, so it is whatever `latest` is at build time (fix: name a version and pin its digest: FROM ubuntu:<version>@sha256:<digest>)\n\
DF004 deny Dockerfile:4:1: final stage runs as root: no USER, and ubuntu runs as root (fix: add `USER 65532:65532` (or a named non-root user) before ENTRYPOINT/CMD)\n\
\n\
Suggested final stage on gallery:bookworm/static (it copies a Go program built with CGO_ENABLED=0 from stage build):\n\
\n\
# The final stage on gallery:bookworm/static: no shell, no package manager, user 65532.\n\
# Build the base, then pin the digest that command prints (pare knows it only after the\n\
# build: the gallery has no committed lock and Debian's archive moves):\n\
#   pare build gallery:bookworm/static --to REGISTRY/static:bookworm\n\
FROM REGISTRY/static:bookworm@sha256:DIGEST\n\
COPY --from=build /app /app\n\
USER 65532:65532\n\
ENTRYPOINT [\"/app\"]\n"
    );
    assert_eq!(text(&out.stderr), "Dockerfile: 3 denied, 2 warnings\n");

    // Warnings only: exit 0.
    let ok = write(
        tmp.path(),
        "ok.Dockerfile",
        "FROM gcr.io/distroless/static:nonroot\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
    );
    let out = run_ok(pare.cmd().arg("audit").arg(&ok));
    assert_eq!(text(&out.stdout).lines().count(), 1, "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("DF002 warn "));

    // Unparsable and unreadable: exit 2, naming file, line and what is wrong.
    let bad = write(tmp.path(), "bad.Dockerfile", "FROM debian:12\nRUN echo\nFROBNICATE x\n");
    let out = run_err(pare.cmd().arg("audit").arg(&bad));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .starts_with(&format!("error: {}:3:1: unknown instruction 'FROBNICATE'\nhint: ", bad.display())),
        "{}",
        text(&out.stderr)
    );
    let out = run_err(pare.cmd().arg("audit").arg(tmp.path().join("missing")));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Cannot read the Dockerfile"), "{}", text(&out.stderr));

    // JSON carries the same verdict and the suggestion.
    let out = run_err(pare.cmd().args(["audit", "--format", "json"]).arg(&file));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["verdict"]["failures"].as_array().unwrap().len(), 5);
    assert_eq!(doc["verdict"]["failures"][1]["rule"], "DF001");
    assert_eq!(doc["verdict"]["failures"][1]["location"]["line"], 4);
    assert_eq!(doc["suggestion"]["gallery"], "bookworm/static");
    assert_eq!(doc["stages"][1]["base"]["kind"], "image");
    assert!(doc["drift"].is_null());
    // The verb is listed in --help.
    let help = text(&run_ok(pare.cmd().arg("--help")).stdout);
    assert!(help.contains("\n  audit "), "{help}");
}

#[test]
fn sarif_passes_the_schema() {
    let pare = Pare::new(crate::PARE);
    let python = venv_tool("venv-cdx", "python");
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "Dockerfile", "FROM python:3.12\nENV API_TOKEN=x\nRUN pip install flask\n");
    let out = run_err(pare.cmd().args(["audit", "--format", "sarif"]).arg(&file));
    let sarif = write(tmp.path(), "audit.sarif", &text(&out.stdout));
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let check = Command::new(&python)
        .arg("-c")
        .arg("import json,sys,jsonschema\ns=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2]))\njsonschema.Draft7Validator(s).validate(d) if 'draft-07' in s.get('$schema','') else jsonschema.Draft4Validator(s).validate(d)")
        .arg(&schema)
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(check.status.success(), "SARIF schema rejects it: {}", text(&check.stderr));
    let doc: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let rules: Vec<&str> = results.iter().map(|r| r["ruleId"].as_str().unwrap()).collect();
    assert_eq!(rules, ["DF001", "DF002", "DF004", "DF010", "DF006"]);
    assert_eq!(results[3]["level"], "error");
    assert_eq!(results[3]["locations"][0]["physicalLocation"]["region"]["startLine"], 2);
    assert_eq!(results[4]["level"], "warning");
}

/// A signed one-package repository on 127.0.0.1, for `pare build` on a base.
fn repository(tmp: &Path) -> (FileServer, PathBuf) {
    let key = TestKey::generate(7, "pare audit tests <test@example.invalid>").unwrap();
    std::fs::write(tmp.join("test.gpg"), key.public_keyring().unwrap()).unwrap();
    let mut control = Paragraph::new();
    for (k, v) in
        [("Package", "tool"), ("Version", "1.0"), ("Architecture", "amd64"), ("Maintainer", "t <t@e.invalid>")]
    {
        control.set(k, v);
    }
    control.set("Description", "a tool for tests");
    let deb = build_deb(&control, &[], &[("usr/bin/tool", b"#!tool\n", 0o755)], Compression::Gzip).unwrap();
    let repo = tmp.join("repo");
    let mut builder = RepoBuilder::new(&repo, "stable", "amd64");
    builder.add(&control, &deb).unwrap();
    builder.write(&key).unwrap();
    (FileServer::start(&repo).unwrap(), tmp.join("test.gpg"))
}

#[test]
fn drift_against_an_image_built_on_the_base() {
    let registry = TestRegistry::start();
    let tmp = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE).with_cache(tmp.path().join("cache")).source_date_epoch("1700000000");
    let stdout = |out: std::process::Output| text(&out.stdout).trim().to_string();

    let base = format!("{}/base/hello:1", registry.host());
    let rootfs = format!("dir:{}", fixtures().join("hello-rootfs").display());
    let base_digest = stdout(run_ok(pare.cmd().arg("copy").arg(&rootfs).arg(&base)));
    let (server, _) = repository(tmp.path());
    let def = write(
        tmp.path(),
        "app.toml",
        &format!(
            "suite = \"stable\"\nmirror = \"{}\"\npockets = []\nkeyring = \"test.gpg\"\npackages = [\"tool\"]\nbase = \"{base}@{base_digest}\"\n",
            server.url()
        ),
    );
    let image = format!("oci:{}/app", tmp.path().display());
    run_ok(pare.cmd().arg("build").arg(&def).arg("--to").arg(&image));

    // Built on the base the Dockerfile names: the layers and annotations agree.
    let dockerfile = write(tmp.path(), "Dockerfile", &format!("FROM {base}\nCOPY tool /usr/bin/tool\nUSER 65532\n"));
    let out = run_ok(pare.cmd().arg("audit").arg(&dockerfile).arg("--image").arg(&image).args(["--format", "json"]));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["drift"]["matching_layers"], 1);
    assert_eq!(doc["drift"]["base_layers"], 1);
    assert_eq!(doc["drift"]["base_digest"], base_digest.as_str());
    assert_eq!(doc["drift"]["annotations"]["org.opencontainers.image.base.name"], base.as_str());
    let passed: Vec<&str> = doc["verdict"]["passed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(["DF020", "DF021", "DF022"].iter().all(|c| passed.contains(c)), "{passed:?}");

    // The Dockerfile names another base: the annotation and the layers say so.
    let other = format!("{}/base/other:1", registry.host());
    let other_root = tmp.path().join("other-rootfs");
    std::fs::create_dir_all(other_root.join("etc")).unwrap();
    std::fs::write(other_root.join("etc/other"), "other\n").unwrap();
    let other_digest = stdout(run_ok(pare.cmd().arg("copy").arg(format!("dir:{}", other_root.display())).arg(&other)));
    let wrong = write(tmp.path(), "Other.Dockerfile", &format!("FROM {other}\nUSER 65532\n"));
    let out = run_err(pare.cmd().arg("audit").arg(&wrong).arg("--image").arg(&image));
    assert_eq!(out.status.code(), Some(1));
    let table = text(&out.stdout);
    let image_digest = table.split("Drift: image ").nth(1).unwrap().split(' ').next().unwrap().to_string();
    let wrong_shown = wrong.display();
    assert!(
        table.contains(&format!(
            "DF020 deny {wrong_shown}:1:1: image {image_digest} is not built on {other} as it is now: its layer 1 is "
        )),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "DF021 deny {wrong_shown}:1:1: image {image_digest} says it is built on {base}, the Dockerfile names {other} (fix: build the image from this Dockerfile, or make FROM name the base the image was built on)"
        )),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "Drift: image {image_digest} against base {other} ({other_digest}): 0 of its 1 layers match"
        )),
        "{table}"
    );

    // The tag moved since the build: the base's layers are no longer the image's, and the digest moved.
    let moved = stdout(run_ok(pare.cmd().arg("copy").arg(format!("dir:{}", other_root.display())).arg(&base)));
    let out = run_err(pare.cmd().arg("audit").arg(&dockerfile).arg("--image").arg(&image));
    let table = text(&out.stdout);
    assert!(table.contains("DF020 deny "), "{table}");
    assert!(
        table.contains(&format!(
            "DF022 warn {}:1:1: image {image_digest} was built on {base} {base_digest}, its tag now resolves to {moved} (fix: rebuild to pick up the base's changes, and pin it: FROM {base}@{moved})",
            dockerfile.display()
        )),
        "{table}"
    );
    // --base reads the base from elsewhere: the original, copied into a layout, matches again.
    let layout = format!("oci:{}/base-copy", tmp.path().display());
    run_ok(pare.cmd().arg("copy").arg(&rootfs).arg(&layout));
    let out = run_ok(pare.cmd().arg("audit").arg(&dockerfile).arg("--image").arg(&image).arg("--base").arg(&layout));
    assert!(text(&out.stdout).contains("1 of its 1 layers match"), "{}", text(&out.stdout));
}

#[test]
fn suggested_gallery_names_exist() {
    let names: Vec<String> = pare_build::gallery::list().into_iter().map(|e| e.name).collect();
    for suite in pare_policy::dockerfile::SUITES {
        for name in pare_policy::dockerfile::GALLERY {
            assert!(
                names.contains(&format!("{suite}/{name}")),
                "gallery:{suite}/{name} is not in the gallery: {names:?}"
            );
        }
    }
}
