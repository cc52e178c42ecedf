//! `pare ldd` against what the loader really does. Programs compiled here (C against glibc, C++
//! against libstdc++, Rust, a static Go program, and a C program that needs symbol version FOO_2
//! of a library shipped beside it in a build that defines only FOO_1) are added to the gallery's
//! static, base and cc images (bookworm, amd64, from deb.debian.org); for every program and image
//! pare's verdict must be what `podman run` does: loads ⇔ runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use pare_test::Pare;
use pare_test::tools::{require, run_ok};

const PROGRAMS: [&str; 5] = ["hello_c", "hello_cpp", "hello_rs", "hello_go", "versioned"];

/// Compiles the test programs into `app/` (with the library `versioned` loads).
fn compile(dir: &Path) -> std::path::PathBuf {
    let (app, build) = (dir.join("app"), dir.join("build"));
    std::fs::create_dir_all(&app).unwrap();
    std::fs::create_dir_all(&build).unwrap();
    let write = |name: &str, text: &str| std::fs::write(build.join(name), text).unwrap();
    write("hello.c", "#include <stdio.h>\nint main(void) { puts(\"hello from C\"); return 0; }\n");
    write("hello.cpp", "#include <iostream>\nint main() { std::cout << \"hello from C++\" << std::endl; }\n");
    write("hello.rs", "fn main() { println!(\"hello from Rust\"); }\n");
    write("hello.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from Go\") }\n");
    write("foo.c", "int foo_old(void) { return 1; }\n#ifdef NEW\nint foo_new(void) { return 2; }\n#endif\n");
    write("old.map", "FOO_1 { global: foo_old; local: *; };\n");
    write("new.map", "FOO_1 { global: foo_old; local: *; };\nFOO_2 { global: foo_new; } FOO_1;\n");
    write("app.c", "#include <stdio.h>\nint foo_new(void);\nint main(void) { printf(\"%d\\n\", foo_new()); }\n");
    let out = |name: &str| app.join(name).display().to_string();
    let cc = |args: &[&str]| {
        run_ok(Command::new(require("gcc")).current_dir(&build).args(args));
    };
    cc(&["hello.c", "-o", &out("hello_c")]);
    run_ok(Command::new(require("g++")).current_dir(&build).args(["hello.cpp", "-o", &out("hello_cpp")]));
    run_ok(Command::new("rustc").current_dir(&build).args(["hello.rs", "-o", &out("hello_rs")]));
    run_ok(
        Command::new(require("go"))
            .current_dir(&build)
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", dir.join("gocache"))
            .env("GOPATH", dir.join("gopath"))
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local")
            .args(["build", "-o", &out("hello_go"), "hello.go"]),
    );
    // `versioned` is linked against the new library and finds the old one beside it ($ORIGIN).
    std::fs::create_dir_all(build.join("new")).unwrap();
    cc(&["-shared", "-fPIC", "-DNEW", "-Wl,--version-script=new.map", "-Wl,-soname,libfoo.so.1"]
        .iter()
        .copied()
        .chain(["-o", "new/libfoo.so.1", "foo.c"])
        .collect::<Vec<_>>());
    std::os::unix::fs::symlink("libfoo.so.1", build.join("new/libfoo.so")).unwrap();
    cc(&["app.c", "-Lnew", "-lfoo", "-Wl,-rpath,$ORIGIN", "-o", &out("versioned")]);
    cc(&[
        "-shared",
        "-fPIC",
        "-Wl,--version-script=old.map",
        "-Wl,-soname,libfoo.so.1",
        "-o",
        &out("libfoo.so.1"),
        "foo.c",
    ]);
    app
}

/// A scratch directory with a lowercase path (podman refuses `oci:` paths with capitals).
fn scratch(test: &str) -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ldd");
    std::fs::create_dir_all(&base).unwrap();
    tempfile::Builder::new()
        .prefix(&format!("{test}-"))
        .rand_bytes(0)
        .suffix(&std::process::id().to_string())
        .tempdir_in(base)
        .unwrap()
}

/// `pare` with the live tests' shared .deb cache.
fn pare() -> Pare {
    Pare::new(crate::PARE).with_cache(crate::live_cache())
}

/// `pare build gallery:IMAGE --arch amd64 --add APP:/app --to LAYOUT` with `flags` (such as
/// `--no-load-check`), run to its end.
fn build_with_app(image: &str, app: &Path, layout: &str, flags: &[&str]) -> Output {
    let add = format!("{}:/app", app.display());
    let gallery = format!("gallery:{image}");
    let args = ["build", gallery.as_str(), "--arch", "amd64", "--add", add.as_str(), "--to", layout];
    pare().cmd().args(args).args(flags).output().unwrap()
}

/// [`build_with_app`] that must succeed.
fn built_with_app(image: &str, app: &Path, layout: &str, flags: &[&str]) {
    let out = build_with_app(image, app, layout, flags);
    assert!(out.status.success(), "build {image} --add: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn ldd_verdicts_match_podman_runs() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    let podman = require("podman");
    let dir = scratch("podman");
    let app = compile(dir.path());
    let mut verdicts: BTreeMap<(&str, &str), (bool, bool)> = BTreeMap::new();
    for image in ["static", "base", "cc"] {
        let layout = format!("oci:{}:{image}", dir.path().join(image).display());
        built_with_app(image, &app, &layout, &["--no-load-check"]);
        let paths: Vec<String> = PROGRAMS.iter().map(|p| format!("/app/{p}")).collect();
        let out = pare().cmd().args(["ldd", &layout, "--format", "json"]).args(&paths).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let id = String::from_utf8(run_ok(Command::new(&podman).args(["pull", "-q", &layout])).stdout).unwrap();
        let id = id.trim();
        for (program, checked) in PROGRAMS.iter().zip(report["checked"].as_array().unwrap()) {
            let fatal = checked["problems"].as_array().unwrap().iter().any(|p| p["weak"] != true);
            let run = Command::new(&podman)
                .args(["run", "--rm", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit"])
                .args(["nproc=1024:1024", "--network=none", "--entrypoint", &format!("/app/{program}"), id])
                .output()
                .unwrap();
            println!(
                "{image} /app/{program}: pare {} ({}), podman exit {:?}: {}{}",
                if fatal { "does not load" } else { "loads" },
                checked["problems"],
                run.status.code(),
                String::from_utf8_lossy(&run.stdout).trim(),
                String::from_utf8_lossy(&run.stderr).trim()
            );
            verdicts.insert((image, program), (!fatal, run.status.success()));
        }
        // Without paths: every ELF file of the image; only the programs podman could not start fail.
        let whole = pare().cmd().args(["ldd", &layout, "--format", "json"]).output().unwrap();
        let whole: serde_json::Value = serde_json::from_slice(&whole.stdout).unwrap();
        let mut failing: Vec<String> = whole["checked"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["problems"].as_array().unwrap().iter().any(|p| p["weak"] != true))
            .map(|c| c["path"].as_str().unwrap().to_string())
            .collect();
        failing.sort();
        let mut expected: Vec<String> =
            PROGRAMS.iter().filter(|p| !verdicts[&(image, **p)].1).map(|p| format!("/app/{p}")).collect();
        expected.sort();
        assert_eq!(failing, expected, "{image}: files pare says would not load");
        let _ = Command::new(&podman).args(["rmi", "-f", id]).output();
    }
    for ((image, program), (loads, runs)) in &verdicts {
        assert_eq!(loads, runs, "{image} /app/{program}: pare says loads={loads}, podman ran={runs}");
    }
    // What each image is for, so that agreement is not agreement on nothing.
    let runs = |image, program| verdicts[&(image, program)].1;
    assert!(runs("static", "hello_go") && runs("base", "hello_go"));
    assert!(!runs("static", "hello_c") && runs("base", "hello_c") && runs("cc", "hello_c"));
    assert!(!runs("base", "hello_cpp") && runs("cc", "hello_cpp"));
    assert!(runs("cc", "hello_rs"));
    assert!(["static", "base", "cc"].iter().all(|i| !runs(i, "versioned")));
}

#[test]
fn ldd_names_missing_interpreter_library_and_version() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    let dir = scratch("messages");
    let app = compile(dir.path());
    let layout = |name: &str| format!("oci:{}:{name}", dir.path().join(name).display());
    for image in ["static", "base"] {
        built_with_app(image, &app, &layout(image), &["--no-load-check"]);
    }
    let text = |image: &str, program: &str| {
        let out = pare().cmd().args(["ldd", &layout(image), &format!("/app/{program}")]).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = text("static", "hello_c");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("its interpreter /lib64/ld-linux-x86-64.so.2 is not in the image"), "{out}");
    let (code, out) = text("base", "hello_cpp");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("libstdc++.so.6 (needed by /app/hello_cpp) is not found in /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, /lib, /usr/lib"),
        "{out}"
    );
    let (code, out) = text("base", "versioned");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("version FOO_2 of libfoo.so.1 (needed by /app/versioned) is not defined by /app/libfoo.so.1"),
        "{out}"
    );
    let (code, out) = text("base", "hello_c");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6"), "{out}");
    let (code, out) = text("static", "hello_go");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("/app/hello_go (static): loads"), "{out}");
    // A path that is not there, and one that is not ELF.
    let (code, out) = text("base", "nothing");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("/app/nothing: no such file in the image"), "{out}");
    let out = pare().cmd().args(["ldd", &layout("base"), "/etc/os-release"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("not an ELF executable or shared object"));

    // `pare build --add` refuses (exit 1, nothing written) what would not load, and says what provides it.
    let refused = layout("refused");
    let out = build_with_app("base", &app, &refused, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("amd64: /app/hello_cpp: libstdc++.so.6 (needed by /app/hello_cpp) is not found"), "{err}");
    assert!(err.contains("amd64: /app/versioned: version FOO_2 of libfoo.so.1"), "{err}");
    assert!(err.contains("hint: gallery:cc (libstdc++ and libgcc) provides it"), "{err}");
    // The Debian package, from bookworm's signed Contents index.
    assert!(
        err.contains("hint: libstdc++6 ships libstdc++.so.6 (/usr/lib/x86_64-linux-gnu/libstdc++.so.6) in bookworm: add it to `packages`"),
        "{err}"
    );
    assert!(!dir.path().join("refused").exists(), "a refused image was written");
    // Only loadable programs: written.
    let ok_dir = dir.path().join("ok-app");
    std::fs::create_dir_all(&ok_dir).unwrap();
    std::fs::copy(app.join("hello_c"), ok_dir.join("hello_c")).unwrap();
    built_with_app("base", &ok_dir, &layout("ok"), &[]);
}

/// A binary built against a newer glibc: trixie's python3.13 (it needs `GLIBC_2.38`) added to
/// bookworm's python3 image (glibc 2.36, and every library python3.13 names). pare names both
/// missing versions, and podman's loader refuses it with the same words.
#[test]
fn a_trixie_binary_on_bookworm_needs_a_newer_glibc() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    let podman = require("podman");
    let dir = scratch("glibc");
    let layout = |name: &str| format!("oci:{}:{name}", dir.path().join(name).display());
    run_ok(pare().cmd().args(["build", "gallery:trixie/python3", "--arch", "amd64", "--to", &layout("trixie")]));
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    let binary = run_ok(pare().cmd().args(["cat", &layout("trixie"), "/usr/bin/python3.13"])).stdout;
    std::fs::write(app.join("python3.13"), binary).unwrap();
    std::fs::set_permissions(app.join("python3.13"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mixed = layout("mixed");
    // Refused by default, written with --no-load-check.
    let refused = build_with_app("bookworm/python3", &app, &mixed, &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));
    built_with_app("bookworm/python3", &app, &mixed, &["--no-load-check"]);
    let out = pare().cmd().args(["ldd", &mixed, "/app/python3.13"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for library in ["libc.so.6", "libm.so.6"] {
        assert!(
            text.contains(&format!(
                "version GLIBC_2.38 of {library} (needed by /app/python3.13) is not defined by /lib/x86_64-linux-gnu/{library}"
            )),
            "{text}"
        );
    }
    let id = String::from_utf8(run_ok(Command::new(&podman).args(["pull", "-q", &mixed])).stdout).unwrap();
    let run = Command::new(&podman)
        .args(["run", "--rm", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"])
        .args(["--network=none", "--entrypoint", "/app/python3.13", id.trim(), "-c", "print(1)"])
        .output()
        .unwrap();
    let _ = Command::new(&podman).args(["rmi", "-f", id.trim()]).output();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && stderr.contains("version `GLIBC_2.38' not found"), "{stderr}");
}
