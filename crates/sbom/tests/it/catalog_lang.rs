//! Language and Alpine catalogers on real artifacts: Debian's python3-*, node-semver, gron and
//! libcommons-lang3-java (fetched from deb.debian.org with `apt-get download`), a Go program built
//! here with `go build` (a vendored module, offline), a `cargo auditable` binary and a real apk
//! database (fixtures, see `fixtures/lang/README.md`); bad input of each kind; syft where installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pare_oci::fs::Limits;
use pare_sbom::{Catalog, Package};

const DEBS: &[&str] = &[
    "python3-six",
    "python3-idna",
    "python3-typing-extensions",
    "python3-tomli",
    "node-semver",
    "gron",
    "libcommons-lang3-java",
];

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lang").join(rel)
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/system-deps.sh installs it)"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The .deb files, downloaded once from Debian's archive into the target directory.
fn debs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lang-debs");
        fs::create_dir_all(&dir).unwrap();
        let missing: Vec<&str> = DEBS.iter().copied().filter(|p| find_deb(&dir, p).is_none()).collect();
        if !missing.is_empty() {
            run(Command::new("apt-get").arg("download").args(&missing).current_dir(&dir));
        }
        dir
    })
}

fn find_deb(dir: &Path, package: &str) -> Option<PathBuf> {
    fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
    })
}

fn deb(package: &str) -> PathBuf {
    find_deb(debs(), package).unwrap_or_else(|| panic!("{package}: not downloaded"))
}

/// `dpkg-deb -x` of a package into `root`.
fn extract(package: &str, root: &Path) {
    run(Command::new("dpkg-deb").arg("-x").arg(deb(package)).arg(root));
}

/// A control field of a downloaded package, read by dpkg-deb.
fn field(package: &str, name: &str) -> String {
    String::from_utf8(run(Command::new("dpkg-deb").arg("-f").arg(deb(package)).arg(name))).unwrap().trim().to_string()
}

/// The upstream part of a Debian version: no epoch, no revision.
fn upstream(version: &str) -> &str {
    let v = version.split_once(':').map_or(version, |(_, v)| v);
    v.rsplit_once('-').map_or(v, |(u, _)| u)
}

/// Packs `root` as the one tar layer of an OCI layout (tar keeps names that are not UTF-8, as real
/// layers can have them) and catalogs it as every verb does.
fn catalog(root: &Path) -> Catalog {
    use pare_oci::Sink;
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", root).unwrap();
    let tar = builder.into_inner().unwrap();
    let descriptor = |media_type: &str, bytes: &[u8]| -> pare_oci::Descriptor {
        let json = serde_json::json!({"mediaType": media_type, "digest": pare_oci::sha256(bytes).to_string(), "size": bytes.len()});
        serde_json::from_value(json).unwrap()
    };
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [pare_oci::sha256(&tar).to_string()]},
    }))
    .unwrap();
    let (config_desc, layer_desc) = (
        descriptor("application/vnd.oci.image.config.v1+json", &config),
        descriptor("application/vnd.oci.image.layer.v1.tar", &tar),
    );
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc, "layers": [layer_desc],
    }))
    .unwrap();
    let manifest_desc = descriptor("application/vnd.oci.image.manifest.v1+json", &manifest);
    let layout = tempfile::tempdir().unwrap();
    let mut sink = Box::new(pare_oci::LayoutSink::create(layout.path().join("l"), Some("test")).unwrap());
    sink.put_blob(&config_desc, &mut Cursor::new(&config)).unwrap();
    sink.put_blob(&layer_desc, &mut Cursor::new(&tar)).unwrap();
    sink.put_manifest(&manifest_desc, &manifest).unwrap();
    sink.set_root(&manifest_desc).unwrap();
    sink.finish().unwrap();
    let location = pare_oci::Location::parse(&format!("oci:{}:test", layout.path().join("l").display())).unwrap();
    let source = location.open(&pare_oci::OpenOptions::default()).unwrap().source;
    let pare_oci::Root::Image(image) = pare_oci::Root::open(source).unwrap() else { panic!("one image") };
    pare_sbom::catalog_image(&image, &Limits::default(), "test", None).unwrap().1
}

fn of<'a>(c: &'a Catalog, ecosystem: &str) -> Vec<&'a Package> {
    c.inventory.packages.iter().filter(|p| p.ecosystem == ecosystem).collect()
}

fn purls(c: &Catalog, ecosystem: &str) -> BTreeSet<String> {
    of(c, ecosystem).iter().map(|p| p.purl.clone()).collect()
}

fn python_root(root: &Path) {
    for p in ["python3-six", "python3-idna", "python3-typing-extensions", "python3-tomli"] {
        extract(p, root);
    }
}

#[test]
fn python_dist_info_and_egg_info() {
    let tmp = tempfile::tempdir().unwrap();
    python_root(tmp.path());
    let c = catalog(tmp.path());
    // Expected independently: each deb's upstream version, names normalised per PEP 503.
    let expected: BTreeSet<String> = [
        ("six", "python3-six"),
        ("idna", "python3-idna"),
        ("typing-extensions", "python3-typing-extensions"),
        ("tomli", "python3-tomli"),
    ]
    .iter()
    .map(|(n, d)| format!("pkg:pypi/{n}@{}", upstream(&field(d, "Version"))))
    .collect();
    assert_eq!(purls(&c, "pypi"), expected, "warnings: {:?}", c.warnings);
    let te = of(&c, "pypi").into_iter().find(|p| p.purl.starts_with("pkg:pypi/typing-extensions@")).unwrap();
    assert!(te.files.contains(&"/usr/lib/python3/dist-packages/typing_extensions.py".to_string()), "{:?}", te.files);
    assert_eq!(te.licenses, ["NOASSERTION"], "`License: PSF` is not an SPDX id");
}

/// The python3-* packages recorded in a dpkg database (status from their control files, file
/// lists from their data): their modules are the debs', not reported again as pypi packages.
#[test]
fn python_owned_by_a_deb_is_reported_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    python_root(root);
    let mut status = String::new();
    for p in ["python3-six", "python3-idna", "python3-typing-extensions", "python3-tomli"] {
        let control = run(Command::new("dpkg-deb").arg("-f").arg(deb(p)));
        status.push_str(String::from_utf8(control).unwrap().trim_end());
        status.push_str("\nStatus: install ok installed\n\n");
        let contents = String::from_utf8(run(Command::new("dpkg-deb").arg("-c").arg(deb(p)))).unwrap();
        let list: String = contents
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .map(|p| p.trim_start_matches('.').trim_end_matches('/'))
            .filter(|p| !p.is_empty())
            .map(|p| format!("{p}\n"))
            .collect();
        fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
        fs::write(root.join(format!("var/lib/dpkg/info/{p}.list")), list).unwrap();
    }
    fs::write(root.join("var/lib/dpkg/status"), status).unwrap();
    let c = catalog(root);
    assert_eq!(of(&c, "deb").len(), 4, "{:?}", c.warnings);
    assert!(of(&c, "pypi").is_empty(), "pypi packages owned by debs: {:?}", purls(&c, "pypi"));
}

#[test]
fn node_modules_package_json() {
    let tmp = tempfile::tempdir().unwrap();
    let unpacked = tmp.path().join("deb");
    extract("node-semver", &unpacked);
    // Debian keeps modules in /usr/share/nodejs; an app has them in node_modules.
    let modules = tmp.path().join("root/app/node_modules");
    fs::create_dir_all(&modules).unwrap();
    run(Command::new("cp").arg("-r").arg(unpacked.join("usr/share/nodejs/.")).arg(&modules));
    // A package.json inside a package (tests, fixtures) is not a package.
    fs::create_dir_all(modules.join("semver/test")).unwrap();
    fs::write(modules.join("semver/test/package.json"), r#"{"name":"fixture","version":"0.0.1"}"#).unwrap();
    let c = catalog(&tmp.path().join("root"));
    // `7.3.5+~7.3.9-2`: semver 7.3.5 with @types/semver 7.3.9 bundled (Debian's `+~` convention).
    let version = field("node-semver", "Version");
    let parts: Vec<&str> = upstream(&version).split("+~").collect();
    let expected: BTreeSet<String> =
        [format!("pkg:npm/semver@{}", parts[0]), format!("pkg:npm/%40types/semver@{}", parts[1])].into();
    assert_eq!(purls(&c, "npm"), expected, "{:?}", c.warnings);
    let semver = of(&c, "npm").into_iter().find(|p| p.name == "semver").unwrap();
    assert_eq!(semver.licenses, ["ISC"]);

    // npm's lockfile next to node_modules: what it lists is reported once with what was found in
    // node_modules (the package.json's license kept), plus what only it lists; dev dependencies
    // and links are not.
    let lock = format!(
        r#"{{"name": "app", "lockfileVersion": 3, "packages": {{
            "": {{"name": "app", "version": "1.0.0"}},
            "node_modules/semver": {{"version": "{}"}},
            "node_modules/lru-cache": {{"version": "6.0.0", "license": "ISC"}},
            "node_modules/mocha": {{"version": "10.2.0", "dev": true}},
            "node_modules/local": {{"resolved": "lib/local", "link": true}}}}}}"#,
        parts[0]
    );
    fs::write(tmp.path().join("root/app/package-lock.json"), lock).unwrap();
    fs::write(tmp.path().join("root/app/node_modules/.package-lock.json"), "{not json").unwrap();
    let c = catalog(&tmp.path().join("root"));
    let mut expected = expected.clone();
    expected.insert("pkg:npm/lru-cache@6.0.0".into());
    assert_eq!(purls(&c, "npm"), expected);
    let semver = of(&c, "npm").into_iter().find(|p| p.name == "semver").unwrap();
    assert_eq!(semver.licenses, ["ISC"]);
    let at: Vec<&str> = semver.locations.iter().map(|l| l.path.as_str()).collect();
    assert!(at.contains(&"/app/package-lock.json") && at.contains(&"/app/node_modules/semver/package.json"), "{at:?}");
    let w = c.warnings.join("\n");
    assert!(w.contains("/app/node_modules/.package-lock.json: not an npm lockfile (not JSON"), "{w}");
}

/// Builds a Go program with a vendored module (offline) and reads its build info.
fn go_binary(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    fs::create_dir_all(src.join("vendor/example.com/greet")).unwrap();
    fs::write(src.join("go.mod"), "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v1.4.2\n").unwrap();
    fs::write(
        src.join("main.go"),
        "package main\n\nimport \"example.com/greet\"\n\nfunc main() { println(greet.Hello()) }\n",
    )
    .unwrap();
    fs::write(
        src.join("vendor/example.com/greet/greet.go"),
        "package greet\n\nfunc Hello() string { return \"hi\" }\n",
    )
    .unwrap();
    fs::write(src.join("vendor/modules.txt"), "# example.com/greet v1.4.2\n## explicit\nexample.com/greet\n").unwrap();
    let out = dir.join("root/usr/local/bin/hello");
    run(Command::new("go")
        .args(["build", "-mod=vendor", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(&src)
        .env("GOCACHE", Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache"))
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=vendor"));
    out
}

fn go_version() -> String {
    let out = String::from_utf8(run(Command::new("go").arg("version"))).unwrap();
    out.split_whitespace().nth(2).unwrap().to_string() // `go version go1.19.8 linux/amd64`
}

/// Executables over 16 MiB are spooled to a temporary file and read on demand: the same
/// build info from a Go binary padded past that size, and from a file with no section headers
/// where only the scan for the magic (done while spooling) finds it.
#[test]
fn large_go_binaries_are_read_from_a_spool() {
    let tmp = tempfile::tempdir().unwrap();
    let hello = fs::read(go_binary(tmp.path())).unwrap();
    let small = catalog(&tmp.path().join("root"));
    let modules = |c: &Catalog| -> BTreeSet<(String, String)> {
        of(c, "golang").iter().map(|p| (p.name.clone(), p.version.clone())).collect()
    };
    assert!(modules(&small).contains(&("example.com/greet".to_string(), "v1.4.2".to_string())));

    let big_root = tmp.path().join("big");
    fs::create_dir_all(big_root.join("bin")).unwrap();
    let mut padded = hello.clone();
    padded.resize(hello.len() + (17 << 20), 0);
    fs::write(big_root.join("bin/hello"), &padded).unwrap();
    // No section headers: the ELF magic, then the build info blob at a 16-aligned offset past 16 MiB.
    let magic = b"\xff Go buildinf:";
    let at = hello.windows(magic.len()).enumerate().find(|(i, w)| i % 16 == 0 && w == magic).unwrap().0;
    let mut bare = b"\x7fELF".to_vec();
    bare.resize((17 << 20) + 48, 0);
    bare.extend_from_slice(&hello[at..(at + 4096).min(hello.len())]);
    fs::write(big_root.join("bin/bare"), &bare).unwrap();
    for name in ["hello", "bare"] {
        let mut perms = fs::metadata(big_root.join("bin").join(name)).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        fs::set_permissions(big_root.join("bin").join(name), perms).unwrap();
    }
    let big = catalog(&big_root);
    assert!(big.warnings.is_empty(), "{:?}", big.warnings);
    for binary in ["/bin/hello", "/bin/bare"] {
        let found: BTreeSet<(String, String)> = of(&big, "golang")
            .iter()
            .filter(|p| p.locations.iter().any(|l| l.path == binary))
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        assert_eq!(found, modules(&small), "{binary}");
    }
}

#[test]
fn go_build_info() {
    let tmp = tempfile::tempdir().unwrap();
    go_binary(tmp.path());
    extract("gron", &tmp.path().join("root"));
    let c = catalog(&tmp.path().join("root"));
    let go = go_version();
    let found: BTreeSet<(String, String)> =
        of(&c, "golang").iter().map(|p| (p.name.clone(), p.version.clone())).collect();
    let mut expected: BTreeSet<(String, String)> = [
        ("example.com/hello", "(devel)"),
        ("example.com/greet", "v1.4.2"),
        // Debian builds without module mode: only the main package path.
        ("github.com/tomnomnom/gron", "(devel)"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    expected.insert(("stdlib".into(), go.clone()));
    // gron's Go version, as Debian's build recorded it (`Built-Using: golang-1.19 (…)` names the toolchain).
    let gron_go = of(&c, "golang")
        .into_iter()
        .filter(|p| p.name == "stdlib" && p.locations.iter().any(|l| l.path == "/usr/bin/gron"))
        .map(|p| p.version.clone())
        .next()
        .expect("gron's stdlib");
    let built_using = field("gron", "Built-Using");
    let minor = gron_go.trim_start_matches("go").split('.').take(2).collect::<Vec<_>>().join(".");
    assert!(built_using.contains(&format!("golang-{minor}")), "{gron_go} vs Built-Using: {built_using}");
    expected.insert(("stdlib".into(), gron_go));
    assert_eq!(found, expected, "{:?}", c.warnings);
    let greet = of(&c, "golang").into_iter().find(|p| p.name == "example.com/greet").unwrap();
    assert_eq!(greet.purl, "pkg:golang/example.com/greet@v1.4.2");
}

#[test]
fn rust_cargo_auditable() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("usr/bin/hello-auditable");
    fs::create_dir_all(bin.parent().unwrap()).unwrap();
    fs::copy(fixture("rust/hello-auditable"), &bin).unwrap();
    let c = catalog(tmp.path());
    // Expected from the Cargo.lock it was built from.
    let lock = fs::read_to_string(fixture("rust/Cargo.lock.txt")).unwrap();
    let names: Vec<&str> = lock.lines().filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"')).collect();
    let versions: Vec<&str> = lock.lines().filter_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"')).collect();
    let expected: BTreeSet<String> = names.iter().zip(&versions).map(|(n, v)| format!("pkg:cargo/{n}@{v}")).collect();
    assert_eq!(purls(&c, "cargo"), expected, "{:?}", c.warnings);
    assert_eq!(expected.len(), 3);
}

/// A jar file holding `entries` (name, bytes), deflated.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn pom(group: &str, artifact: &str, version: &str) -> Vec<u8> {
    format!("#Generated by Maven\ngroupId={group}\nartifactId={artifact}\nversion={version}\n").into_bytes()
}

#[test]
fn java_jars_nested_deep_and_bombs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    extract("libcommons-lang3-java", root);
    let real = fs::read(root.join("usr/share/java/commons-lang3.jar")).unwrap();
    let lang3 =
        format!("pkg:maven/org.apache.commons/commons-lang3@{}", upstream(&field("libcommons-lang3-java", "Version")));
    fs::create_dir_all(root.join("app")).unwrap();
    // A war with the real jar inside.
    fs::write(root.join("app/app.war"), zip(&[("WEB-INF/lib/commons-lang3.jar", &real), ("index.html", b"hi")]))
        .unwrap();
    // Archives nested 7 deep, each with its own pom.properties: levels past the cap are not opened.
    let mut inner = zip(&[("META-INF/maven/deep/level7/pom.properties", &pom("deep", "level7", "1.0"))]);
    for level in (0..7).rev() {
        let name = format!("META-INF/maven/deep/level{level}/pom.properties");
        inner = zip(&[(&name, &pom("deep", &format!("level{level}"), "1.0")), ("lib/next.jar", &inner)]);
    }
    fs::write(root.join("app/deep.jar"), inner).unwrap();
    // A zip bomb: 32 entries sharing one deflated stream of 80 MiB of zeros (copied raw, so the
    // test never compresses more than once): about 2.5 MiB of jar inflating to 2.5 GiB.
    let one = zip(&[("lib/zeros.jar", &vec![0u8; 80 << 20])]);
    let mut source = zip::ZipArchive::new(Cursor::new(one)).unwrap();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    w.start_file("META-INF/maven/b/with-bomb/pom.properties", options).unwrap();
    w.write_all(&pom("b", "with-bomb", "2.0")).unwrap();
    for i in 0..32 {
        w.raw_copy_file_rename(source.by_index_raw(0).unwrap(), format!("lib/zeros-{i}.jar")).unwrap();
    }
    let bomb = w.finish().unwrap().into_inner();
    let bomb_size = bomb.len();
    fs::write(root.join("app/bomb.jar"), bomb).unwrap();
    let c = catalog(root);
    let found = purls(&c, "maven");
    let mut expected: BTreeSet<String> = [lang3.clone(), "pkg:maven/b/with-bomb@2.0".into()].into();
    for level in 0..=4 {
        expected.insert(format!("pkg:maven/deep/level{level}@1.0"));
    }
    assert_eq!(found, expected, "{:?}", c.warnings);
    let lang3_pkg = of(&c, "maven").into_iter().find(|p| p.purl == lang3).unwrap();
    let at: BTreeSet<&str> = lang3_pkg.locations.iter().map(|l| l.path.as_str()).collect();
    assert_eq!(at, BTreeSet::from(["/usr/share/java/commons-lang3.jar", "/app/app.war!WEB-INF/lib/commons-lang3.jar"]));
    let w = c.warnings.join("\n");
    assert!(w.contains("nested deeper than 4"), "{w}");
    assert!(w.contains("/app/bomb.jar!lib/zeros-0.jar: inflates past 67108864 bytes"), "{w}");
    assert!(w.contains("/app/bomb.jar: 268435456 bytes inflated in total: stopping"), "{w}");
    assert!(!w.contains("zeros-5.jar"), "stopped after the total cap: {w}");
    assert!(bomb_size < 4 << 20, "the bomb is small: {bomb_size}");
}

#[test]
fn apk_installed_database() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::copy(fixture("apk/installed"), root.join("lib/apk/db/installed")).unwrap();
    fs::copy(fixture("apk/os-release"), root.join("etc/os-release")).unwrap();
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    fs::write(root.join("usr/lib/libreadline.so.8"), b"not really").unwrap();
    let c = catalog(root);
    // Expected by a plain reading of `P:`/`V:` pairs.
    let text = fs::read_to_string(fixture("apk/installed")).unwrap();
    let expected: BTreeSet<(String, String)> = text
        .split("\n\n")
        .map(|r| {
            let get = |k: &str| r.lines().find_map(|l| l.strip_prefix(k)).unwrap().to_string();
            (get("P:"), get("V:"))
        })
        .collect();
    let found: BTreeSet<(String, String)> = of(&c, "apk").iter().map(|p| (p.name.clone(), p.version.clone())).collect();
    assert_eq!(found, expected, "{:?}", c.warnings);
    assert_eq!(found.len(), 5);
    let binsh = of(&c, "apk").into_iter().find(|p| p.name == "busybox-binsh").unwrap();
    assert_eq!(binsh.purl, "pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.0&upstream=busybox");
    assert_eq!(binsh.source_name.as_deref(), Some("busybox"));
    assert_eq!(binsh.licenses, ["GPL-2.0-only"]);
    let readline = of(&c, "apk").into_iter().find(|p| p.name == "readline").unwrap();
    assert_eq!(readline.files, ["/usr/lib/libreadline.so.8"], "only files present in the image");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn bad_input_warns_and_keeps_the_rest() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    extract("python3-six", root);
    let site = root.join("usr/lib/python3/dist-packages");
    // Huge METADATA (over the 4 MiB cap), binary METADATA, METADATA without a version.
    let huge = site.join("huge-1.0.dist-info");
    fs::create_dir_all(&huge).unwrap();
    let mut text = b"Name: huge\nVersion: 1.0\n\n".to_vec();
    text.resize(5 << 20, b'x');
    fs::write(huge.join("METADATA"), text).unwrap();
    fs::create_dir_all(site.join("binary-1.0.dist-info")).unwrap();
    fs::write(site.join("binary-1.0.dist-info/METADATA"), fs::read(fixture("rust/hello-auditable")).unwrap()).unwrap();
    fs::create_dir_all(site.join("nover-1.0.dist-info")).unwrap();
    fs::write(site.join("nover-1.0.dist-info/METADATA"), "Name: nover\n").unwrap();
    // A malformed apk database: garbage, a record without a version, one good record.
    fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    fs::write(root.join("lib/apk/db/installed"), b"\xff\xfegarbage line\nP:broken\n\nP:ok\nV:1.0-r0\n").unwrap();
    // A non-UTF-8 directory name in node_modules and a package.json that is not JSON.
    let weird = root.join("app/node_modules").join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    fs::create_dir_all(&weird).unwrap();
    fs::write(weird.join("package.json"), r#"{"name":"cafe","version":"1.0.0","license":"MIT"}"#).unwrap();
    fs::create_dir_all(root.join("app/node_modules/broken")).unwrap();
    fs::write(root.join("app/node_modules/broken/package.json"), b"{\"name\": \"broken\", \"vers").unwrap();
    // A jar that is not a zip; an ELF with a truncated Go build info blob.
    fs::write(root.join("app/garbage.jar"), b"PK\x03\x04 not really a zip").unwrap();
    let mut elf = fs::read(fixture("rust/hello-auditable")).unwrap();
    elf.resize(elf.len().next_multiple_of(16), 0);
    elf.extend(b"\xff Go buildinf:\x08\x02");
    let bad_go = root.join("usr/bin/bad-go");
    fs::create_dir_all(root.join("usr/bin")).unwrap();
    fs::write(&bad_go, elf).unwrap();
    fs::set_permissions(&bad_go, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let c = catalog(root);
    let w = c.warnings.join("\n");
    for expected in [
        "huge-1.0.dist-info/METADATA: 5242880 bytes, larger than 4194304: skipped",
        "binary-1.0.dist-info/METADATA: not Python package metadata (binary data",
        "nover-1.0.dist-info/METADATA: not Python package metadata (no `Version:` header)",
        "/lib/apk/db/installed: not UTF-8 text",
        "/lib/apk/db/installed: skipping the record at line 1: no `P:` (name) or `V:` (version)",
        "/app/node_modules/broken/package.json: not a package.json (not JSON",
        "/app/garbage.jar: not a readable zip archive",
        "/usr/bin/bad-go: Go build info unreadable (build info header truncated)",
    ] {
        assert!(w.contains(expected), "missing warning `{expected}` in:\n{w}");
    }
    // The rest: six, the good apk record, the package under a non-UTF-8 name, the cargo crates.
    assert_eq!(
        purls(&c, "pypi"),
        BTreeSet::from([format!("pkg:pypi/six@{}", upstream(&field("python3-six", "Version")))])
    );
    assert_eq!(of(&c, "apk").iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["ok"]);
    let cafe = of(&c, "npm");
    assert_eq!(cafe.len(), 1, "{w}");
    assert_eq!(cafe[0].locations[0].path, "/app/node_modules/caf\u{fffd}/package.json");
    assert_eq!(of(&c, "cargo").len(), 3, "the ELF's .dep-v0 is still read: {w}");
}

/// syft's package type → pare's ecosystem.
fn ecosystem_of_syft(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "apk" => "apk",
        "python" => "pypi",
        "npm" => "npm",
        "go-module" => "golang",
        "rust-crate" => "cargo",
        "java-archive" => "maven",
        _ => return None,
    })
}

fn pep503(ecosystem: &str, name: &str) -> String {
    if ecosystem != "pypi" {
        return name.to_string();
    }
    let mut out = String::new();
    for part in name.to_lowercase().split(['-', '_', '.']).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(part);
    }
    out
}

/// Every artifact above in one tree: pare finds every package syft finds, with the same
/// versions. Differences, explained: syft's directory scan has no package.json cataloger (it runs
/// on images only), so the npm packages are pare's alone; syft names Python packages by their
/// PEP 503 form while pare keeps the `Name:` as written (its purl is normalised), so Python names
/// are compared normalised.
#[test]
fn same_packages_as_syft_where_installed() {
    let syft = pare_test::tools::venv_tool("venv-syft", "syft");
    let tmp = tempfile::tempdir().unwrap();
    go_binary(tmp.path());
    let root = tmp.path().join("root");
    python_root(&root);
    for p in ["gron", "libcommons-lang3-java", "node-semver"] {
        extract(p, &root);
    }
    let modules = root.join("app/node_modules");
    fs::create_dir_all(&modules).unwrap();
    run(Command::new("cp").arg("-r").arg(root.join("usr/share/nodejs/.")).arg(&modules));
    fs::copy(fixture("rust/hello-auditable"), root.join("usr/bin/hello-auditable")).unwrap();
    fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    fs::copy(fixture("apk/installed"), root.join("lib/apk/db/installed")).unwrap();
    let out = run(Command::new(&syft).arg(format!("dir:{}", root.display())).args(["-o", "json", "-q"]));
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let theirs: BTreeSet<(String, String, String)> = doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| {
            let eco = ecosystem_of_syft(a["type"].as_str()?)?;
            Some((eco.to_string(), pep503(eco, a["name"].as_str()?), a["version"].as_str()?.to_string()))
        })
        .collect();
    let c = catalog(&root);
    let ours: BTreeSet<(String, String, String)> = c
        .inventory
        .packages
        .iter()
        .map(|p| (p.ecosystem.clone(), pep503(&p.ecosystem, &p.name), p.version.clone()))
        .collect();
    let missing: Vec<_> = theirs.difference(&ours).collect();
    assert!(missing.is_empty(), "syft found, pare did not: {missing:?}\nwarnings: {:?}", c.warnings);
    let extra: Vec<_> = ours.difference(&theirs).filter(|(eco, _, _)| eco != "npm").collect();
    assert!(extra.is_empty(), "pare found, syft did not (unexplained): {extra:?}");
    assert!(theirs.len() >= 15, "syft saw the tree: {theirs:?}");
}
