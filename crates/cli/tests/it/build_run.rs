//! Gallery images built from Debian's archive and run with podman (as root, `--runtime runc`, lowered
//! ulimits: crun fails on this kind of machine): python3, nodejs, base, java and static with a static Rust
//! TLS client added by `--add`, all as uid 65532. TLS checks talk to `openssl s_server` on 127.0.0.1,
//! whose test CA reaches the images through the definition's files in /usr/local/share/ca-certificates;
//! Java reads it from the trust store pare writes. podman, openssl and javac come from
//! scripts/system-deps.sh: the tests fail when one is missing. Without deb.debian.org they fail too
//! (`PARE_TEST_OFFLINE=1` skips them).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The cache build_live.rs uses too: .debs are fetched once per machine.
fn live() -> Pare {
    Pare::new(crate::PARE).with_cache(crate::live_cache())
}

fn show(what: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let cut = stdout.char_indices().nth(2000).map_or(stdout.len(), |(i, _)| i);
    println!("{what}: {}\n{}{}", out.status, &stdout[..cut], String::from_utf8_lossy(&out.stderr));
}

/// A scratch directory with a lowercase path: podman names images pulled from `oci:DIR` after DIR,
/// and image names must be lowercase.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = tmp().join("build-run").join(format!("{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pare(args: &[&str]) -> String {
    let out = live().cmd().args(args).output().unwrap();
    show(&format!("pare {}", args.join(" ")), &out);
    assert!(out.status.success(), "pare {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A tool from scripts/system-deps.sh: the test fails when it is missing.
fn tool(name: &str, version_arg: &str) {
    let ok = Command::new(name).arg(version_arg).output().is_ok_and(|o| o.status.success());
    assert!(ok, "`{name}` is not installed: run scripts/system-deps.sh");
}

/// An image in podman's storage, removed again on drop.
struct Pulled(String);

impl Pulled {
    fn new(layout_ref: &str) -> Pulled {
        tool("podman", "--version");
        let out = Command::new("podman").args(["pull", "-q", layout_ref]).output().unwrap();
        show(&format!("podman pull {layout_ref}"), &out);
        assert!(out.status.success());
        Pulled(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// `podman run` as the issue says; `options` go before the image, `cmd` after.
    fn run(&self, options: &[&str], cmd: &[&str]) -> Output {
        let out = Command::new("podman")
            .args(["run", "--rm", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"])
            .args(options)
            .arg(&self.0)
            .args(cmd)
            .output()
            .unwrap();
        show(&format!("podman run {options:?} {cmd:?}"), &out);
        out
    }
}

impl Drop for Pulled {
    fn drop(&mut self) {
        let _ = Command::new("podman").args(["rmi", "-f", &self.0]).output();
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A test CA and `openssl s_server -www` on 127.0.0.1 with a certificate for IP 127.0.0.1 signed
/// by it; killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
    ca_pem: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start() -> TlsServer {
        tool("openssl", "version");
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).display().to_string();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let (ca_key, ca, key, csr, cert) =
            (p("ca.key"), p("ca.pem"), p("server.key"), p("server.csr"), p("server.pem"));
        openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &ca_key]);
        openssl(&[
            "req",
            "-x509",
            "-key",
            &ca_key,
            "-out",
            &ca,
            "-days",
            "2",
            "-subj",
            "/CN=pare test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            "/CN=127.0.0.1",
        ]);
        let ext = p("ext.cnf");
        std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            &ext,
        ]);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept", &format!("127.0.0.1:{port}"), "-cert", &cert, "-key", &key])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsServer { child, port, ca_pem: PathBuf::from(ca), _dir: dir }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The TLS server's CA as a definition file (update-ca-certificates' local directory), copied
/// into `dir`, the definition's directory: sources outside it are refused.
fn ca_file(server: &TlsServer, dir: &Path) -> String {
    std::fs::copy(&server.ca_pem, dir.join("pare-test-ca.crt")).unwrap();
    "\n[[files]]\npath = \"/usr/local/share/ca-certificates/pare-test-ca.crt\"\nsource = \"pare-test-ca.crt\"\n"
        .to_string()
}

/// `gallery/bookworm/NAME.toml` for amd64 only, plus `extra`, written into `dir`.
fn definition(dir: &Path, name: &str, extra: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../gallery/bookworm/{name}.toml")),
    )
    .unwrap()
    .replace("\"amd64\", \"arm64\"", "\"amd64\"");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("{text}{extra}")).unwrap();
    path.display().to_string()
}

/// The static `tls-check` (crates/cli/tests/fixtures/tls-check), built once per process: glibc with
/// `crt-static`, so it needs nothing from the image but its CA bundle.
fn tls_check() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls-check/Cargo.toml");
        let target_dir = tmp().join("tls-check");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--release", "--locked", "--target", "x86_64-unknown-linux-gnu", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .output()
            .unwrap();
        assert!(out.status.success(), "building tls-check: {}", String::from_utf8_lossy(&out.stderr));
        let bin = target_dir.join("x86_64-unknown-linux-gnu/release/tls-check");
        let file = Command::new("file").arg(&bin).output().map(|o| stdout(&o)).unwrap_or_default();
        println!("{file}");
        bin
    })
}

#[test]
fn static_rust_binary_verifies_tls_with_the_image_bundle() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    let server = TlsServer::start();
    let dir = Scratch::new("static");
    let bin = tls_check();
    let add = format!("{}:/usr/local/bin/tls-check", bin.display());
    let def = definition(dir.path(), "static", &ca_file(&server, dir.path()));
    let layout = format!("oci:{}:static", dir.path().join("static").display());
    pare(&["build", &def, "--add", &add, "--to", &layout]);
    let bundle = pare(&["cat", &layout, "/etc/ssl/certs/ca-certificates.crt"]);
    assert!(bundle.ends_with(std::fs::read_to_string(&server.ca_pem).unwrap().trim()), "the test CA is not last");

    let image = Pulled::new(&layout);
    let addr = format!("127.0.0.1:{}", server.port);
    let out = image.run(&["--network=host"], &["/usr/local/bin/tls-check", &addr]);
    let text = stdout(&out);
    assert!(out.status.success() && text.contains("uid=65532\n") && text.contains("HTTP/1.0 200 ok"), "{text}");

    // Without the test CA the same binary refuses the server: the check is real.
    let plain = format!("oci:{}:plain", dir.path().join("plain").display());
    pare(&["build", "gallery:static", "--arch", "amd64", "--add", &add, "--to", &plain]);
    let out = Pulled::new(&plain).run(&["--network=host"], &["/usr/local/bin/tls-check", &addr]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("UnknownIssuer"));
}

#[test]
fn java_trusts_the_image_bundle() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    tool("javac", "-version");
    let server = TlsServer::start();
    let dir = Scratch::new("java");
    let def = definition(dir.path(), "java", &ca_file(&server, dir.path()));
    let layout = format!("oci:{}:java", dir.path().join("java").display());
    pare(&["build", &def, "--to", &layout]);
    let bundle = pare(&["cat", &layout, "/etc/ssl/certs/ca-certificates.crt"]);
    let certs = bundle.matches("-----BEGIN CERTIFICATE-----").count();
    assert!(certs > 100);

    let classes = dir.path().join("classes");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/java/Tls.java");
    let out = Command::new("javac").args(["--release", "17", "-d"]).arg(&classes).arg(&source).output().unwrap();
    assert!(out.status.success(), "javac: {}", String::from_utf8_lossy(&out.stderr));

    let image = Pulled::new(&layout);
    let out = image.run(&["--network=none", "--entrypoint", "/usr/bin/java"], &["-version"]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stderr).contains("openjdk version \"17."));
    let keytool = "/usr/lib/jvm/java-17-openjdk-amd64/bin/keytool";
    let out = image.run(&["--network=none", "--entrypoint", keytool], &["-list", "-cacerts", "-storepass", "changeit"]);
    let text = stdout(&out);
    assert!(out.status.success() && text.contains(&format!("Your keystore contains {certs} entries")), "{text}");
    assert!(text.contains("debian:pare-test-ca.pem, ") && text.contains("debian:isrg_root_x1.pem, "), "{text}");
    assert_eq!(text.matches("trustedCertEntry").count(), certs);

    let mount = format!("{}:/app:ro", classes.display());
    let url = format!("https://127.0.0.1:{}/", server.port);
    let out =
        image.run(&["--network=host", "-v", &mount, "--entrypoint", "/usr/bin/java"], &["-cp", "/app", "Tls", &url]);
    let text = stdout(&out);
    assert!(out.status.success() && text.contains("uid=65532\n") && text.contains("status=200"), "{text}");
}

#[test]
fn gallery_python3_nodejs_base_run_with_podman() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    let dir = Scratch::new("gallery");
    let build = |name: &str| {
        let layout = format!("oci:{}:{name}", dir.path().join(name).display());
        pare(&["build", &format!("gallery:{name}"), "--arch", "amd64", "--to", &layout]);
        Pulled::new(&layout)
    };
    let none = ["--network=none"];

    let python = build("python3");
    let script = "import ssl, sqlite3, os; print(ssl.OPENSSL_VERSION, sqlite3.sqlite_version, os.getuid())";
    let out = python.run(&none, &["-c", script]); // the entrypoint is python3
    let text = stdout(&out);
    assert!(out.status.success() && text.starts_with("OpenSSL 3") && text.trim().ends_with(" 65532"), "{text}");
    drop(python);

    let node = build("nodejs");
    let script = "require('https'); console.log(process.versions.openssl, process.getuid())";
    let out = node.run(&none, &["-e", script]); // the entrypoint is node
    let text = stdout(&out);
    assert!(out.status.success() && text.trim().ends_with(" 65532"), "{text}");
    drop(node);

    // base has no program of its own: the image's loader lists libssl's libraries, tls-check
    // (static, mounted) reports the uid.
    let base = build("base");
    let out = base.run(&none, &["/lib64/ld-linux-x86-64.so.2", "--list", "/usr/lib/x86_64-linux-gnu/libssl.so.3"]);
    let text = stdout(&out);
    assert!(out.status.success() && text.contains("libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6"), "{text}");
    assert!(!text.contains("not found"), "{text}");
    let mount = format!("{}:/tls-check:ro", tls_check().display());
    let out = base.run(&["--network=none", "-v", &mount], &["/tls-check"]);
    assert!(out.status.success() && stdout(&out).trim() == "uid=65532", "{}", stdout(&out));
}

/// trixie: python3 (Python 3.13, OpenSSL 3.5) built and run; static with its CA bundle.
#[test]
fn trixie_python3_runs_with_podman() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    let dir = Scratch::new("trixie");
    let layout = format!("oci:{}:python3", dir.path().join("python3").display());
    pare(&["build", "gallery:trixie/python3", "--arch", "amd64", "--to", &layout]);
    let release = pare(&["cat", &layout, "/etc/os-release"]);
    assert!(release.contains("VERSION_CODENAME=trixie"), "{release}");
    let script = "import ssl, sqlite3, sys, os; print(sys.version_info[:2], ssl.OPENSSL_VERSION, os.getuid())";
    let out = Pulled::new(&layout).run(&["--network=none"], &["-c", script]);
    let text = stdout(&out);
    assert!(
        out.status.success() && text.starts_with("(3, 13) OpenSSL 3.") && text.trim().ends_with(" 65532"),
        "{text}"
    );
}

/// arm64 from the same definition: an index with both platforms (as skopeo reads it) whose arm64
/// image holds aarch64 ELF files. (Not run: no qemu-user-static here.)
#[test]
fn gallery_base_builds_for_amd64_and_arm64() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    tool("skopeo", "--version");
    let dir = Scratch::new("arm64");
    let layout = format!("oci:{}:base", dir.path().join("base").display());
    pare(&["build", "gallery:base", "--to", &layout]);
    let out = Command::new("skopeo").args(["inspect", "--raw", &layout]).output().unwrap();
    assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));
    let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!("{}/{}", m["platform"]["os"].as_str().unwrap(), m["platform"]["architecture"].as_str().unwrap())
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    for (platform, libc, machine) in [
        ("linux/arm64", "/lib/aarch64-linux-gnu/libc.so.6", 183u16),
        ("linux/amd64", "/lib/x86_64-linux-gnu/libc.so.6", 62),
    ] {
        let out = live().cmd().args(["cat", "--platform", platform, &layout, libc]).output().unwrap();
        assert!(out.status.success(), "pare cat {libc}: {}", String::from_utf8_lossy(&out.stderr));
        let elf = &out.stdout;
        // ELF magic, 64-bit, little endian; e_machine at offset 18: 183 = AArch64, 62 = x86-64.
        assert!(elf.len() > 20 && elf.starts_with(b"\x7fELF\x02\x01"), "{platform}: not an ELF64 LSB file");
        assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), machine, "{platform}");
    }
}

/// Real `.deb`s from `apt-get download` into the target directory (kept for later runs), with
/// their control paragraphs; the test fails when apt cannot fetch them.
fn apt_debs(names: &[&str]) -> Vec<(pare_deb::Paragraph, Vec<u8>)> {
    let dir = tmp().join("apt-debs");
    std::fs::create_dir_all(&dir).unwrap();
    let find = |n: &str| {
        std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with(&format!("{n}_")) && f.ends_with(".deb"))
        })
    };
    let missing: Vec<&str> = names.iter().copied().filter(|n| find(n).is_none()).collect();
    if !missing.is_empty() {
        let out = Command::new("apt-get").arg("download").args(&missing).current_dir(&dir).output().unwrap();
        assert!(out.status.success(), "apt-get download {missing:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    names
        .iter()
        .map(|n| {
            let path = find(n).unwrap();
            let mut control = pare_deb::DebArchive::open(&path).unwrap().control().control.clone();
            if control.get("Architecture") != Some("all") {
                control.set("Architecture", "amd64");
            }
            (control, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// `pare build --compression zstd` (and the definition's `compression`): zstd layers
/// (`application/vnd.oci.image.layer.v1.tar+zstd`) that podman runs and skopeo, syft and trivy read,
/// the same digest on every build, and `--compression gzip` winning over the definition. No
/// network: real .debs (busybox-static, base-files) in a signed repository on 127.0.0.1.
#[test]
fn zstd_layers_run_with_podman_and_are_read_by_skopeo_syft_and_trivy() {
    tool("podman", "--version");
    tool("skopeo", "--version");
    let venv = |name: &str| {
        let path = tmp().parent().unwrap().join(format!("venv-{name}/bin/{name}"));
        assert!(path.is_file(), "{} is missing: run scripts/system-deps.sh", path.display());
        path
    };
    let (syft, trivy) = (venv("syft"), venv("trivy"));
    let dir = Scratch::new("zstd");
    let key = pare_deb::testing::TestKey::generate(7, "pare zstd test <test@example.invalid>").unwrap();
    std::fs::write(dir.path().join("test.gpg"), key.public_keyring().unwrap()).unwrap();
    let repo = dir.path().join("repo");
    let mut builder = pare_deb::testing::RepoBuilder::new(&repo, "bookworm", "amd64");
    for (control, deb) in apt_debs(&["base-files", "busybox-static"]) {
        builder.add(&control, &deb).unwrap();
    }
    builder.write(&key).unwrap();
    let server = pare_deb::testing::FileServer::start(&repo).unwrap();
    let def = dir.path().join("bb.toml");
    std::fs::write(
        &def,
        format!(
            "suite = \"bookworm\"\nmirror = \"{}\"\npockets = []\nkeyring = \"test.gpg\"\n\
             packages = [\"base-files\", \"busybox-static\"]\nfollow_dependencies = false\n\
             entrypoint = [\"/bin/busybox\"]\ncompression = \"zstd\"\n",
            server.url()
        ),
    )
    .unwrap();
    let cache = dir.path().join("cache");
    let pare = |args: &[&str]| {
        let out = Pare::new(crate::PARE).with_cache(&cache).cmd().args(args).output().unwrap();
        show(&format!("pare {}", args.join(" ")), &out);
        assert!(out.status.success(), "pare {args:?} failed");
        stdout(&out).trim().to_string()
    };
    let def = def.display().to_string();
    pare(&["lock", &def]);
    let layout = |name: &str| format!("oci:{}:{name}", dir.path().join(name).display());
    let (a, b, gz) = (layout("a"), layout("b"), layout("gz"));
    let first = pare(&["build", &def, "--to", &a]);
    let second = pare(&["build", &def, "--compression", "zstd", "--to", &b]);
    let gzip = pare(&["build", &def, "--compression", "gzip", "--to", &gz]);
    assert_eq!(first, second, "two zstd builds from one lock differ");
    assert_ne!(first, gzip);
    // A level changes the bytes, not the files: level 19 is smaller, and reproducible too.
    let (max, max2) = (layout("max"), layout("max2"));
    let strongest = pare(&["build", &def, "--compression-level", "19", "--to", &max]);
    assert_ne!(strongest, first);
    assert_eq!(strongest, pare(&["build", &def, "--compression-level", "19", "--to", &max2]));
    let blob_bytes = |name: &str| -> u64 {
        let blobs = dir.path().join(name).join("blobs/sha256");
        std::fs::read_dir(blobs).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum()
    };
    assert!(blob_bytes("max") < blob_bytes("a"), "zstd level 19 is not smaller than level 3");
    for (args, expected) in [
        (vec!["--compression-level", "20"], "zstd level 20: use 1 to 19"),
        (vec!["--compression", "gzip", "--compression-level", "10"], "gzip level 10: use 1 to 9"),
    ] {
        let out = Pare::new(crate::PARE)
            .with_cache(&cache)
            .cmd()
            .args(["build", &def, "--to", &layout("bad")])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected) && err.contains("compression_level"), "{args:?}: {err}");
    }

    let media_types = |location: &str| {
        let out = Command::new("skopeo").args(["inspect", "--raw", location]).output().unwrap();
        assert!(out.status.success(), "skopeo inspect: {}", String::from_utf8_lossy(&out.stderr));
        let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let layers = manifest["layers"].as_array().unwrap().iter();
        layers.map(|l| l["mediaType"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(media_types(&a), ["application/vnd.oci.image.layer.v1.tar+zstd"; 2]);
    assert_eq!(media_types(&gz), ["application/vnd.oci.image.layer.v1.tar+gzip"; 2]);
    // skopeo decompresses every layer to recompress it with gzip, checking digests as it reads.
    let copied = format!("oci:{}:copied", dir.path().join("copied").display());
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-compress-format", "gzip", &a, &copied])
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(media_types(&copied), ["application/vnd.oci.image.layer.v1.tar+gzip"; 2]);

    let image = Pulled::new(&a);
    let out = image.run(&["--network=none"], &["id", "-u"]); // the entrypoint is busybox
    assert!(out.status.success() && stdout(&out) == "65532\n", "{}", stdout(&out));

    // syft and trivy list the image's Debian packages from its zstd layers.
    let layout_dir = dir.path().join("a");
    let syft_out = Command::new(&syft)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .arg(format!("oci-dir:{}", layout_dir.display()))
        .args(["-q", "-o", "cyclonedx-json"])
        .output()
        .unwrap();
    assert!(syft_out.status.success(), "syft: {}", String::from_utf8_lossy(&syft_out.stderr));
    let trivy_out = Command::new(&trivy)
        .env("TRIVY_CACHE_DIR", dir.path().join("trivy-cache"))
        .args(["image", "-q", "--skip-db-update", "--offline-scan", "--format", "cyclonedx", "--input"])
        .arg(&layout_dir)
        .output()
        .unwrap();
    assert!(trivy_out.status.success(), "trivy: {}", String::from_utf8_lossy(&trivy_out.stderr));
    for (tool, bytes) in [("syft", &syft_out.stdout), ("trivy", &trivy_out.stdout)] {
        let sbom = pare_sbom::read(bytes, tool).unwrap();
        let mut debs: Vec<&str> =
            sbom.inventory.packages.iter().filter(|p| p.ecosystem == "deb").map(|p| p.name.as_str()).collect();
        debs.sort_unstable();
        assert_eq!(debs, ["base-files", "busybox-static"], "{tool}");
    }
}
