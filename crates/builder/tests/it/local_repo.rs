//! Builds against a signed test repository on 127.0.0.1: no network beyond loopback.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use pare_build::{BuildOptions, Error, Loaded, Lock};
use pare_deb::testing::{Compression, FileServer, RepoBuilder, TestKey, build_deb};
use pare_deb::{Keyring, Paragraph};
use pare_oci::fs::{FsView, Limits};
use pare_oci::{Image, Root};

fn control(name: &str, version: &str, depends: &str) -> Paragraph {
    pare_deb::testing::control(name, version, "amd64", depends, None)
}

struct Fixture {
    dir: tempfile::TempDir,
    repo: PathBuf,
    server: FileServer,
    key: TestKey,
}

impl Fixture {
    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// A definition file in the fixture directory; returns its path.
    fn definition(&self, name: &str, extra: &str) -> PathBuf {
        let text = format!(
            "suite = \"stable\"\nmirror = \"{}\"\npockets = []\nkeyring = \"test.gpg\"\n{extra}",
            self.server.url()
        );
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn client(&self, loaded: &Loaded) -> pare_deb::ArchiveClient {
        pare_build::client(loaded, Some(self.cache())).unwrap()
    }
}

fn repo_with(key: &TestKey, repo: &Path, extra: &[(Paragraph, Vec<u8>)]) {
    let md5 = b"d41d8cd98f00b204e9800998ecf8427e  usr/bin/hello\n0123456789abcdef0123456789abcdef  usr/share/man/man1/hello.1.gz\n";
    let hello = build_deb(
        &control("hello", "1.0-1", "libhello (>= 1.0), debconf"),
        &[("md5sums", md5)],
        &[
            ("usr/bin/hello", b"#!hello\n", 0o755),
            ("usr/share/doc/hello/copyright", b"GPL\n", 0o644),
            ("usr/share/doc/hello/changelog.gz", b"gz", 0o644),
            ("usr/share/man/man1/hello.1.gz", b"man", 0o644),
        ],
        Compression::Xz,
    )
    .unwrap();
    let libhello = build_deb(
        &control("libhello", "1:1.2-3", ""),
        &[],
        &[("usr/lib/x86_64-linux-gnu/libhello.so.1", b"\x7fELF", 0o644)],
        Compression::Zstd,
    )
    .unwrap();
    let ca = build_deb(
        &control("ca-certificates", "20230311", "debconf"),
        &[],
        &[
            ("usr/share/ca-certificates/mozilla/B.crt", b"-----B-----\n", 0o644),
            ("usr/share/ca-certificates/mozilla/A.crt", b"-----A-----", 0o644),
        ],
        Compression::Gzip,
    )
    .unwrap();
    let debconf =
        build_deb(&control("debconf", "1.5", ""), &[], &[("usr/bin/debconf", b"x", 0o755)], Compression::Gzip).unwrap();
    let mut builder = RepoBuilder::new(repo, "stable", "amd64");
    builder.add(&control("hello", "1.0-1", "libhello (>= 1.0), debconf"), &hello).unwrap();
    builder.add(&control("libhello", "1:1.2-3", ""), &libhello).unwrap();
    builder.add(&control("ca-certificates", "20230311", "debconf"), &ca).unwrap();
    builder.add(&control("debconf", "1.5", ""), &debconf).unwrap();
    for (c, bytes) in extra {
        builder.add(c, bytes).unwrap();
    }
    builder.write(key).unwrap();
}

fn fixture_with(extra: &[(Paragraph, Vec<u8>)]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let key = TestKey::generate(11, "pare build tests <test@example.invalid>").unwrap();
    std::fs::write(dir.path().join("test.gpg"), key.public_keyring().unwrap()).unwrap();
    repo_with(&key, &repo, extra);
    let server = FileServer::start(&repo).unwrap();
    Fixture { dir, repo, server, key }
}

fn fixture() -> Fixture {
    fixture_with(&[])
}

const HELLO: &str = "packages = [\"hello\", \"ca-certificates\"]\nexclude = [\"debconf\"]\n";

fn lock(f: &Fixture, def: &Path) -> Result<(Loaded, Lock), Error> {
    let loaded = Loaded::from_file(def)?;
    let lock = pare_build::lock_definition(&loaded, &f.client(&loaded), &|_| {})?;
    lock.write(loaded.lock_path.as_ref().unwrap())?;
    Ok((loaded, lock))
}

fn image(built: &pare_build::Built) -> Image {
    match built.source.open().unwrap() {
        Root::Image(i) => i,
        Root::Index(i) => i.select(None).unwrap(),
    }
}

#[test]
fn builds_reproducibly_with_the_expected_files() {
    let f = fixture();
    let def = f.definition("hello.toml", HELLO);
    let (loaded, lock) = lock(&f, &def).unwrap();
    let names: Vec<_> = lock.architecture[0].package.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["ca-certificates", "hello", "libhello"]);
    assert_eq!(lock.why("amd64", "libhello").unwrap()[0].0, "hello");

    let reread = pare_build::current_lock(&loaded).unwrap().unwrap();
    assert_eq!(reread, lock);
    let options = BuildOptions { epoch: Some(1_700_000_000), ..Default::default() };
    let a = pare_build::build(&loaded, &reread, &f.client(&loaded), &options, &|_| {}).unwrap();
    let b = pare_build::build(&loaded, &reread, &f.client(&loaded), &options, &|_| {}).unwrap();
    assert_eq!(a.root.digest(), b.root.digest());
    let c = pare_build::build(
        &loaded,
        &reread,
        &f.client(&loaded),
        &BuildOptions { epoch: Some(1), ..Default::default() },
        &|_| {},
    )
    .unwrap();
    assert_ne!(a.root.digest(), c.root.digest());

    let img = image(&a);
    let view = FsView::from_image(&img, &Limits::default()).unwrap();
    let has = |p: &str| view.get(p).is_some();
    assert!(has("/usr/bin/hello") && has("/usr/lib/x86_64-linux-gnu/libhello.so.1"));
    assert!(has("/usr/share/doc/hello/copyright"));
    assert!(!has("/usr/share/doc/hello/changelog.gz") && !has("/usr/share/man") && !has("/usr/bin/debconf"));
    assert_eq!(view.get("/tmp").unwrap().mode, 0o1777);
    assert_eq!(view.get("/home/nonroot").unwrap().uid, 65532);
    let status = String::from_utf8(view.read(&img, "/var/lib/dpkg/status.d/hello").unwrap()).unwrap();
    assert!(status.starts_with("Package: hello\nStatus: install ok installed\n"), "{status}");
    let sums = String::from_utf8(view.read(&img, "/var/lib/dpkg/status.d/hello.md5sums").unwrap()).unwrap();
    assert_eq!(sums, "d41d8cd98f00b204e9800998ecf8427e  usr/bin/hello\n");
    assert_eq!(view.read(&img, "/etc/ssl/certs/ca-certificates.crt").unwrap(), b"-----A-----\n-----B-----\n");
    let passwd = String::from_utf8(view.read(&img, "/etc/passwd").unwrap()).unwrap();
    assert!(passwd.contains("nonroot:x:65532:65532:"));
    assert!(has("/etc/os-release") && has("/etc/nsswitch.conf"));
    let config = img.config().unwrap();
    let runtime = config.config().clone().unwrap();
    assert_eq!(runtime.user().as_deref(), Some("65532:65532"));
    assert_eq!(a.images[0].layers.len(), 2);
}

#[test]
fn app_files_go_on_top() {
    let f = fixture();
    let def = f.definition(
        "app.toml",
        &format!("{HELLO}entrypoint = [\"/app/run\"]\n[[files]]\npath = \"/etc/app.conf\"\ncontent = \"x=1\\n\"\nmode = 0o600\nuid = 65532\ngid = 65532\n"),
    );
    let (loaded, lock) = lock(&f, &def).unwrap();
    let app = f.dir.path().join("appdir");
    std::fs::create_dir_all(app.join("lib")).unwrap();
    std::fs::write(app.join("run"), "#!run").unwrap();
    std::fs::write(app.join("lib/data"), "data").unwrap();
    let add = vec!["{}:/app".replace("{}", &app.display().to_string()).parse().unwrap()];
    let built =
        pare_build::build(&loaded, &lock, &f.client(&loaded), &BuildOptions { add, ..Default::default() }, &|_| {})
            .unwrap();
    assert_eq!(built.images[0].layers.len(), 3);
    let img = image(&built);
    let view = FsView::from_image(&img, &Limits::default()).unwrap();
    assert!(view.get("/app/run").is_some() && view.get("/app/lib/data").is_some());
    let conf = view.get("/etc/app.conf").unwrap();
    assert_eq!((conf.mode, conf.uid), (0o600, 65532));
}

#[test]
fn stale_lock_is_refused() {
    let f = fixture();
    let def = f.definition("stale.toml", HELLO);
    lock(&f, &def).unwrap();
    // Build-time fields do not need a new lock.
    std::fs::write(&def, std::fs::read_to_string(&def).unwrap() + "cmd = [\"x\"]\n").unwrap();
    assert!(pare_build::current_lock(&Loaded::from_file(&def).unwrap()).unwrap().is_some());
    let text = std::fs::read_to_string(&def).unwrap().replace("\"hello\", ", "");
    std::fs::write(&def, text).unwrap();
    let err = pare_build::current_lock(&Loaded::from_file(&def).unwrap()).unwrap_err();
    assert!(matches!(err, Error::StaleLock { .. }), "{err}");
    assert!(err.hint().is_some_and(|h| h.starts_with("run `pare update")), "{err}");
    // A new lock reports the change.
    let (_, new) = lock(&f, &def).unwrap();
    let old = Lock::parse(&new.to_text().unwrap(), "x").unwrap();
    assert!(new.diff(&old).is_empty());
}

#[test]
fn wrong_key_and_tampered_deb_fail() {
    let f = fixture();
    let def = f.definition("hello.toml", HELLO);
    let (loaded, lock) = lock(&f, &def).unwrap();
    // Another key signs the repository: the lock step refuses it.
    let other = TestKey::generate(99, "someone else <x@example.invalid>").unwrap();
    std::fs::write(f.dir.path().join("test.gpg"), other.public_keyring().unwrap()).unwrap();
    let reloaded = Loaded::from_file(&def).unwrap();
    let err = pare_build::lock_definition(&reloaded, &f.client(&reloaded), &|_| {}).unwrap_err();
    assert!(err.to_string().to_lowercase().contains("signature"), "{err}");
    // A .deb changed on the mirror after locking: the build refuses it (nothing cached yet).
    let deb = f.repo.join(&lock.architecture[0].package[1].filename);
    let mut bytes = std::fs::read(&deb).unwrap();
    let n = bytes.len() - 10;
    bytes[n] ^= 0xff;
    std::fs::write(&deb, bytes).unwrap();
    let err = pare_build::build(&loaded, &lock, &f.client(&loaded), &BuildOptions::default(), &|_| {}).err().unwrap();
    assert!(err.to_string().contains("does not match"), "{err}");
    let _ = &f.key;
}

#[test]
fn resolver_errors_name_the_package() {
    let f = fixture();
    let def = f.definition("bad.toml", "packages = [\"hello\", \"nosuch\"]\n");
    let loaded = Loaded::from_file(&def).unwrap();
    let err = pare_build::lock_definition(&loaded, &f.client(&loaded), &|_| {}).unwrap_err();
    assert!(err.to_string().contains("nosuch"), "{err}");
    // Without excluding debconf, it is pulled in, and `why` says by whom.
    let def = f.definition("full.toml", "packages = [\"hello\"]\n");
    let (_, lock) = lock(&f, &def).unwrap();
    let why = lock.why("amd64", "debconf").unwrap();
    assert_eq!(why.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(), ["hello", "debconf"]);
}

/// The error as the CLI prints it: the message, then its hint.
fn with_hint(err: &Error) -> String {
    match err.hint() {
        Some(hint) => format!("{err}\nhint: {hint}"),
        None => err.to_string(),
    }
}

#[test]
fn definition_errors_carry_line_and_column() {
    let cases = [
        ("suite = \"bookworm\"\npackages = [\"a1\"]\nentrypont = [\"x\"]\n", "x.toml:3:1", "entrypont"),
        ("suite = \"bookworm\"\npackages = \"a1\"\n", "x.toml:2:12", "sequence"),
        ("suite = \"bookworm\"\npackages = [\"a1\"\n", "x.toml:2:", ""),
        ("packages = [\"a1\"]\n", "x.toml:1:1", "suite"),
        ("suite = \"bookworm\"\npackages = [\"a1\"]\n[user]\nuid = \"x\"\n", "x.toml:4:7", ""),
    ];
    for (text, at, word) in cases {
        let err = pare_build::Definition::parse(text, "x.toml").unwrap_err().to_string();
        assert!(err.starts_with(at), "{text:?}: {err}");
        assert!(err.contains(word), "{text:?}: {err}");
    }
    let checks = [
        ("suite = \"bookworm\"\npackages = []\n", "`packages`"),
        ("suite = \"bookworm\"\npackages = [\"A b\"]\n", "not a Debian package name"),
        ("suite = \"bookworm\"\narchitectures = [\"vax\"]\npackages = [\"a1\"]\n", "unknown architecture"),
        ("suite = \"bookworm\"\npackages = [\"a1\"]\n[[files]]\npath = \"etc/x\"\ncontent = \"\"\n", "files[0]"),
        ("suite = \"bookworm\"\npackages = [\"a1\"]\n[[files]]\npath = \"/etc/x\"\ntype = \"symlink\"\n", "hint:"),
        (
            "suite = \"bookworm\"\npackages = [\"a1\"]\ncompression_level = 10\n",
            "`compression_level`: gzip level 10: use 1 to 9",
        ),
        (
            "suite = \"bookworm\"\npackages = [\"a1\"]\ncompression = \"zstd\"\ncompression_level = 0\n",
            "zstd level 0: use 1 to 19",
        ),
    ];
    for (text, word) in checks {
        let err = with_hint(&pare_build::Definition::parse(text, "x.toml").unwrap_err());
        assert!(err.starts_with("x.toml: ") && err.contains(word), "{text:?}: {err}");
    }
    let lock_err = Lock::parse("version = 1\n", "y.lock").unwrap_err().to_string();
    assert!(lock_err.starts_with("y.lock:1:1"), "{lock_err}");
}

#[test]
fn schema_in_docs_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/image-definition.schema.json");
    let schema = pare_build::json_schema();
    if std::env::var_os("PARE_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &schema).unwrap();
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(current == schema, "docs/image-definition.schema.json is out of date: run with PARE_UPDATE_SCHEMA=1");
}

#[test]
fn gallery_definitions_lock_checksums_are_stable() {
    // The checksum covers only what decides the package set.
    let a = pare_build::gallery::load("static").unwrap();
    let b = pare_build::gallery::load("static-debug").unwrap();
    assert_ne!(a.definition.lock_checksum(), b.definition.lock_checksum());
    let mut c = a.definition.clone();
    c.entrypoint = Some(vec!["/x".into()]);
    assert_eq!(a.definition.lock_checksum(), c.lock_checksum());
    let _ = Keyring::debian();
}

/// Real `.deb`s from `apt-get download` (cached under the target directory), served by the test
/// repository; `None` only with `PARE_TEST_OFFLINE=1` (a failed `apt-get download` fails the test).
fn real_debs(names: &[&str]) -> Option<Vec<(Paragraph, Vec<u8>)>> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("apt-debs");
    std::fs::create_dir_all(&dir).ok()?;
    let have = |n: &str| {
        std::fs::read_dir(&dir).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with(&format!("{n}_")) && f.ends_with(".deb"))
        })
    };
    let missing: Vec<&str> = names.iter().copied().filter(|n| have(n).is_none()).collect();
    if !missing.is_empty() {
        if !pare_test::tools::debian_archive_available() {
            return None;
        }
        let status = std::process::Command::new("apt-get").arg("download").args(&missing).current_dir(&dir).output();
        assert!(
            status.as_ref().is_ok_and(|o| o.status.success()),
            "`apt-get download {}` failed: {:?}",
            missing.join(" "),
            status.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        );
    }
    let mut out = Vec::new();
    for n in names {
        let path = have(n)?;
        let mut control = pare_deb::DebArchive::open(&path).ok()?.control().control.clone();
        // The test repository is amd64-only; `all` packages are listed in it as they are.
        if control.get("Architecture") != Some("all") {
            control.set("Architecture", "amd64");
        }
        out.push((control, std::fs::read(&path).ok()?));
    }
    Some(out)
}

#[test]
fn real_debs_from_apt_build_into_an_image() {
    let Some(debs) = real_debs(&["netbase", "media-types"]) else { return };
    let f = fixture_with(&debs);
    let def = f.definition(
        "real.toml",
        "packages = [\"netbase\", \"media-types\", \"ca-certificates\"]\nexclude = [\"debconf\"]\n",
    );
    let (loaded, lock) = lock(&f, &def).unwrap();
    let built = pare_build::build(&loaded, &lock, &f.client(&loaded), &BuildOptions::default(), &|_| {}).unwrap();
    let img = image(&built);
    let view = FsView::from_image(&img, &Limits::default()).unwrap();
    let services = String::from_utf8(view.read(&img, "/etc/services").unwrap()).unwrap();
    assert!(services.contains("https") && view.get("/etc/mime.types").is_some());
    assert!(view.get("/usr/share/doc/netbase/copyright").is_some());
    let status = String::from_utf8(view.read(&img, "/var/lib/dpkg/status.d/netbase").unwrap()).unwrap();
    assert!(status.contains("Status: install ok installed") && status.contains("Version: "));
    assert!(view.get("/var/lib/dpkg/status.d/netbase.md5sums").is_some());
}

/// An uncompressed tar of `entries`: (path, Some(content) for a file, or None with a symlink target).
fn tar_of(entries: &[(&str, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes, link) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(0);
        match link {
            Some(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
            None => {
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, path, *bytes).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

/// A `.deb` (plain tar members) with `data` entries as for [`tar_of`].
fn deb_of(control: &Paragraph, data: &[(&str, &[u8], Option<&str>)]) -> Vec<u8> {
    let text = control.to_string();
    pare_deb::testing::build_ar(&[
        ("debian-binary".into(), b"2.0\n".to_vec()),
        ("control.tar".into(), tar_of(&[("./control", text.as_bytes(), None)])),
        ("data.tar".into(), tar_of(data)),
    ])
    .unwrap()
}

/// What keytool (the JDK's, from scripts/system-deps.sh) lists in a trust store.
fn keytool_list(store: &[u8]) -> String {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), store).unwrap();
    let out = std::process::Command::new("keytool")
        .args(["-list", "-storepass", "changeit", "-keystore"])
        .arg(file.path())
        .output()
        .expect("keytool is not installed: run scripts/system-deps.sh (openjdk-17-jdk-headless)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "keytool: {text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

#[test]
fn java_trust_store_holds_the_packaged_and_local_cas() {
    let mozilla = Path::new("/usr/share/ca-certificates/mozilla");
    let read = |n: &str| {
        std::fs::read(mozilla.join(n)).expect("the host's ca-certificates (scripts/system-deps.sh) is missing")
    };
    let (isrg, globalsign, local) = (read("ISRG_Root_X1.crt"), read("GlobalSign_Root_CA.crt"), read("ACCVRAIZ1.crt"));
    let ca = control("ca-certificates", "20250101", "");
    let ca_deb = deb_of(
        &ca,
        &[
            ("./usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt", &isrg, None),
            ("./usr/share/ca-certificates/mozilla/GlobalSign_Root_CA.crt", &globalsign, None),
        ],
    );
    let jre = control("jre", "1", "ca-certificates");
    let link = Some("/etc/ssl/certs/java/cacerts");
    let jre_deb = deb_of(&jre, &[("./usr/lib/jvm/jre/lib/security/cacerts", b"", link)]);
    let f = fixture_with(&[(ca, ca_deb), (jre, jre_deb)]);
    std::fs::write(f.dir.path().join("local.crt"), &local).unwrap();
    let files = "[[files]]\npath = \"/usr/local/share/ca-certificates/Local_CA.crt\"\nsource = \"local.crt\"\n";
    let def = f.definition("java.toml", &format!("packages = [\"jre\"]\n{files}"));
    let (loaded, locked) = lock(&f, &def).unwrap();
    let options = BuildOptions { epoch: Some(1_700_000_000), ..Default::default() };
    let a = pare_build::build(&loaded, &locked, &f.client(&loaded), &options, &|_| {}).unwrap();
    let b = pare_build::build(&loaded, &locked, &f.client(&loaded), &options, &|_| {}).unwrap();
    assert_eq!(a.root.digest(), b.root.digest(), "the trust store is not reproducible");

    let img = image(&a);
    let view = FsView::from_image(&img, &Limits::default()).unwrap();
    let bundle = view.read(&img, "/etc/ssl/certs/ca-certificates.crt").unwrap();
    assert_eq!(bundle, [globalsign.as_slice(), &isrg, &local].concat(), "packaged CAs by path, then local ones");
    let listed = keytool_list(&view.read(&img, "/etc/ssl/certs/java/cacerts").unwrap());
    println!("{listed}");
    assert!(listed.contains("Keystore type: PKCS12") && listed.contains("Your keystore contains 3 entries"));
    for alias in ["debian:globalsign_root_ca.pem", "debian:isrg_root_x1.pem", "debian:local_ca.pem"] {
        assert!(listed.contains(&format!("{alias}, ")) && listed.matches("trustedCertEntry").count() == 3, "{alias}");
    }
    // ISRG Root X1's SHA-256 fingerprint, as keytool prints it.
    assert!(
        listed.contains(
            "96:BC:EC:06:26:49:76:F3:74:60:77:9A:CF:28:C5:A7:CF:E8:A3:C0:AA:E1:1A:8F:FC:EE:05:C0:BD:DF:08:C6"
        )
    );

    // No JRE, no trust store.
    let def = f.definition("plain.toml", HELLO);
    let (loaded, plain) = lock(&f, &def).unwrap();
    let built = pare_build::build(&loaded, &plain, &f.client(&loaded), &options, &|_| {}).unwrap();
    let img = image(&built);
    let view = FsView::from_image(&img, &Limits::default()).unwrap();
    assert!(view.get("/etc/ssl/certs/java/cacerts").is_none() && view.get("/etc/ssl/certs/java").is_none());
}

/// Builds `def` (relocked) and writes it to the OCI layout `dir` in the fixture directory.
fn build_to_layout(f: &Fixture, def: &Path, dir: &str) -> (Loaded, pare_build::Built) {
    let (loaded, lock) = lock(f, def).unwrap();
    let options = BuildOptions { epoch: Some(1_700_000_000), ..Default::default() };
    let built = pare_build::build(&loaded, &lock, &f.client(&loaded), &options, &|_| {}).unwrap();
    let sink = pare_oci::LayoutSink::create(f.dir.path().join(dir), None).unwrap();
    let root = built.source.open().unwrap();
    pare_oci::copy(&root, Box::new(sink), &pare_oci::PlatformChoice::All, &pare_oci::Quiet).unwrap();
    (loaded, built)
}

#[test]
fn builds_on_a_base_image_pinned_by_digest() {
    let f = fixture();
    let a_def = f.definition("a.toml", &format!("{HELLO}env = {{ FROM_A = \"1\" }}\nlabels = {{ a = \"1\" }}\n"));
    let (_, a) = build_to_layout(&f, &a_def, "a");
    let a_img = image(&a);
    let a_digest = a.root.digest().to_string();
    let b_text = format!(
        "packages = [\"debconf\"]\nbase = \"oci:a@{a_digest}\"\nlabels = {{ b = \"2\" }}\n\
         [[files]]\npath = \"/etc/b.conf\"\ncontent = \"b\\n\"\n"
    );
    let b_def = f.definition("b.toml", &b_text);
    let (b_loaded, b) = build_to_layout(&f, &b_def, "b");
    let b_lock = pare_build::current_lock(&b_loaded).unwrap().unwrap();
    assert_eq!(b_lock.base.as_deref(), Some(a_digest.as_str()));

    // A's layers first, the same blobs and diff IDs; then B's packages and system layers.
    let b_img = image(&b);
    let a_layers: Vec<String> = a_img.manifest().layers().iter().map(|l| l.digest().to_string()).collect();
    let b_layers: Vec<String> = b_img.manifest().layers().iter().map(|l| l.digest().to_string()).collect();
    assert_eq!(b_layers.len(), a_layers.len() + 2);
    assert_eq!(b_layers[..a_layers.len()], a_layers[..]);
    let (a_config, b_config) = (a_img.config().unwrap(), b_img.config().unwrap());
    let b_ids = b_config.rootfs().diff_ids();
    assert_eq!(b_ids[..a_layers.len()], a_config.rootfs().diff_ids()[..]);
    assert_eq!(b_config.history().as_ref().unwrap().len(), b_layers.len());

    // Both filesystems, merged.
    let view = FsView::from_image(&b_img, &Limits::default()).unwrap();
    for path in ["/usr/bin/hello", "/usr/lib/x86_64-linux-gnu/libhello.so.1", "/usr/bin/debconf", "/etc/b.conf"] {
        assert!(view.get(path).is_some(), "{path} missing");
    }
    assert!(view.get("/var/lib/dpkg/status.d/hello").is_some() && view.get("/var/lib/dpkg/status.d/debconf").is_some());

    // Base annotations and labels; A's settings inherited, B's on top.
    let annotations = b_img.manifest().annotations().clone().unwrap();
    assert_eq!(annotations["org.opencontainers.image.base.name"], "oci:a");
    assert_eq!(annotations["org.opencontainers.image.base.digest"], a_digest);
    let runtime = b_config.config().clone().unwrap();
    let labels = runtime.labels().clone().unwrap();
    assert_eq!((labels["a"].as_str(), labels["b"].as_str()), ("1", "2"));
    assert_eq!(labels["org.opencontainers.image.base.digest"], a_digest);
    let env = runtime.env().clone().unwrap();
    assert!(
        env.contains(&"FROM_A=1".to_string())
            && env.contains(&"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt".to_string()),
        "{env:?}"
    );

    // Reproducible: the same digest again.
    let again = pare_build::build(
        &b_loaded,
        &b_lock,
        &f.client(&b_loaded),
        &BuildOptions { epoch: Some(1_700_000_000), ..Default::default() },
        &|_| {},
    )
    .unwrap();
    assert_eq!(again.root.digest(), b.root.digest());

    // A changed base means relocking.
    let other = format!("sha256:{}", "0".repeat(64));
    let b_def = f.definition("b.toml", &b_text.replace(&a_digest, &other));
    let err = pare_build::current_lock(&Loaded::from_file(&b_def).unwrap()).unwrap_err();
    assert!(matches!(err, Error::StaleLock { .. }), "{err}");

    // A wrong digest is refused.
    let (wrong, wrong_lock) = lock(&f, &b_def).unwrap();
    let err = match pare_build::build(&wrong, &wrong_lock, &f.client(&wrong), &BuildOptions::default(), &|_| {}) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a base with the wrong digest was accepted"),
    };
    assert!(err.contains("`base`") && err.contains(&format!("not the pinned {other}")), "{err}");
}

#[test]
fn unpinned_base_is_an_error_naming_the_fix() {
    let f = fixture();
    for base in
        ["oci:a", "oci:a@md5:abc", "dir:rootfs@sha256:0000000000000000000000000000000000000000000000000000000000000000"]
    {
        let def = f.definition("unpinned.toml", &format!("{HELLO}base = \"{base}\"\n"));
        let err = with_hint(&Loaded::from_file(&def).unwrap_err());
        assert!(err.contains("`base`"), "{err}");
        if !base.starts_with("dir:") {
            assert!(err.contains("pare inspect") && err.contains("@sha256:"), "{err}");
        }
    }
}

#[test]
fn base_index_is_resolved_per_architecture_and_entries_are_found_by_digest() {
    use pare_oci::Sink;
    let f = fixture();
    let a_def = f.definition("a.toml", HELLO);
    let (_, a) = build_to_layout(&f, &a_def, "a");
    let a_digest = a.root.digest().to_string();
    // A real index over A (linux/amd64), named `multi`, next to A itself (named `a`) in one layout.
    let idx = f.dir.path().join("idx");
    let root = a.source.open().unwrap();
    let sink = pare_oci::LayoutSink::create(&idx, Some("a")).unwrap();
    pare_oci::copy(&root, Box::new(sink), &pare_oci::PlatformChoice::All, &pare_oci::Quiet).unwrap();
    let mut entry = pare_oci::descriptor_json(&a.root);
    entry["platform"] = serde_json::json!({"os": "linux", "architecture": "amd64"});
    let index =
        serde_json::json!({"schemaVersion": 2, "mediaType": pare_oci::media_types::OCI_INDEX, "manifests": [entry]});
    let bytes = pare_oci::canonical_json(&index);
    let desc = pare_oci::Descriptor::new(
        pare_oci::media_types::OCI_INDEX.into(),
        bytes.len() as u64,
        pare_oci::sha256(&bytes),
    );
    let mut sink = pare_oci::LayoutSink::create(&idx, Some("multi")).unwrap();
    sink.put_manifest(&desc, &bytes).unwrap();
    sink.set_root(&desc).unwrap();
    Box::new(sink).finish().unwrap();
    let index_digest = desc.digest().to_string();

    let a_layers: Vec<String> = image(&a).manifest().layers().iter().map(|l| l.digest().to_string()).collect();
    let mut digests = Vec::new();
    for (i, base) in
        [format!("oci:idx:multi@{index_digest}"), format!("oci:idx:multi@{a_digest}"), format!("oci:idx@{a_digest}")]
            .iter()
            .enumerate()
    {
        let def = f.definition(&format!("b{i}.toml"), &format!("packages = [\"debconf\"]\nbase = \"{base}\"\n"));
        let (_, b) = build_to_layout(&f, &def, &format!("b{i}"));
        let img = image(&b);
        let layers: Vec<String> = img.manifest().layers().iter().map(|l| l.digest().to_string()).collect();
        assert_eq!(layers[..a_layers.len()], a_layers[..], "{base}");
        let annotations = img.manifest().annotations().clone().unwrap();
        // The manifest names the image it shares layers with: A, also when the index was pinned.
        assert_eq!(annotations["org.opencontainers.image.base.digest"], a_digest, "{base}");
        digests.push(b.root.digest().to_string());
    }
    // Only the base name differs between the last two.
    assert_ne!(digests[1], digests[2]);

    // A single-platform base cannot serve another architecture.
    let def = f.definition("arm.toml", &format!("packages = [\"debconf\"]\nbase = \"oci:a@{a_digest}\"\n"));
    let loaded = Loaded::from_file(&def).unwrap();
    let mut lock = pare_build::lock_definition(&loaded, &f.client(&loaded), &|_| {}).unwrap();
    let mut loaded_arm = loaded.clone();
    loaded_arm.definition.architectures = vec!["arm64".into()];
    lock.architecture[0].name = "arm64".into();
    let err = match pare_build::build(&loaded_arm, &lock, &f.client(&loaded), &BuildOptions::default(), &|_| {}) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("an amd64 base was used for arm64"),
    };
    assert!(err.contains("`base`") && err.contains("linux/amd64") && err.contains("linux/arm64"), "{err}");
}

#[test]
fn bases_in_oci_and_docker_archives() {
    let f = fixture();
    let a_def = f.definition("a.toml", HELLO);
    let (_, a) = build_to_layout(&f, &a_def, "a");
    let a_diff_ids = image(&a).config().unwrap().rootfs().diff_ids().clone();
    let root = a.source.open().unwrap();
    let oci = pare_oci::OciArchiveSink::create(f.dir.path().join("a-oci.tar"), None).unwrap();
    pare_oci::copy(&root, Box::new(oci), &pare_oci::PlatformChoice::All, &pare_oci::Quiet).unwrap();
    let docker = pare_oci::DockerArchiveSink::create(f.dir.path().join("a-docker.tar"), Some("a:1")).unwrap();
    pare_oci::copy(&root, Box::new(docker), &pare_oci::PlatformChoice::All, &pare_oci::Quiet).unwrap();
    for (i, location) in ["oci-archive:a-oci.tar", "docker-archive:a-docker.tar"].iter().enumerate() {
        // The digest `pare inspect` prints for the archive.
        let source: std::sync::Arc<dyn pare_oci::Source> = if i == 0 {
            std::sync::Arc::new(pare_oci::OciArchiveSource::open(f.dir.path().join("a-oci.tar"), None).unwrap())
        } else {
            std::sync::Arc::new(pare_oci::DockerArchiveSource::open(f.dir.path().join("a-docker.tar"), None).unwrap())
        };
        let digest = Root::open(source).unwrap().descriptor().digest().to_string();
        let def =
            f.definition(&format!("c{i}.toml"), &format!("packages = [\"debconf\"]\nbase = \"{location}@{digest}\"\n"));
        let (_, c) = build_to_layout(&f, &def, &format!("c{i}"));
        let img = image(&c);
        let ids = img.config().unwrap().rootfs().diff_ids().clone();
        assert_eq!(ids[..a_diff_ids.len()], a_diff_ids[..], "{location}");
        let view = FsView::from_image(&img, &Limits::default()).unwrap();
        assert!(view.get("/usr/bin/hello").is_some() && view.get("/usr/bin/debconf").is_some(), "{location}");
        assert_eq!(img.manifest().annotations().clone().unwrap()["org.opencontainers.image.base.digest"], digest);
    }
}

/// A definition's `keyring` must be a regular file of a few MiB at most: a directory, a large
/// file, `/dev/zero` (endless) and a FIFO (blocks) are refused, naming the field and the file.
#[test]
fn keyring_must_be_a_small_regular_file() {
    let f = fixture();
    let big = f.dir.path().join("big.gpg");
    std::fs::File::create(&big).unwrap().set_len(5 << 20).unwrap();
    let fifo = f.dir.path().join("fifo.gpg");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo (coreutils) is missing");
    assert!(made.success());
    for (keyring, reason) in [
        ("keyring-dir", "is a directory, not a regular file"),
        ("big.gpg", "is larger than 4 MiB"),
        ("/dev/zero", "is a device, not a regular file"),
        ("fifo.gpg", "is a FIFO, not a regular file"),
        ("missing.gpg", "cannot read `missing.gpg`"),
    ] {
        std::fs::create_dir_all(f.dir.path().join("keyring-dir")).unwrap();
        let def = f.definition("k.toml", HELLO).display().to_string();
        let text = std::fs::read_to_string(&def)
            .unwrap()
            .replace("keyring = \"test.gpg\"", &format!("keyring = \"{keyring}\""));
        std::fs::write(&def, text).unwrap();
        let loaded = Loaded::from_file(Path::new(&def)).unwrap();
        let error = pare_build::client(&loaded, Some(f.cache())).err().unwrap();
        let err = error.to_string();
        assert!(err.starts_with(&format!("{def}: `keyring`: ")), "{keyring}: {err}");
        assert!(err.contains(&format!("`{keyring}` {reason}")) || err.contains(reason), "{keyring}: {err}");
        assert!(error.hint().is_some(), "{keyring}: {err}");
    }
    // The fixture's own keyring still loads.
    let def = f.definition("ok.toml", HELLO);
    lock(&f, &def).unwrap();
}

/// `[[files]] source` reads only files inside the definition's directory (symlinks resolved), unless
/// `allow_host_paths`; what it names must be a regular file.
#[test]
fn file_sources_stay_in_the_definition_directory() {
    let f = fixture();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "host secret\n").unwrap();
    std::fs::create_dir_all(f.dir.path().join("conf")).unwrap();
    std::fs::write(f.dir.path().join("conf/app.conf"), "inside\n").unwrap();
    std::os::unix::fs::symlink(&secret, f.dir.path().join("conf/leak")).unwrap();
    std::os::unix::fs::symlink("app.conf", f.dir.path().join("conf/alias")).unwrap();
    let made = std::process::Command::new("mkfifo").arg(f.dir.path().join("conf/fifo")).status().unwrap();
    assert!(made.success());
    let files = |source: &str| format!("{HELLO}[[files]]\npath = \"/etc/app.conf\"\nsource = \"{source}\"\n");
    let build = |source: &str, allow_host_paths: bool| {
        let def = f.definition("src.toml", &files(source));
        let (loaded, lock) = lock(&f, &def).unwrap();
        let options = BuildOptions { allow_host_paths, ..Default::default() };
        pare_build::build(&loaded, &lock, &f.client(&loaded), &options, &|_| {}).map(|b| {
            let img = image(&b);
            let view = FsView::from_image(&img, &Limits::default()).unwrap();
            String::from_utf8(view.read(&img, "/etc/app.conf").unwrap()).unwrap()
        })
    };
    let secret_shown = secret.display().to_string();
    for source in [secret_shown.as_str(), "../../../../../../../../etc/hostname", "conf/leak"] {
        let err = with_hint(&build(source, false).err().unwrap());
        assert!(err.contains("src.toml: `files[0].source`: "), "{source}: {err}");
        assert!(err.contains(&format!("`{source}` resolves to `")) && err.contains("outside"), "{source}: {err}");
        assert!(err.contains("--allow-host-paths"), "{source}: {err}");
    }
    let err = build("conf/fifo", false).err().unwrap().to_string();
    assert!(err.contains("`files[0].source`: `conf/fifo` is a FIFO, not a regular file"), "{err}");
    // Inside, also through a symlink that stays inside.
    assert_eq!(build("conf/app.conf", false).unwrap(), "inside\n");
    assert_eq!(build("conf/alias", false).unwrap(), "inside\n");
    // Allowed: host files anywhere.
    assert_eq!(build(&secret_shown, true).unwrap(), "host secret\n");
    assert_eq!(build("conf/leak", true).unwrap(), "host secret\n");
}

/// What `pare unpack` refuses is refused (or, in Debian's packages, normalised) when building:
/// symlinks that climb above the root and paths under symlinks, with errors naming the entry.
#[test]
fn build_refuses_what_unpack_refuses() {
    let linkpkg = control("links", "1", "");
    let links_deb = deb_of(
        &linkpkg,
        &[
            ("./opt/data/file", b"data\n", None),
            ("./opt/current", b"", Some("data")),
            ("./opt/data/escape", b"", Some("../../../../etc/os-release")),
        ],
    );
    let f = fixture_with(&[(linkpkg, links_deb)]);
    let base = "packages = [\"links\"]\n";

    // A definition's symlink that climbs: refused when the definition is read.
    let def = f.definition(
        "climb.toml",
        &format!("{base}[[files]]\npath = \"/usr/lib/x\"\ntype = \"symlink\"\ntarget = \"../../../etc/passwd\"\n"),
    );
    let error = Loaded::from_file(&def).err().unwrap();
    let err = error.to_string();
    assert!(err.contains("climb.toml: `files[0]`: symlink `/usr/lib/x` -> `../../../etc/passwd` climbs"), "{err}");
    assert!(
        error.hint().is_some_and(|h| h.starts_with("write the target as an absolute path, `/etc/passwd`")),
        "{err}"
    );

    // A file under a package's symlink: refused, naming the entry and where it leads.
    let def =
        f.definition("under.toml", &format!("{base}[[files]]\npath = \"/opt/current/app.conf\"\ncontent = \"x\"\n"));
    let (loaded, locked) = lock(&f, &def).unwrap();
    let error =
        pare_build::build(&loaded, &locked, &f.client(&loaded), &BuildOptions::default(), &|_| {}).err().unwrap();
    let err = error.to_string();
    assert!(
        err.contains("under.toml: `files[0]`: `/opt/current/app.conf` is under `/opt/current`, a symlink"),
        "{err}"
    );
    assert_eq!(error.hint().as_deref(), Some("write the path it leads to, `/opt/data/app.conf`"), "{err}");

    // `--add` of a directory holding a symlink that climbs out of the image.
    let app = f.dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::os::unix::fs::symlink("../../../../etc/shadow", app.join("shadow")).unwrap();
    let def = f.definition("add.toml", base);
    let (loaded, locked) = lock(&f, &def).unwrap();
    let add = vec![format!("{}:/srv/app", app.display()).parse().unwrap()];
    let options = BuildOptions { add, ..Default::default() };
    let err = pare_build::build(&loaded, &locked, &f.client(&loaded), &options, &|_| {}).err().unwrap().to_string();
    assert!(err.contains("symlink `/srv/app/shadow` -> `../../../../etc/shadow`"), "{err}");

    // The package's own climbing symlink is written as a container resolves it, with a warning,
    // and the image unpacks.
    let built = pare_build::build(&loaded, &locked, &f.client(&loaded), &BuildOptions::default(), &|_| {}).unwrap();
    assert!(built.warnings.iter().any(|w| w.contains("/opt/data/escape") && w.contains("`../../etc/os-release`")));
    let img = image(&built);
    let out = f.dir.path().join("unpacked");
    pare_oci::fs::unpack(&img, &out, &Limits::default()).unwrap();
    assert_eq!(std::fs::read_link(out.join("opt/data/escape")).unwrap(), Path::new("../../etc/os-release"));
    assert_eq!(std::fs::read_link(out.join("opt/current")).unwrap(), Path::new("data"));
}
