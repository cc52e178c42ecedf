//! A real PostgreSQL server for tests: `initdb` in a temporary directory, started on 127.0.0.1 with
//! `pg_ctl` (as `nobody` through `runuser` when the tests run as root, since PostgreSQL refuses root),
//! stopped when dropped. PostgreSQL comes from Debian's packages (`scripts/system-deps.sh`); a missing
//! server fails the test: it is never skipped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server; `url()` connects as the superuser `pare` (trust authentication, loopback only).
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_nobody: bool,
}

/// The directory of Debian's PostgreSQL programs (`/usr/lib/postgresql/VERSION/bin`), the newest.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").is_file()).collect()
        })
        .unwrap_or_default();
    found.sort();
    match found.pop() {
        Some(dir) => dir,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/system-deps.sh \
             (Debian's `postgresql` package)"
        ),
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

impl Postgres {
    /// Starts a fresh server and waits until it accepts connections.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let as_nobody = is_root();
        let dir = tempfile::Builder::new().prefix("pare-pg-").tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        if as_nobody {
            std::fs::create_dir(&data).expect("data directory");
            let status = Command::new("chown").arg("-R").arg("nobody").arg(dir.path()).status().expect("chown");
            assert!(status.success(), "chown nobody {}", dir.path().display());
        }
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("port").port()
        };
        let pg = Postgres { dir, bin, port, as_nobody };
        pg.run("initdb", &["-D", &pg.data(), "-U", "pare", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        let options =
            format!("-h 127.0.0.1 -p {port} -k {} -c fsync=off -c max_connections=100", pg.dir.path().display());
        pg.run("pg_ctl", &["-D", &pg.data(), "-o", &options, "-l", &pg.log(), "-w", "-t", "60", "start"]);
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> String {
        self.dir.path().join("postgres.log").display().to_string()
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).current_dir(self.dir.path()).output().expect(program);
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
    }

    /// A new database on this server, and its URL.
    pub fn database(&self, name: &str) -> String {
        self.run("createdb", &["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "pare", name]);
        format!("postgres://pare@127.0.0.1:{}/{name}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.command("pg_ctl").args(["-D", &self.data(), "-m", "immediate", "-w", "stop"]).output();
    }
}
