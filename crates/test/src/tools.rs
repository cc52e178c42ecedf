//! Locating and running the real tools the tests compare pare with.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The path of a required tool; panics with the install hint when it is missing.
pub fn require(tool: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    panic!("`{tool}` is not installed: run ./scripts/system-deps.sh (it installs skopeo, umoci, docker-registry)");
}

/// Runs a command and returns its output, panicking with stdout and stderr when it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command expected to fail; returns its output.
pub fn run_err(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        !out.status.success(),
        "{cmd:?} should have failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The fixtures directory of this crate.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One filesystem entry, as compared between two extracted trees.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct TreeEntry {
    pub path: String,
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub content: Option<Vec<u8>>,
    pub link: Option<String>,
}

/// Walks a directory without following symlinks and lists what is in it, sorted by path.
pub fn tree(root: &Path) -> Vec<TreeEntry> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let ft = meta.file_type();
            let (kind, content, link) = if ft.is_dir() {
                stack.push(path.clone());
                ('d', None, None)
            } else if ft.is_symlink() {
                ('l', None, Some(std::fs::read_link(&path).unwrap().to_string_lossy().into_owned()))
            } else if ft.is_file() {
                ('-', Some(std::fs::read(&path).unwrap()), None)
            } else {
                ('?', None, None)
            };
            out.push(TreeEntry {
                path: rel,
                kind,
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                content,
                link,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The environment variable that lets people without network skip the tests that need Debian's archive.
pub const OFFLINE_ENV: &str = "PARE_TEST_OFFLINE";

/// Whether a test that needs Debian's archive should run: `false` (after printing why) only when
/// `PARE_TEST_OFFLINE=1` is set; otherwise an unreachable archive fails the test, so a broken feature
/// cannot hide behind a skip.
pub fn debian_archive_available() -> bool {
    use std::net::ToSocketAddrs;
    if std::env::var(OFFLINE_ENV).is_ok_and(|v| v == "1") {
        println!("not run: {OFFLINE_ENV}=1 (this test needs deb.debian.org)");
        return false;
    }
    let reachable = ("deb.debian.org", 80).to_socket_addrs().is_ok_and(|mut addrs| {
        addrs.any(|a| std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(10)).is_ok())
    });
    assert!(reachable, "deb.debian.org is unreachable: this test needs it (set {OFFLINE_ENV}=1 to skip such tests)");
    true
}

/// The build's target directory (`$CARGO_TARGET_DIR`, else the workspace's `target/`), where
/// `scripts/system-deps.sh` makes the venvs of the peer tools and validators.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// A program of a venv that `scripts/system-deps.sh` makes (`venv_tool("venv-syft", "syft")`);
/// panics with the fix when it is missing: a test never passes without its peer.
pub fn venv_tool(venv: &str, program: &str) -> PathBuf {
    let path = target_dir().join(venv).join("bin").join(program);
    assert!(path.is_file(), "{} is missing: run scripts/system-deps.sh", path.display());
    path
}

/// The `node_modules` of an npm prefix that `scripts/system-deps.sh` fills under the target directory
/// (`npm_modules("npm-sigstore", "@sigstore/verify")`), for `NODE_PATH`; panics with the fix when
/// the module is missing.
pub fn npm_modules(prefix: &str, module: &str) -> PathBuf {
    let modules = target_dir().join(prefix).join("node_modules");
    assert!(
        modules.join(module).join("package.json").is_file(),
        "{} is missing: run scripts/system-deps.sh",
        modules.join(module).display()
    );
    modules
}
