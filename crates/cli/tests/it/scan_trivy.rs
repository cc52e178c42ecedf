//! pare and trivy scan the same image against the same advisory records and must agree.
//!
//! trivy cannot download its database here, but scans offline against a database file in its own format:
//! fixtures/trivydb/main.go (Go, built against Debian's bbolt package) writes one from rows this test
//! derives from the tracker's DSA/DLA lists, read through `pare_vuln::read_source` as trivy-db's Debian
//! source reads them (one advisory per release, source package and CVE alias; `<not-affected>` and
//! undetermined entries skipped). pare builds its own database from the same lists with `pare db update`.
//! Both then scan the real Debian 12 dpkg database of fixtures/scan (and, on a Debian 12 or 13 machine, the
//! machine's own) packed as a docker-archive, and the sets of (binary package, CVE, fixed version, status) and
//! (binary package, CVE, DSA/DLA id) must be equal.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pare_vuln::{Ecosystem, Event, Status, model::debian_codename};
use serde_json::{Value, json};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lists() -> [PathBuf; 2] {
    let dir = manifest_dir().join("../vuln/tests/fixtures/vulndata/debian-tracker-lists-merged");
    [dir.join("DSA-list"), dir.join("DLA-list")]
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Builds fixtures/trivydb once per source change, in GOPATH mode against Debian-packaged Go code only
/// (no Go module proxy is reachable here).
fn trivydb_tool() -> PathBuf {
    const INSTALL: &str = "install golang-go and golang-github-coreos-bbolt-dev (scripts/system-deps.sh)";
    let gopath = Path::new("/usr/share/gocode");
    assert!(gopath.join("src/go.etcd.io/bbolt/db.go").is_file(), "go.etcd.io/bbolt is missing: {INSTALL}");
    let src = manifest_dir().join("tests/fixtures/trivydb/main.go");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("trivydb");
    fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("trivydb");
    let stale = |bin: &Path| {
        let built = fs::metadata(bin).and_then(|m| m.modified());
        let source = fs::metadata(&src).and_then(|m| m.modified()).unwrap();
        built.map_or(true, |b| b < source)
    };
    if stale(&bin) {
        let tmp = dir.join(format!("trivydb.{}", std::process::id()));
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(&tmp)
            .arg(&src)
            .env("GO111MODULE", "off")
            .env("GOPATH", gopath)
            .env("GOFLAGS", "")
            .env("GOCACHE", dir.join("go-cache"))
            .output()
            .unwrap_or_else(|e| panic!("running go: {e}; {INSTALL}"));
        assert!(
            out.status.success(),
            "go build {}: {}\n{INSTALL}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        fs::rename(&tmp, &bin).unwrap();
    }
    bin
}

/// The Debian major version of a release codename (`bookworm` → `12`), as trivy names platforms.
fn major(codename: &str) -> Option<u32> {
    (7..=15).find(|n| debian_codename(&n.to_string()) == Some(codename))
}

fn debian_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (va, vb) = (pare_vuln::version::parse(Ecosystem::Debian, a), pare_vuln::version::parse(Ecosystem::Debian, b));
    va.unwrap().compare(&vb.unwrap()).unwrap()
}

/// trivy-db rows from the lists, by trivy-db's rules (pkg/vulnsrc/debian): per (release, source package, CVE)
/// the fixed version and the advisories naming it; where several advisories fix the same CVE in one release,
/// the highest version ("the first fix was insufficient"); an advisory without CVEs under its own id;
/// `<not-affected>` and undetermined entries skipped. All rows go to the `debian N` bucket: trivy 0.76 reads
/// nothing from the `debian oval N` buckets older trivy-db versions kept fixed advisories in.
fn trivy_input() -> Value {
    #[derive(Default)]
    struct Row {
        fixed: Option<String>,
        /// trivy's status where no version fixes it.
        status: Option<&'static str>,
        vendor_ids: BTreeSet<String>,
    }
    let mut rows: BTreeMap<(u32, String, String), Row> = BTreeMap::new();
    let mut titles: BTreeMap<String, String> = BTreeMap::new();
    for list in lists() {
        let parsed = pare_vuln::read_source(&list).unwrap();
        for adv in &parsed.advisories {
            let mut cves: Vec<&String> = adv.aliases.iter().filter(|a| a.starts_with("CVE-")).collect();
            if cves.is_empty() {
                cves.push(&adv.id);
            }
            for cve in cves {
                if let Some(summary) = &adv.summary {
                    titles.entry(cve.clone()).or_insert_with(|| summary.clone());
                }
                for aff in &adv.affected {
                    let Some(n) = aff.release.as_deref().and_then(major) else { continue };
                    let (fixed, status) = match aff.status {
                        Status::Fixed => {
                            let fixed = aff.ranges.iter().flat_map(|r| &r.events).find_map(|e| match e {
                                Event::Fixed(v) => Some(v.clone()),
                                _ => None,
                            });
                            (fixed, None)
                        }
                        Status::Unfixed => (None, Some("affected")),
                        // trivy-db says fix_deferred for `<postponed>`, which pare counts as wont-fix; the lists
                        // have no such bookworm/trixie line, so it does not arise here.
                        Status::WontFix => (None, Some("will_not_fix")),
                        Status::EndOfLife => (None, Some("end_of_life")),
                        Status::NotAffected | Status::Undetermined => continue,
                    };
                    let row = rows.entry((n, aff.package.clone(), cve.clone())).or_default();
                    row.status = row.status.or(status);
                    row.fixed = match (row.fixed.take(), fixed) {
                        (Some(a), Some(b)) => Some(std::cmp::max_by(a, b, |a, b| debian_order(a, b))),
                        (a, b) => a.or(b),
                    };
                    row.vendor_ids.insert(adv.id.clone());
                }
            }
        }
    }
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|((n, package, id), row)| {
            let platform = format!("debian {n}");
            let status = if row.fixed.is_some() { None } else { row.status };
            json!({"platform": platform, "package": package, "id": id, "status": status.unwrap_or_default(),
                   "fixed": row.fixed.unwrap_or_default(), "vendor_ids": row.vendor_ids})
        })
        .collect();
    let vulnerabilities: Vec<Value> = titles.into_iter().map(|(id, title)| json!({"id": id, "title": title})).collect();
    json!({"updated_at": "2026-08-21T00:00:00Z", "rows": rows, "vulnerabilities": vulnerabilities})
}

/// (binary package, id, fixed version, status) and (binary package, id, DSA/DLA id) of a report's findings.
type Fixes = BTreeSet<(String, String, String, String)>;
type Vendors = BTreeSet<(String, String, String)>;

fn trivy_findings(report: &Value) -> (Fixes, Vendors) {
    let (mut fixed, mut vendor) = (BTreeSet::new(), BTreeSet::new());
    for result in report["Results"].as_array().unwrap() {
        for v in result["Vulnerabilities"].as_array().into_iter().flatten() {
            let pkg = v["PkgName"].as_str().unwrap().to_string();
            let id = v["VulnerabilityID"].as_str().unwrap().to_string();
            let version = v["FixedVersion"].as_str().unwrap_or("").to_string();
            fixed.insert((pkg.clone(), id.clone(), version, v["Status"].as_str().unwrap().to_string()));
            for vid in v["VendorIDs"].as_array().into_iter().flatten() {
                vendor.insert((pkg.clone(), id.clone(), vid.as_str().unwrap().to_string()));
            }
        }
    }
    (fixed, vendor)
}

fn pare_findings(report: &Value) -> (Fixes, Vendors) {
    let (mut fixed, mut vendor) = (BTreeSet::new(), BTreeSet::new());
    for f in report["findings"].as_array().unwrap() {
        let pkg = f["package"]["name"].as_str().unwrap().to_string();
        let id = f["id"].as_str().unwrap().to_string();
        // pare's status in trivy's words.
        let status = match f["status"].as_str().unwrap() {
            "unfixed" => "affected",
            "wont-fix" => "will_not_fix",
            "end-of-life" => "end_of_life",
            other => other,
        };
        let versions: Vec<&str> = f["fixed_versions"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        if versions.is_empty() {
            fixed.insert((pkg.clone(), id.clone(), String::new(), status.to_string()));
        }
        for v in versions {
            fixed.insert((pkg.clone(), id.clone(), v.to_string(), status.to_string()));
        }
        for a in f["aliases"].as_array().unwrap() {
            vendor.insert((pkg.clone(), id.clone(), a.as_str().unwrap().to_string()));
        }
    }
    (fixed, vendor)
}

fn differences<T: Ord + std::fmt::Debug>(what: &str, pare: &BTreeSet<T>, trivy: &BTreeSet<T>) -> String {
    let mut text = String::new();
    for t in pare.difference(trivy) {
        text += &format!("{what}: only pare: {t:?}\n");
    }
    for t in trivy.difference(pare) {
        text += &format!("{what}: only trivy: {t:?}\n");
    }
    text
}

fn trivy() -> PathBuf {
    pare_test::tools::venv_tool("venv-trivy", "trivy")
}

/// Both databases, built once per test binary from the lists: trivy's cache dir (holding only `db/`) and
/// pare's database file.
fn databases() -> &'static (PathBuf, PathBuf) {
    static DBS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DBS.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        // 25 MB a run: remove what runs that have ended left behind.
        for entry in fs::read_dir(&tmp).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("scan-trivy-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        let dir = tmp.join(format!("scan-trivy-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();

        let tool = trivydb_tool();
        let cache = dir.join("trivy-cache");
        let input = trivy_input();
        let bookworm_rows = input["rows"].as_array().unwrap().iter().filter(|r| r["platform"] == "debian 12").count();
        assert!(bookworm_rows > 1000, "{bookworm_rows} bookworm rows: the lists were not read");
        let mut child = Command::new(&tool).arg(&cache).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(&serde_json::to_vec(&input).unwrap()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}: {}", tool.display(), String::from_utf8_lossy(&out.stderr));

        let db = dir.join("vuln.db");
        let [dsa, dla] = lists();
        let pare = Pare::new(crate::PARE);
        run(pare.cmd().args(["-q", "db", "update", "--db"]).arg(&db).arg("--from").arg(dsa).arg("--from").arg(dla));
        (cache, db)
    })
}

/// A root filesystem packed as a docker-archive, scanned by trivy and by pare.
struct Scans {
    trivy: Value,
    pare: Value,
    trivy_time: Duration,
    pare_time: Duration,
}

fn scan_both(pare: &Pare, trivy: &Path, rootfs: &Path) -> Scans {
    let (cache_template, db) = databases();
    let tmp = tempfile::tempdir().unwrap();
    // Each scan its own cache dir: trivy keeps its layer cache there too.
    let cache = tmp.path().join("trivy-cache");
    fs::create_dir_all(cache.join("db")).unwrap();
    for file in ["trivy.db", "metadata.json"] {
        fs::copy(cache_template.join("db").join(file), cache.join("db").join(file)).unwrap();
    }
    let archive = tmp.path().join("image.tar");
    let image = format!("docker-archive:{}:scan:test", archive.display());
    run(pare.cmd().args(["-q", "copy"]).arg(format!("dir:{}", rootfs.display())).arg(&image));

    let started = Instant::now();
    let out = run(Command::new(trivy)
        .args(["image", "--input"])
        .arg(&archive)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["--skip-db-update", "--skip-java-db-update", "--offline-scan", "--skip-version-check"])
        .args(["--disable-telemetry", "--scanners", "vuln", "--format", "json", "--quiet"]));
    let trivy_time = started.elapsed();
    let trivy_report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let started = Instant::now();
    let out = run(pare.cmd().arg("scan").arg(&image).arg("--db").arg(db).args(["--format", "json"]));
    let pare_time = started.elapsed();
    Scans { trivy: trivy_report, pare: serde_json::from_slice(&out.stdout).unwrap(), trivy_time, pare_time }
}

/// Compares the two reports; returns pare's findings.
fn assert_same(what: &str, scans: &Scans) -> (Fixes, Vendors) {
    let (trivy_fixed, trivy_vendor) = trivy_findings(&scans.trivy);
    let (pare_fixed, pare_vendor) = pare_findings(&scans.pare);
    println!(
        "{what}: {} packages; pare {} findings in {:?}, trivy {} in {:?} (each including process start)",
        scans.pare["packages"],
        pare_fixed.len(),
        scans.pare_time,
        trivy_fixed.len(),
        scans.trivy_time
    );
    let diff = differences("fixed", &pare_fixed, &trivy_fixed) + &differences("advisory", &pare_vendor, &trivy_vendor);
    assert!(diff.is_empty(), "{what}: pare and trivy disagree:\n{diff}");
    (pare_fixed, pare_vendor)
}

#[test]
fn pare_and_trivy_find_the_same_advisories_in_the_same_image() {
    let pare = Pare::new(crate::PARE);
    let trivy = trivy();
    let scans = scan_both(&pare, &trivy, &manifest_dir().join("tests/fixtures/scan/rootfs"));
    let os = &scans.trivy["Metadata"]["OS"];
    assert_eq!((os["Family"].as_str(), os["Name"].as_str()), (Some("debian"), Some("12.11")), "{os}");
    let (fixed, vendor) = assert_same("fixtures/scan", &scans);
    // The 29 findings scan.rs works out by hand: a guard against both tools finding nothing.
    assert_eq!(fixed.len(), 29, "{fixed:#?}");
    assert!(vendor.len() >= 29, "every finding names its DSA/DLA: {vendor:#?}");
}

/// This machine's own dpkg database (hundreds of real packages, binNMUs, epochs), where it is a Debian release
/// the lists cover: the two tools must still agree.
#[test]
fn the_hosts_dpkg_database_scans_the_same_in_pare_and_trivy() {
    let pare = Pare::new(crate::PARE);
    let trivy = trivy();
    let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let version = os_release.lines().find_map(|l| l.strip_prefix("VERSION_ID=")).map(|v| v.trim_matches('"'));
    let covered = matches!(version.and_then(debian_codename), Some("bookworm" | "trixie"));
    if !os_release.contains("ID=debian") || !covered || !Path::new("/var/lib/dpkg/status").is_file() {
        println!("SKIPPED: this machine is not Debian 12 or 13");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().join("rootfs");
    fs::create_dir_all(rootfs.join("etc")).unwrap();
    fs::create_dir_all(rootfs.join("var/lib/dpkg")).unwrap();
    for file in ["etc/os-release", "etc/debian_version", "var/lib/dpkg/status"] {
        // fs::copy follows /etc/os-release's symlink.
        fs::copy(Path::new("/").join(file), rootfs.join(file)).unwrap();
    }
    let scans = scan_both(&pare, &trivy, &rootfs);
    let (fixed, _) = assert_same("this machine's dpkg database", &scans);
    assert!(scans.pare["packages"].as_u64().unwrap() > 50, "{}", scans.pare["packages"]);
    assert!(!fixed.is_empty());
}
