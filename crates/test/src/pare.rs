//! [`Pare`]: runs the `pare` binary isolated from the host and from other tests.
//!
//! Every [`Pare`] has its own temporary HOME, cache, XDG directories and an empty Docker config, so
//! no test reads the host's credentials, proxies or caches, nor another test's cache. The tests that
//! deliberately share a cache (the live tests share downloaded .debs) say so with [`Pare::with_cache`].
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Proxy variables removed from every run.
const PROXIES: [&str; 8] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"];

/// A command builder for the `pare` binary with an environment of its own (see the module doc).
///
/// ```text
/// let pare = Pare::new(env!("CARGO_BIN_EXE_pare"));
/// run_ok(pare.cmd().args(["ls", "oci:layout:tag"]));
/// ```
#[derive(Debug)]
pub struct Pare {
    bin: PathBuf,
    root: tempfile::TempDir,
    cache: PathBuf,
    epoch: Option<String>,
}

impl Pare {
    /// A fresh environment for the binary at `bin` (pass `env!("CARGO_BIN_EXE_pare")`): empty HOME,
    /// cache and XDG directories, `SOURCE_DATE_EPOCH` removed.
    pub fn new(bin: impl Into<PathBuf>) -> Pare {
        let root = tempfile::Builder::new().prefix("pare-test-").tempdir().expect("temporary directory");
        for dir in ["home", "cache", "xdg-cache", "xdg-config", "xdg-data", "xdg-runtime", "docker"] {
            std::fs::create_dir(root.path().join(dir)).expect("creating a test directory");
        }
        let cache = root.path().join("cache");
        Pare { bin: bin.into(), root, cache, epoch: None }
    }

    /// Uses `cache` as `PARE_CACHE_DIR` instead of a fresh one: for the tests that deliberately share
    /// downloads, or that look into the cache they give.
    pub fn with_cache(mut self, cache: impl Into<PathBuf>) -> Pare {
        self.cache = cache.into();
        self
    }

    /// Sets `SOURCE_DATE_EPOCH` to `epoch` for every command (by default it is removed).
    pub fn source_date_epoch(mut self, epoch: &str) -> Pare {
        self.epoch = Some(epoch.to_owned());
        self
    }

    /// A command running the binary in this environment. The environment is reset, not cleared:
    /// PATH and the like stay, the variables that would make a run depend on the host are set or removed.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        self.apply(&mut cmd);
        cmd
    }

    /// Sets this environment on another command (a shell that runs the binary, `script`, ...).
    pub fn apply(&self, cmd: &mut Command) {
        let dir = |name: &str| self.root.path().join(name);
        cmd.env("HOME", dir("home"))
            .env("PARE_CACHE_DIR", &self.cache)
            .env("XDG_CACHE_HOME", dir("xdg-cache"))
            .env("XDG_CONFIG_HOME", dir("xdg-config"))
            .env("XDG_DATA_HOME", dir("xdg-data"))
            .env("XDG_RUNTIME_DIR", dir("xdg-runtime"))
            .env("DOCKER_CONFIG", dir("docker"))
            .env("NO_COLOR", "1")
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("PARE_VULN_DB")
            .env_remove("PARE_DATA_DIR")
            .env_remove("PARE_MONITOR_DATABASE")
            .env_remove("PARE_MONITOR_TOKEN")
            .env_remove("PARE_MONITOR_ALERT_SECRET");
        for var in PROXIES {
            cmd.env_remove(var);
        }
        match &self.epoch {
            Some(epoch) => cmd.env("SOURCE_DATE_EPOCH", epoch),
            None => cmd.env_remove("SOURCE_DATE_EPOCH"),
        };
    }

    /// The binary's path.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// `PARE_CACHE_DIR` of every command.
    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// `HOME` of every command.
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// The temporary directory holding HOME and the other directories; removed on drop.
    pub fn root(&self) -> &Path {
        self.root.path()
    }
}
