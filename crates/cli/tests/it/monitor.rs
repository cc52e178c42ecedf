//! `pare monitor` end to end over real HTTP: tokens, uploads of every SBOM format pare reads, VEX,
//! metrics, OpenAPI, deploys, the rescan story (an older then a newer vulnerability database built by
//! `pare db update` from the real DSA list: the images gain the finding without being pulled, the
//! trend moves, one signed webhook POST per finding), kill -9 during a rescan, SQLite under concurrent
//! writers, and the same API suite plus two workers against a real PostgreSQL (`pare_test::postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use pare_test::Pare;
use pare_test::postgres::Postgres;
use serde_json::{Value, json};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rootfs() -> PathBuf {
    manifest_dir().join("tests/fixtures/scan/rootfs")
}

fn dsa_list() -> PathBuf {
    manifest_dir().join("../vuln/tests/fixtures/vulndata/debian-tracker-lists-merged/DSA-list")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("running pare");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// The added advisory of the story: DSA-6294-1 (libgcrypt20, CVE-2026-41989), critical through the
/// fixture CVE record (see fixtures/monitor/SOURCE.md).
const ADDED: &str = "CVE-2026-41989";

/// Source files of the older database (the DSA list without DSA-6294-1) and the newer one (the whole
/// list and the CVE record that scores the added advisory critical), built once per test binary.
fn db_sources() -> &'static (PathBuf, Vec<PathBuf>) {
    static SOURCES: OnceLock<(PathBuf, Vec<PathBuf>)> = OnceLock::new();
    SOURCES.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("monitor-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = std::fs::read_to_string(dsa_list()).unwrap();
        let mut old = String::new();
        let mut skipping = false;
        let mut removed = 0;
        for line in text.lines() {
            if line.starts_with('[') {
                skipping = line.contains("DSA-6294-1 ");
                removed += usize::from(skipping);
            }
            if !skipping {
                old.push_str(line);
                old.push('\n');
            }
        }
        assert_eq!(removed, 1, "DSA-6294-1 is in the DSA list once");
        let old_list = dir.join("DSA-list");
        std::fs::write(&old_list, old).unwrap();
        (old_list, vec![dsa_list(), manifest_dir().join("tests/fixtures/monitor/cve")])
    })
}

/// Writes the older database to `path` (or replaces it with it).
fn write_old_db(pare: &Pare, path: &Path) {
    run(pare.cmd().args(["-q", "db", "update", "--db"]).arg(path).arg("--from").arg(&db_sources().0));
}

/// Replaces the database at `path` with the newer one, as `pare db update` does in production.
fn write_new_db(pare: &Pare, path: &Path) {
    let mut cmd = pare.cmd();
    cmd.args(["-q", "db", "update", "--db"]).arg(path);
    for source in &db_sources().1 {
        cmd.arg("--from").arg(source);
    }
    run(&mut cmd);
}

/// pare's JSON inventory of the scan fixture (11 packages of a real Debian 12 machine).
fn inventory() -> &'static Value {
    static INVENTORY: OnceLock<Value> = OnceLock::new();
    INVENTORY.get_or_init(|| {
        let pare = Pare::new(crate::PARE);
        let out = run(pare.cmd().args(["sbom", "--format", "json"]).arg(rootfs()));
        serde_json::from_slice(&out.stdout).unwrap()
    })
}

/// The fixture's inventory as another image: its own digest.
fn inventory_as(n: u32) -> Value {
    let mut inv = inventory().clone();
    inv["subject"]["digest"] = json!(format!("sha256:{n:064x}"));
    inv["subject"]["name"] = json!(format!("images/app-{n}"));
    inv
}

/// A running `pare monitor serve`; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(pare: &Pare, database: &str, vuln_db: &Path, extra: &[&str]) -> Server {
        Server::spawn(Server::command(pare, database, vuln_db, extra))
    }

    fn command(pare: &Pare, database: &str, vuln_db: &Path, extra: &[&str]) -> Command {
        let mut cmd = pare.cmd();
        cmd.args(["monitor", "serve", "--listen", "127.0.0.1:0", "--poll-interval", "0.2", "--database", database])
            .arg("--vuln-db")
            .arg(vuln_db)
            .args(extra);
        // Rebuild advice reads Debian's archive: only the tests of it turn it on.
        if !extra.contains(&"--advice-interval") {
            cmd.args(["--advice-interval", "0"]);
        }
        cmd
    }

    fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("starting pare monitor serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Listening on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
                }
                lines.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start:\n{}", log.lock().unwrap());
            }
        };
        Server { child, url, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("server log:\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().unwrap()
}

/// A request with an optional token: (status, body as JSON or as a string).
fn call(method: &str, url: &str, token: Option<&str>, body: Option<Vec<u8>>) -> (u16, Value) {
    let mut req = client().request(method.parse().unwrap(), url);
    // An empty token sends no header (anonymous).
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn get(server: &Server, path: &str, token: &str) -> Value {
    let (status, body) = call("GET", &format!("{}{path}", server.url), Some(token), None);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

fn upload(server: &Server, token: &str, query: &str, sbom: &[u8]) -> (u16, Value) {
    call("POST", &format!("{}/api/v1/images?{query}", server.url), Some(token), Some(sbom.to_vec()))
}

fn token(pare: &Pare, database: &str, scope: &str) -> String {
    let out = run(pare.cmd().args(["monitor", "token", "create", "--scope", scope, "--database", database]));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Waits for `condition`, polling; fails with `what` after two minutes (a bound on a hang, not a
/// timing assertion).
fn wait_for(what: &str, server: Option<&Server>, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}\n{}",
            server.map(Server::log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the server scans with `sha256`-less "the newest file" and has nothing left to scan.
fn wait_rescanned(server: &Server, token: &str, previous: Option<&str>) -> String {
    let mut sha = String::new();
    wait_for("the rescan", Some(server), || {
        let status = get(server, "/api/v1/status", token);
        sha = status["database_sha256"].as_str().unwrap_or_default().to_string();
        !sha.is_empty() && Some(sha.as_str()) != previous && status["unscanned"] == 0
    });
    sha
}

/// What the receiver saw of one POST: headers (lower-case names) and body.
type Post = (BTreeMap<String, String>, Vec<u8>);

/// A test HTTP server receiving webhooks: records each POST's headers and body, answers 200.
struct Receiver {
    url: String,
    posts: Arc<Mutex<Vec<Post>>>,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::failing_first(0)
    }

    /// A receiver that answers 503 to its first `failures` POSTs (they are recorded too).
    fn failing_first(failures: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let posts = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&posts);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut headers = BTreeMap::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let mut posts = seen.lock().unwrap();
                if request_line.starts_with("POST ") {
                    posts.push((headers, body));
                }
                let answer: &[u8] = if posts.len() <= failures {
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                } else {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                };
                drop(posts);
                let _ = stream.write_all(answer);
            }
        });
        Receiver { url, posts }
    }

    fn count(&self) -> usize {
        self.posts.lock().unwrap().len()
    }
}

/// Open findings of an image, by advisory id.
fn open_findings(server: &Server, token: &str, digest: &str) -> BTreeMap<String, Value> {
    let image = get(server, &format!("/api/v1/images/{digest}"), token);
    image["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fixed_at"].is_null())
        .map(|f| (f["advisory"].as_str().unwrap().to_string(), f.clone()))
        .collect()
}

/// The API suite, run against SQLite and PostgreSQL.
fn api_suite(pare: &Pare, database: &str) {
    let dir = tempfile::tempdir().unwrap();
    let vuln_db = dir.path().join("vuln.db");
    write_old_db(pare, &vuln_db);
    let write = token(pare, database, "write");
    let read = token(pare, database, "read");
    let server = Server::start(pare, database, &vuln_db, &[]);
    let base = server.url.clone();

    // Open routes.
    let (status, body) = call("GET", &format!("{base}/healthz"), None, None);
    assert_eq!((status, body.as_str()), (200, Some("ok\n")));
    let (status, openapi) = call("GET", &format!("{base}/openapi.json"), None, None);
    assert_eq!(status, 200);
    assert_eq!(openapi["openapi"], "3.1.0");
    for path in [
        "/api/v1/images",
        "/api/v1/images/{digest}",
        "/api/v1/vex/{product}",
        "/metrics",
        "/api/v1/trend",
        "/api/v1/advice",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    assert!(openapi["components"]["securitySchemes"]["bearer"].is_object());

    // No anonymous reads or writes; a read token cannot write; an unknown token is refused.
    let sbom = serde_json::to_vec(inventory()).unwrap();
    assert_eq!(call("GET", &format!("{base}/api/v1/images"), None, None).0, 401);
    assert_eq!(call("GET", &format!("{base}/metrics"), None, None).0, 401);
    let (status, body) = upload(&server, &read, "environment=production&team=payments", &sbom);
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("only read"), "{body}");
    assert_eq!(call("GET", &format!("{base}/api/v1/images"), Some("pare_write_forged"), None).0, 401);
    let (status, _) =
        call("POST", &format!("{base}/api/v1/images?environment=production&team=payments"), None, Some(sbom.clone()));
    assert_eq!(status, 401);

    // Corrupt uploads: 400 with a JSON error that says why.
    for (bad, why) in [
        (&b"{\"bomFormat\": \"CycloneDX\", "[..], "not valid JSON"),
        (&b"\x00\xff\xfe"[..], "not UTF-8"),
        (&b"{\"hello\": 1}"[..], "SBOM"),
    ] {
        let (status, body) = upload(&server, &write, "environment=production&team=payments", bad);
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains(why), "{why}: {body}");
        assert!(body["hint"].is_string());
    }
    // A NUL in a package's name or version: the store could not read it back as written.
    for field in ["name", "version"] {
        let mut inv = inventory().clone();
        inv["packages"][0][field] = json!(format!("x\u{0}y"));
        let (status, body) =
            upload(&server, &write, "environment=production&team=payments", &serde_json::to_vec(&inv).unwrap());
        assert_eq!(status, 400, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("Package 1") && error.contains(&format!("its {field} \"x\\0y\"")), "{body}");
        assert!(error.contains("NUL"), "{body}");
    }
    let (status, body) = upload(&server, &write, "environment=production", &sbom);
    assert_eq!(status, 400, "a missing team: {body}");
    let (status, body) = upload(&server, &write, "environment=production&team=t&digest=sha256:00", &sbom);
    assert_eq!(status, 400, "a bad digest: {body}");
    assert_eq!(get(&server, "/api/v1/images", &read), json!([]), "nothing was stored by refused uploads");

    // pare's JSON, SPDX and CycloneDX of the same image: one image, scanned at upload.
    let digest = inventory()["subject"]["digest"].as_str().unwrap().to_string();
    let (status, body) =
        upload(&server, &write, "environment=production&team=payments&repository=shop/api&tag=v1", &sbom);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["digest"], digest.as_str());
    assert_eq!(body["registered"]["new_image"], true);
    let first_scan_new = body["scan"]["new"].as_u64().unwrap();
    assert!(first_scan_new > 0, "the fixture has known vulnerabilities: {body}");
    for format in ["spdx-json", "cyclonedx-json"] {
        let out = run(pare.cmd().args(["sbom", "--format", format]).arg(rootfs()));
        let (status, body) = upload(
            &server,
            &write,
            &format!("environment=production&team=payments&repository=shop/api&tag=v1&digest={digest}"),
            &out.stdout,
        );
        assert_eq!(status, 201, "{format}: {body}");
        assert_eq!(body["registered"]["new_image"], false, "{format}");
    }
    let images = get(&server, "/api/v1/images", &read);
    assert_eq!(images.as_array().unwrap().len(), 1, "{images}");
    let image = &images[0];
    assert_eq!(image["packages"], 11);
    assert_eq!(image["environment"], "production");
    assert_eq!(image["team"], "payments");
    assert_eq!(image["open"]["other"].as_u64().unwrap(), first_scan_new, "{image}");
    assert!(image["age_days"].as_i64().unwrap() >= 0);

    // One image: packages and findings.
    let detail = get(&server, &format!("/api/v1/images/{digest}"), &read);
    let names: BTreeSet<&str> =
        detail["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.contains("libgcrypt20") && names.contains("libssl3"), "{names:?}");
    let open = open_findings(&server, &read, &digest);
    let gnutls: Vec<&String> = open.keys().filter(|id| open[*id]["package"] == "libgnutls30").collect();
    assert!(!gnutls.is_empty(), "DSA-6281-1 (gnutls28) applies to the fixture: {open:?}");
    assert!(!open.contains_key(ADDED), "the older database lacks DSA-6294-1");
    assert_eq!(call("GET", &format!("{base}/api/v1/images/sha256:{:064x}", 7), Some(&read), None).0, 404);

    // VEX for the product: the statement suppresses the finding on the product's digests.
    let vex = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.invalid/vex/1",
        "author": "payments team",
        "timestamp": "2026-12-01T00:00:00Z",
        "version": 1,
        "statements": [{
            "vulnerability": {"name": gnutls[0]},
            "products": [{"@id": "shop/api"}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path"
        }]
    });
    let (status, body) =
        call("PUT", &format!("{base}/api/v1/vex/shop%2Fapi"), Some(&read), Some(serde_json::to_vec(&vex).unwrap()));
    assert_eq!(status, 403, "{body}");
    let (status, body) = call("PUT", &format!("{base}/api/v1/vex/shop%2Fapi"), Some(&write), Some(b"not vex".to_vec()));
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        call("PUT", &format!("{base}/api/v1/vex/shop%2Fapi"), Some(&write), Some(serde_json::to_vec(&vex).unwrap()));
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["statements"].as_u64(), body["images"].as_u64()), (Some(1), Some(1)), "{body}");
    let suppressed = gnutls[0].clone();
    wait_for("the VEX rescan", Some(&server), || {
        open_findings(&server, &read, &digest)[&suppressed]["suppressed"] == true
    });
    let open = open_findings(&server, &read, &digest);
    assert_eq!(open[&suppressed]["vex_status"], "not_affected");
    assert_eq!(get(&server, "/api/v1/images", &read)[0]["open"]["other"].as_u64().unwrap(), first_scan_new - 1);

    // A second image on the same tag is a deploy; the first is no longer current.
    let mut v2 = inventory_as(2);
    v2["subject"]["name"] = json!("shop/api");
    let (status, body) = upload(
        &server,
        &write,
        "environment=production&team=payments&repository=shop/api&tag=v1",
        &serde_json::to_vec(&v2).unwrap(),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["registered"]["deployed_from"], digest.as_str());
    let deploys = get(&server, "/api/v1/deploys", &read);
    assert_eq!(deploys[0]["old_digest"], digest.as_str(), "{deploys}");
    assert_eq!(deploys[0]["new_digest"], format!("sha256:{:064x}", 2));
    let images = get(&server, "/api/v1/images", &read);
    let current: BTreeMap<&str, bool> =
        images.as_array().unwrap().iter().map(|i| (i["digest"].as_str().unwrap(), i["current"] == true)).collect();
    assert!(!current[digest.as_str()], "{images}");
    assert!(current[format!("sha256:{:064x}", 2).as_str()]);

    // Metrics: current images only, by environment and team.
    let (status, metrics) = call("GET", &format!("{base}/metrics"), Some(&read), None);
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(metrics.contains("pare_monitor_images{environment=\"production\",team=\"payments\"} 1"), "{metrics}");
    // Both digests are of the product shop/api: the VEX statement applies to the new one too.
    let expected = format!(
        "pare_monitor_open_findings{{environment=\"production\",team=\"payments\",severity=\"other\"}} {}",
        first_scan_new - 1
    );
    assert!(metrics.contains(&expected), "{expected} in {metrics}");
    // The freshness distribution per environment and team: the one current image, counted in every
    // bucket from its age up.
    let age = images.as_array().unwrap().iter().find(|i| i["current"] == true).unwrap()["age_days"].as_i64().unwrap();
    assert!(metrics.contains("pare_monitor_image_age_days_count{environment=\"production\",team=\"payments\"} 1"));
    for le in [7, 30, 90, 180, 365, 730] {
        let line = format!(
            "pare_monitor_image_age_days_bucket{{environment=\"production\",team=\"payments\",le=\"{le}\"}} {}",
            i64::from(age <= le)
        );
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }

    // A newer database, then the older one again: the added finding comes and goes (fixed), and the
    // mean time to remediate is computed (summed by the database, on both backends).
    let sha = get(&server, "/api/v1/status", &read)["database_sha256"].as_str().unwrap().to_string();
    write_new_db(pare, &vuln_db);
    let sha = wait_rescanned(&server, &read, Some(&sha));
    assert!(open_findings(&server, &read, &digest).contains_key(ADDED));
    write_old_db(pare, &vuln_db);
    wait_rescanned(&server, &read, Some(&sha));
    assert!(!open_findings(&server, &read, &digest).contains_key(ADDED));
    let (_, metrics) = call("GET", &format!("{base}/metrics"), Some(&read), None);
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("pare_monitor_mean_time_to_remediate_seconds{environment=\"production\",team=\"payments\"}"),
        "{metrics}"
    );

    // Pages: X-Total-Count and a Link to the next page; filters.
    let page = |query: &str| {
        let resp = client().get(format!("{base}/api/v1/images?{query}")).bearer_auth(&read).send().unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{query}");
        let total = resp.headers()["x-total-count"].to_str().unwrap().to_string();
        let link = resp.headers().get("link").map(|l| l.to_str().unwrap().to_string());
        let digests: Vec<String> = resp
            .json::<Value>()
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["digest"].as_str().unwrap().to_string())
            .collect();
        (total, link, digests)
    };
    let (total, link, first) = page("limit=1");
    assert_eq!((total.as_str(), first.len()), ("2", 1));
    assert_eq!(link.as_deref(), Some("</api/v1/images?limit=1&offset=1>; rel=\"next\""));
    let (_, link, _) = page("order=risk&limit=1");
    assert_eq!(link.as_deref(), Some("</api/v1/images?order=risk&limit=1&offset=1>; rel=\"next\""));
    let (_, link, second) = page("limit=1&offset=1");
    assert_eq!((link, second.len()), (None, 1), "the last page has no next link");
    assert_ne!(first, second);
    let (total, _, current) = page("current=true&team=payments");
    assert_eq!((total.as_str(), current), ("1", vec![format!("sha256:{:064x}", 2)]));
    assert_eq!(page("team=nobody").0, "0");
    assert_eq!(page("environment=production&team=payments").0, "2", "two filters, each its own value");
    assert_eq!(page("environment=payments&team=production").0, "0");
    let (status, body) = call("GET", &format!("{base}/api/v1/images?limit=many"), Some(&read), None);
    assert_eq!(status, 400, "{body}");

    // The SBOM each scan read, in standard formats: the packages the API lists.
    let detail = get(&server, &format!("/api/v1/images/{digest}"), &read);
    let mut names: Vec<&str> =
        detail["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    names.dedup();
    let spdx = get(&server, &format!("/api/v1/images/{digest}/sbom"), &read);
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3", "{spdx}");
    let mut spdx_names: Vec<&str> = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["externalRefs"].as_array().is_some_and(|r| r.iter().any(|r| r["referenceType"] == "purl")))
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    spdx_names.sort_unstable();
    spdx_names.dedup();
    assert_eq!(spdx_names, names);
    let cdx = get(&server, &format!("/api/v1/images/{digest}/sbom?format=cyclonedx-json"), &read);
    assert_eq!((cdx["bomFormat"].as_str(), cdx["specVersion"].as_str()), (Some("CycloneDX"), Some("1.6")));
    let (status, body) = call("GET", &format!("{base}/api/v1/images/{digest}/sbom?format=xml"), Some(&read), None);
    assert_eq!(status, 400, "{body}");
    assert!(body["hint"].as_str().unwrap().contains("spdx-json"), "{body}");
    assert_eq!(call("GET", &format!("{base}/api/v1/images/sha256:{:064x}/sbom", 99), Some(&read), None).0, 404);
    assert_eq!(call("GET", &format!("{base}/api/v1/images/{digest}/sbom"), None, None).0, 401);

    // One team's trend.
    let trend = get(&server, "/api/v1/trend?days=3&team=nobody", &read);
    assert_eq!(trend["team"], "nobody");
    assert!(trend["points"].as_array().unwrap().iter().all(|p| p["critical"] == 0 && p["high"] == 0), "{trend}");
}

#[test]
fn api_on_sqlite() {
    let pare = Pare::new(crate::PARE);
    let dir = tempfile::tempdir().unwrap();
    api_suite(&pare, &format!("sqlite:{}", dir.path().join("monitor.db").display()));
}

#[test]
fn api_on_postgres() {
    let pg = Postgres::start();
    let pare = Pare::new(crate::PARE);
    api_suite(&pare, &pg.database("api"));
}

#[test]
fn default_store_needs_no_setup() {
    let pare = Pare::new(crate::PARE);
    let out = run(pare.cmd().args(["monitor", "token", "create", "--scope", "read"]));
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(token.starts_with("pare_read_"), "{token}");
    let store = pare.root().join("xdg-data/pare/monitor.db");
    assert!(store.is_file(), "{} was created", store.display());
    let bytes = std::fs::read(&store).unwrap();
    assert!(!bytes.windows(token.trim().len()).any(|w| w == token.trim().as_bytes()), "only the hash is stored");
}

/// HMAC-SHA256 of `body` under `key`, computed by Python's standard library (not pare's code).
fn python_hmac(key: &str, body: &[u8]) -> String {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; print('sha256=' + hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), \
             hashlib.sha256).hexdigest())",
            key,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn metric(server: &Server, token: &str, line_prefix: &str) -> Option<i64> {
    let (_, text) = call("GET", &format!("{}/metrics", server.url), Some(token), None);
    text.as_str()?.lines().find_map(|l| l.strip_prefix(line_prefix)?.trim().parse().ok())
}

fn register_many(server: &Server, token: &str, numbers: std::ops::Range<u32>, environment: &str, team: &str) {
    for n in numbers {
        let (status, body) = upload(
            server,
            token,
            &format!("environment={environment}&team={team}&tag=live"),
            &serde_json::to_vec(&inventory_as(n)).unwrap(),
        );
        assert_eq!(status, 201, "{body}");
    }
}

fn digest_of(n: u32) -> String {
    format!("sha256:{n:064x}")
}

/// What most SQLite tests start from: pare, a temporary directory holding the store (`monitor.db`)
/// and the older vulnerability database (`vuln.db`, unless `without_database`), and a write and a read
/// token for the store.
struct Fixture {
    pare: Pare,
    dir: tempfile::TempDir,
    vuln_db: std::path::PathBuf,
    database: String,
    write: String,
    read: String,
}

impl Fixture {
    fn sqlite() -> Fixture {
        let fixture = Fixture::without_database();
        write_old_db(&fixture.pare, &fixture.vuln_db);
        fixture
    }

    fn without_database() -> Fixture {
        let pare = Pare::new(crate::PARE);
        let dir = tempfile::tempdir().unwrap();
        let vuln_db = dir.path().join("vuln.db");
        let database = format!("sqlite:{}", dir.path().join("monitor.db").display());
        let (write, read) = (token(&pare, &database, "write"), token(&pare, &database, "read"));
        Fixture { pare, dir, vuln_db, database, write, read }
    }
}

/// The rescan story: images registered, an older database, then a newer one with an added
/// advisory for a package they contain.
#[test]
fn rescan_story_new_advisory_reaches_stored_images_and_alerts_once() {
    let Fixture { pare, dir: _dir, vuln_db, database, write, read } = Fixture::sqlite();
    let receiver = Receiver::start();
    let server = Server::start(&pare, &database, &vuln_db, &["--alert-url", &receiver.url, "--alert-secret", "s3cret"]);
    // Two production images and one in staging; none can be pulled (their digests are made up): a
    // rescan can only read the stored inventories.
    register_many(&server, &write, 10..12, "production", "payments");
    register_many(&server, &write, 12..13, "staging", "search");
    let old_sha = get(&server, "/api/v1/status", &read)["database_sha256"].as_str().unwrap().to_string();
    for n in 10..13 {
        assert!(!open_findings(&server, &read, &digest_of(n)).contains_key(ADDED));
    }
    let trend_before = get(&server, "/api/v1/trend?days=7", &read);
    assert_eq!(trend_before["points"].as_array().unwrap().len(), 8);
    assert!(trend_before["points"].as_array().unwrap().iter().all(|p| p["critical"] == 0), "{trend_before}");
    let before = pare_monitor::now();

    // `pare db update` replaces the file: the server notices and rescans everything.
    write_new_db(&pare, &vuln_db);
    let new_sha = wait_rescanned(&server, &read, Some(&old_sha));
    assert_ne!(new_sha, old_sha);
    for n in 10..13 {
        let open = open_findings(&server, &read, &digest_of(n));
        let f = &open[ADDED];
        assert_eq!((f["package"].as_str(), f["severity"].as_str()), (Some("libgcrypt20"), Some("critical")), "{f}");
        assert_eq!(f["fixed_version"], "1.10.1-3+deb12u1");
        assert!(f["first_seen"].as_i64().unwrap() >= before);
    }
    for image in get(&server, "/api/v1/images", &read).as_array().unwrap() {
        assert_eq!(image["scan_count"], 2, "scanned at upload, then once with the new database: {image}");
        assert_eq!(image["scanned_db"], new_sha.as_str());
    }
    // The trend moves: two production digests now carry an open critical finding (staging is not counted).
    let trend = get(&server, "/api/v1/trend?days=7", &read);
    let points = trend["points"].as_array().unwrap();
    assert_eq!(points.last().unwrap()["critical"], 2, "{trend}");
    assert_eq!(points[0]["critical"], 0, "{trend}");

    // One signed POST per new critical finding on a production image, and no more once delivered.
    wait_for("the alerts to be delivered", Some(&server), || {
        metric(&server, &read, "pare_monitor_alerts{state=\"delivered\"}") == Some(2)
    });
    assert_eq!(metric(&server, &read, "pare_monitor_alerts{state=\"pending\"}"), Some(0));
    let posts = receiver.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "exactly one POST per finding");
    let mut digests = BTreeSet::new();
    for (headers, body) in &posts {
        assert_eq!(headers["x-pare-signature"], python_hmac("s3cret", body), "HMAC-SHA256 of the body");
        let alert: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(alert["finding"]["advisory"], ADDED);
        assert_eq!(alert["image"]["environment"], "production");
        assert_eq!(headers["x-pare-delivery"], alert["id"].as_str().unwrap());
        digests.insert(alert["image"]["digest"].as_str().unwrap().to_string());
    }
    assert_eq!(digests, BTreeSet::from([digest_of(10), digest_of(11)]));

    // The older database again: the advisory is gone, the finding is marked fixed, no alert is sent.
    write_old_db(&pare, &vuln_db);
    wait_rescanned(&server, &read, Some(&new_sha));
    for n in 10..13 {
        let image = get(&server, &format!("/api/v1/images/{}", digest_of(n)), &read);
        let f = image["findings"].as_array().unwrap().iter().find(|f| f["advisory"] == ADDED).unwrap().clone();
        assert!(f["fixed_at"].as_i64().unwrap() >= f["first_seen"].as_i64().unwrap(), "{f}");
    }
    let trend = get(&server, "/api/v1/trend?days=7", &read);
    assert_eq!(trend["points"].as_array().unwrap().last().unwrap()["critical"], 0, "{trend}");
    let (_, metrics) = call("GET", &format!("{}/metrics", server.url), Some(&read), None);
    assert!(
        metrics.as_str().unwrap().contains("pare_monitor_mean_time_to_remediate_seconds{environment=\"production\""),
        "{metrics}"
    );
    assert_eq!(metric(&server, &read, "pare_monitor_alerts{state=\"delivered\"}"), Some(2));
    assert_eq!(receiver.count(), 2);
}

/// kill -9 in the middle of a rescan, then a restart: every image is rescanned once, no finding is
/// lost or doubled, every alert arrives.
#[test]
fn kill_during_rescan_loses_nothing() {
    let Fixture { pare, dir: _dir, vuln_db, database, write, read } = Fixture::sqlite();
    let receiver = Receiver::start();
    const IMAGES: u32 = 24;
    let old_sha = {
        let server = Server::start(&pare, &database, &vuln_db, &[]);
        register_many(&server, &write, 100..100 + IMAGES, "production", "core");
        get(&server, "/api/v1/status", &read)["database_sha256"].as_str().unwrap().to_string()
    };
    // Each scan is slowed down (a test hook) so that the kill lands while the rescan is under way.
    let mut slow = Server::command(&pare, &database, &vuln_db, &["--lease", "2", "--alert-url", &receiver.url]);
    slow.env("PARE_MONITOR_TEST_SCAN_DELAY_MS", "150");
    let server = Server::spawn(slow);
    write_new_db(&pare, &vuln_db);
    let mut scanned_at_kill = 0;
    wait_for("part of the rescan", None, || {
        let images = get(&server, "/api/v1/images", &read);
        scanned_at_kill = images.as_array().unwrap().iter().filter(|i| i["scan_count"] == 2).count();
        scanned_at_kill > 0
    });
    drop(server); // SIGKILL
    assert!(scanned_at_kill < IMAGES as usize, "the kill came before the rescan ended ({scanned_at_kill})");

    let server = Server::start(&pare, &database, &vuln_db, &["--alert-url", &receiver.url]);
    let new_sha = wait_rescanned(&server, &read, Some(&old_sha));
    let images = get(&server, "/api/v1/images", &read);
    assert_eq!(images.as_array().unwrap().len(), IMAGES as usize);
    for image in images.as_array().unwrap() {
        assert_eq!(image["scan_count"], 2, "one scan at upload, one with the new database: {image}");
        assert_eq!(image["scanned_db"], new_sha.as_str());
        let detail = get(&server, &format!("/api/v1/images/{}", image["digest"].as_str().unwrap()), &read);
        let added = detail["findings"].as_array().unwrap().iter().filter(|f| f["advisory"] == ADDED).count();
        assert_eq!(added, 1, "{detail}");
    }
    wait_for("every alert", Some(&server), || {
        metric(&server, &read, "pare_monitor_alerts{state=\"delivered\"}") == Some(i64::from(IMAGES))
    });
    // At least once: a kill between a POST and its record may repeat one; none is lost.
    let posts = receiver.posts.lock().unwrap().clone();
    let ids: BTreeSet<String> = posts.iter().map(|(h, _)| h["x-pare-delivery"].clone()).collect();
    let digests: BTreeSet<String> = posts
        .iter()
        .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap()["image"]["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), IMAGES as usize);
    assert_eq!(digests.len(), IMAGES as usize);
}

/// SQLite under concurrent API writers keeps every write.
#[test]
fn sqlite_keeps_every_concurrent_write() {
    let Fixture { pare, dir: _dir, vuln_db, database, write, read } = Fixture::sqlite();
    let server = Arc::new(Server::start(&pare, &database, &vuln_db, &[]));
    let threads: Vec<_> = (0..6u32)
        .map(|t| {
            let (server, write) = (Arc::clone(&server), write.clone());
            std::thread::spawn(move || register_many(&server, &write, 1000 + t * 10..1010 + t * 10, "staging", "web"))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let images = get(&server, "/api/v1/images", &read);
    let digests: BTreeSet<&str> = images.as_array().unwrap().iter().map(|i| i["digest"].as_str().unwrap()).collect();
    assert_eq!(digests.len(), 60);
    assert!(images.as_array().unwrap().iter().all(|i| i["scan_count"] == 1 && i["open"]["other"].as_i64() > Some(0)));
}

/// Two servers on one PostgreSQL share a rescan and never scan one image twice.
#[test]
#[allow(clippy::print_stderr)]
fn two_workers_on_postgres_never_scan_an_image_twice() {
    let pg = Postgres::start();
    let database = pg.database("fleet");
    let pare = Pare::new(crate::PARE);
    let dir = tempfile::tempdir().unwrap();
    let vuln_db = dir.path().join("vuln.db");
    write_old_db(&pare, &vuln_db);
    let write = token(&pare, &database, "write");
    let read = token(&pare, &database, "read");
    const IMAGES: u32 = 48;
    let start = |id: &str| {
        let mut cmd = Server::command(&pare, &database, &vuln_db, &["--worker-id", id]);
        cmd.env("PARE_MONITOR_TEST_SCAN_DELAY_MS", "20");
        Server::spawn(cmd)
    };
    let a = start("worker-a");
    let b = start("worker-b");
    register_many(&a, &write, 200..200 + IMAGES / 2, "production", "core");
    register_many(&b, &write, 200 + IMAGES / 2..200 + IMAGES, "production", "core");
    let old_sha = get(&a, "/api/v1/status", &read)["database_sha256"].as_str().unwrap().to_string();
    write_new_db(&pare, &vuln_db);
    let new_sha = wait_rescanned(&a, &read, Some(&old_sha));
    wait_rescanned(&b, &read, Some(&old_sha));
    let images = get(&b, "/api/v1/images", &read);
    let mut by_worker: BTreeMap<String, usize> = BTreeMap::new();
    for image in images.as_array().unwrap() {
        assert_eq!(image["scan_count"], 2, "scanned once at upload and once after the update: {image}");
        assert_eq!(image["scanned_db"], new_sha.as_str());
        *by_worker.entry(image["scanned_by"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(images.as_array().unwrap().len(), IMAGES as usize);
    eprintln!("rescans per worker: {by_worker:?}");
}

/// A running chromedriver (Debian's `chromium-driver`), killed when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        let bin = pare_test::tools::require("chromedriver");
        pare_test::tools::require("chromium");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let driver = ChromeDriver { child, url: format!("http://127.0.0.1:{port}") };
        wait_for("chromedriver", None, || {
            client().get(format!("{}/status", driver.url)).send().is_ok_and(|r| r.status().is_success())
        });
        driver
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The dashboard in headless Chromium with JavaScript switched off: sign in with a read token, the
/// trend chart has one point per day and series, the images and the image page are there; a
/// screenshot is saved under target/. The dashboard's cookie can read but never write.
#[test]
fn dashboard_in_chromium_without_javascript() {
    let Fixture { pare, dir: _dir, vuln_db, database, write, read } = Fixture::sqlite();
    let server = Server::start(&pare, &database, &vuln_db, &[]);
    register_many(&server, &write, 300..302, "production", "payments");
    register_many(&server, &write, 302..303, "staging", "search");
    let old_sha = get(&server, "/api/v1/status", &read)["database_sha256"].as_str().unwrap().to_string();
    write_new_db(&pare, &vuln_db);
    wait_rescanned(&server, &read, Some(&old_sha));

    // Without a token the dashboard sends the browser to sign in; the cookie may read, not write.
    let no_redirect = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = no_redirect.get(format!("{}/", server.url)).send().unwrap();
    assert_eq!((resp.status().as_u16(), resp.headers()["location"].to_str().unwrap()), (303, "/login"));
    let cookie = format!("pare_monitor_token={read}");
    let resp = no_redirect.get(format!("{}/", server.url)).header("cookie", &cookie).send().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let cookie_write = format!("pare_monitor_token={write}");
    let resp = no_redirect
        .post(format!("{}/api/v1/images?environment=production&team=t", server.url))
        .header("cookie", &cookie_write)
        .body(serde_json::to_vec(&inventory_as(309)).unwrap())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "a cookie never authorises a write");

    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let screenshot = pare_test::tools::target_dir().join("monitor-dashboard.png");
    let base = server.url.clone();
    runtime.block_on(async {
        use fantoccini::{ClientBuilder, Locator};
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,1000", format!("--user-data-dir={}", profile.path().display())],
                "prefs": {"profile.managed_default_content_settings.javascript": 2}
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let browser = ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("a session");
        browser.goto(&format!("{base}/")).await.unwrap();
        assert!(browser.current_url().await.unwrap().as_str().ends_with("/login"));
        let form = browser.form(Locator::Css("form")).await.unwrap();
        form.set_by_name("token", &read).await.unwrap().submit().await.unwrap();
        // The form's redirect is followed by the browser after submit() returns: wait for it (10 s).
        let home = format!("{base}/");
        for _ in 0..100 {
            if browser.current_url().await.unwrap().as_str() == home {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(browser.current_url().await.unwrap().as_str(), home);
        let critical = browser.find_all(Locator::Css("svg#trend circle.point.critical")).await.unwrap();
        let high = browser.find_all(Locator::Css("svg#trend circle.point.high")).await.unwrap();
        assert_eq!((critical.len(), high.len()), (31, 31), "30 days and now, per series");
        let last = critical.last().unwrap().find(Locator::Css("title")).await.unwrap();
        let label = last.html(true).await.unwrap();
        assert!(label.ends_with("critical: 2"), "two production digests with the critical finding now: {label}");
        let rows = browser.find_all(Locator::Css("table#images tbody tr")).await.unwrap();
        assert_eq!(rows.len(), 3);
        std::fs::write(&screenshot, browser.screenshot().await.unwrap()).unwrap();
        browser.goto(&format!("{base}/images/{}", digest_of(300))).await.unwrap();
        let findings = browser.find(Locator::Css("table#findings")).await.unwrap().text().await.unwrap();
        assert!(findings.contains(ADDED) && findings.contains("critical"), "{findings}");
        browser.close().await.unwrap();
    });
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", screenshot.display());
}

/// A receiver that fails gets the alert again (same delivery id) until it accepts it; anonymous reads
/// are opened by the flag and anonymous writes stay refused.
#[test]
fn alerts_are_retried_until_delivered_and_anonymous_reads_are_opt_in() {
    let Fixture { pare, dir: _dir, vuln_db, database, write, read: _ } = Fixture::sqlite();
    let receiver = Receiver::failing_first(2);
    let server = Server::start(&pare, &database, &vuln_db, &["--alert-url", &receiver.url, "--allow-anonymous-read"]);
    let (status, _) = call("GET", &format!("{}/api/v1/images", server.url), None, None);
    assert_eq!(status, 200, "anonymous read allowed by the flag");
    let (status, _) = call(
        "POST",
        &format!("{}/api/v1/images?environment=production&team=x", server.url),
        None,
        Some(serde_json::to_vec(&inventory_as(400)).unwrap()),
    );
    assert_eq!(status, 401, "never an anonymous write");
    register_many(&server, &write, 400..401, "production", "core");
    let old_sha = get(&server, "/api/v1/status", "")["database_sha256"].as_str().unwrap().to_string();
    write_new_db(&pare, &vuln_db);
    wait_rescanned(&server, "", Some(&old_sha));
    wait_for("the alert after two failures", Some(&server), || {
        metric(&server, "", "pare_monitor_alerts{state=\"delivered\"}") == Some(1)
    });
    let posts = receiver.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 3, "two refused attempts, then the accepted one");
    let ids: BTreeSet<&String> = posts.iter().map(|(h, _)| &h["x-pare-delivery"]).collect();
    assert_eq!(ids.len(), 1, "the same alert each time");
    assert!(posts.iter().all(|(_, body)| body == &posts[0].1));
}

/// `--db-source`: the server rebuilds the database itself from the sources `pare db update` takes, and
/// the stored images are rescanned with it.
#[test]
fn the_server_updates_the_database_from_db_sources() {
    let Fixture { pare, dir: _dir, vuln_db, database, write, read } = Fixture::without_database();
    let mut extra = vec!["--db-update-interval".to_string(), "3600".to_string()];
    for source in &db_sources().1 {
        extra.push("--db-source".into());
        extra.push(source.display().to_string());
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    // No database file at start: the first update makes it.
    let server = Server::start(&pare, &database, &vuln_db, &extra);
    register_many(&server, &write, 500..501, "production", "core");
    wait_rescanned(&server, &read, None);
    assert!(vuln_db.is_file());
    assert!(open_findings(&server, &read, &digest_of(500)).contains_key(ADDED), "scanned with the newer sources");
}

// ---- registry watches

/// The scan fixture without its last package (zlib1g): another image with one package fewer.
fn rootfs_without_last_package(dir: &Path) -> PathBuf {
    let root = dir.join("second-rootfs");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    for file in ["etc/os-release", "etc/debian_version"] {
        std::fs::copy(rootfs().join(file), root.join(file)).unwrap();
    }
    let status = std::fs::read_to_string(rootfs().join("var/lib/dpkg/status")).unwrap();
    let cut = status.trim_end().rfind("\n\nPackage: ").unwrap();
    assert!(status[cut..].contains("Package: zlib1g\n"), "the last package is zlib1g");
    std::fs::write(root.join("var/lib/dpkg/status"), format!("{}\n", &status[..cut])).unwrap();
    root
}

/// (ecosystem, name, version) of every package, sorted: of `pare sbom --format json` or of the API.
fn package_list(packages: &Value) -> Vec<(String, String, String)> {
    let mut list: Vec<_> = packages
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
            (s("ecosystem"), s("name"), s("version"))
        })
        .collect();
    list.sort();
    list
}

/// The packages `pare sbom` (the CLI, not the server) finds in a registry image.
fn sbom_packages(pare: &Pare, reference: &str) -> Vec<(String, String, String)> {
    let out = run(pare.cmd().args(["sbom", "--format", "json", reference]));
    package_list(&serde_json::from_slice::<Value>(&out.stdout).unwrap()["packages"])
}

fn watches(server: &Server, token: &str) -> Vec<Value> {
    get(server, "/api/v1/watches", token).as_array().unwrap().clone()
}

fn watch_by_id(server: &Server, token: &str, id: &str) -> Value {
    watches(server, token).into_iter().find(|w| w["id"] == id).unwrap_or(Value::Null)
}

fn deploys_of(server: &Server, token: &str) -> Vec<(Value, Value)> {
    get(server, "/api/v1/deploys", token)
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["old_digest"].clone(), d["new_digest"].clone()))
        .collect()
}

/// Watching a real registry (Debian's docker-registry): a tag's image is pulled, cataloged, registered
/// and scanned; the tag moving is a deploy (to a new digest, then back to a known one); a missing
/// repository and a stopped registry show in `last_error`; read tokens cannot change watches.
fn watch_story(pare: &Pare, database: &str) {
    let mut registry = pare_test::registry::TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let vuln_db = dir.path().join("vuln.db");
    write_new_db(pare, &vuln_db);
    let write = token(pare, database, "write");
    let read = token(pare, database, "read");
    let server = Server::start(pare, database, &vuln_db, &[]);
    let base = server.url.clone();
    let repo = format!("{}/team/app", registry.host());
    let tag = format!("{repo}:prod");
    let copy = |src: String, dst: &str| {
        String::from_utf8(run(pare.cmd().args(["-q", "copy"]).arg(src).arg(dst)).stdout).unwrap().trim().to_string()
    };
    let first = copy(format!("dir:{}", rootfs().display()), &tag);
    assert!(first.starts_with("sha256:"), "{first}");

    // Changes need the write scope; the body is checked.
    let body = |v: Value| Some(serde_json::to_vec(&v).unwrap());
    let spec = json!({"repository": repo, "environment": "production", "team": "payments", "tags": ["prod"],
        "interval_seconds": 1});
    let (status, answer) = call("POST", &format!("{base}/api/v1/watches"), Some(&read), body(spec.clone()));
    assert_eq!(status, 403, "{answer}");
    let (status, _) = call("POST", &format!("{base}/api/v1/watches"), None, body(spec.clone()));
    assert_eq!(status, 401);
    for (bad, says) in [
        (json!({"repository": tag, "environment": "production", "team": "payments"}), "names a tag or digest"),
        (
            json!({"repository": repo, "environment": "production", "team": "payments", "interval_seconds": 0}),
            "interval_seconds 0",
        ),
        (json!({"repository": repo, "environment": "", "team": "payments"}), "`environment`"),
        (json!({"repository": repo, "environment": "production", "team": "payments", "tags": ["a/b"]}), "`a/b`"),
    ] {
        let (status, answer) = call("POST", &format!("{base}/api/v1/watches"), Some(&write), body(bad));
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(says), "{answer}");
    }
    assert!(watches(&server, &read).is_empty());

    // Added with the CLI: the first check runs at once.
    let out = run(pare.cmd().args(["monitor", "watch", "add", &repo, "--server", &base, "--token", &write]).args([
        "--env",
        "production",
        "--team",
        "payments",
        "--tag",
        "pr*",
        "--interval",
        "1s",
        "--format",
        "json",
    ]));
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = added["id"].as_str().unwrap().to_string();
    assert_eq!(added["repository"], repo.as_str());
    assert_eq!(added["tags"], json!(["pr*"]));
    assert_eq!(added["interval_seconds"], 1);

    let scanned = |digest: &str| {
        let (status, image) = call("GET", &format!("{base}/api/v1/images/{digest}"), Some(&read), None);
        status == 200 && image["scan_count"].as_i64().unwrap_or(0) >= 1
    };
    wait_for("the watched tag's image to be registered and scanned", Some(&server), || scanned(&first));
    let image = get(&server, &format!("/api/v1/images/{first}"), &read);
    assert_eq!(image["repository"], repo.as_str());
    assert_eq!(image["tag"], "prod");
    assert_eq!(image["environment"], "production");
    assert_eq!(image["team"], "payments");
    assert_eq!(image["current"], true);
    assert_eq!(image["created_at"], 1_700_000_000, "the image config's `created`");
    let first_packages = sbom_packages(pare, &tag);
    assert_eq!(first_packages.len(), 11);
    assert_eq!(package_list(&image["packages"]), first_packages, "the server's inventory is the CLI's");
    assert!(open_findings(&server, &read, &first).contains_key(ADDED), "the registered image was scanned");
    let w = watch_by_id(&server, &read, &id);
    assert!(w["last_error"].is_null(), "{w}");
    assert!(w["last_checked_at"].is_i64(), "{w}");
    assert_eq!(w["tags_seen"]["prod"]["digest"], first.as_str());
    assert_eq!(w["tags_seen"]["prod"]["image"], first.as_str());
    assert_eq!(deploys_of(&server, &read), vec![(Value::Null, json!(first))]);

    // The tag moves to another image: pulled, registered, a deploy; the old digest is not current.
    let second_root = rootfs_without_last_package(dir.path());
    let second = copy(format!("dir:{}", second_root.display()), &tag);
    assert_ne!(second, first);
    wait_for("the deploy of the moved tag", Some(&server), || {
        deploys_of(&server, &read).first() == Some(&(json!(first), json!(second)))
    });
    wait_for("the new image's scan", Some(&server), || scanned(&second));
    let image = get(&server, &format!("/api/v1/images/{second}"), &read);
    assert_eq!(image["current"], true);
    let second_packages = sbom_packages(pare, &tag);
    assert_eq!(second_packages.len(), 10);
    assert_eq!(package_list(&image["packages"]), second_packages);
    assert_eq!(get(&server, &format!("/api/v1/images/{first}"), &read)["current"], false);

    // And back to a digest the monitor knows: registered from the store, a deploy again.
    let back = copy(format!("{repo}@{first}"), &tag);
    assert_eq!(back, first);
    wait_for("the deploy back", Some(&server), || {
        deploys_of(&server, &read).first() == Some(&(json!(second), json!(first)))
    });
    assert_eq!(get(&server, &format!("/api/v1/images/{first}"), &read)["current"], true);
    assert_eq!(get(&server, &format!("/api/v1/images/{second}"), &read)["current"], false);
    assert_eq!(deploys_of(&server, &read).len(), 3, "one deploy per move, none per check");

    // A multi-platform index under a tag the pattern matches: the image of the server's platform is
    // registered. A tag the pattern does not match is not.
    copy(format!("{repo}@{first}"), &format!("{repo}:other"));
    let host = pare_oci::Platform::host().to_string();
    let parts: Vec<&str> = host.split('/').collect();
    let mut platform = json!({"os": parts[0], "architecture": parts[1]});
    if let Some(variant) = parts.get(2) {
        platform["variant"] = json!(variant);
    }
    let elsewhere = if parts[1] == "s390x" { "ppc64le" } else { "s390x" };
    let manifest = |digest: &str| {
        let resp = client()
            .get(format!("http://{}/v2/team/app/manifests/{digest}", registry.host()))
            .header(
                "accept",
                "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
            )
            .send()
            .unwrap();
        let media_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        (media_type, resp.bytes().unwrap().len())
    };
    let entry = |digest: &str, platform: Value| {
        let (media_type, size) = manifest(digest);
        json!({"mediaType": media_type, "digest": digest, "size": size, "platform": platform})
    };
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(&first, json!({"os": "linux", "architecture": elsewhere})), entry(&second, platform)],
    }))
    .unwrap();
    let index_digest = pare_oci::sha256(&index).to_string();
    let resp = client()
        .put(format!("http://{}/v2/team/app/manifests/prod-multi", registry.host()))
        .header("content-type", "application/vnd.oci.image.index.v1+json")
        .body(index)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201, "{}", resp.text().unwrap_or_default());
    wait_for("the index's tag", Some(&server), || {
        watch_by_id(&server, &read, &id)["tags_seen"]["prod-multi"]["digest"] == index_digest.as_str()
    });
    let w = watch_by_id(&server, &read, &id);
    assert_eq!(w["tags_seen"]["prod-multi"]["image"], second.as_str(), "{w}");
    assert_eq!(w["tags_seen"].as_object().unwrap().keys().collect::<Vec<_>>(), ["prod", "prod-multi"], "{w}");
    assert_eq!(deploys_of(&server, &read).first(), Some(&(Value::Null, json!(second))));

    // A repository that does not exist: the error is kept, and checks go on.
    let missing = format!("{}/team/missing", registry.host());
    let (status, answer) = call(
        "POST",
        &format!("{base}/api/v1/watches"),
        Some(&write),
        body(json!({"repository": missing, "environment": "staging", "team": "web", "interval_seconds": 1})),
    );
    assert_eq!(status, 201, "{answer}");
    let missing_id = answer["id"].as_str().unwrap().to_string();
    let mut checked = 0;
    wait_for("the missing repository's error", Some(&server), || {
        let w = watch_by_id(&server, &read, &missing_id);
        let error = w["last_error"].as_str().unwrap_or_default();
        if error.contains("team/missing") && error.contains("not found") {
            checked += 1;
            // A second check after the first failure: failures do not stop the schedule.
            checked >= 2 && w["last_checked_at"].as_i64() > answer["created_at"].as_i64()
        } else {
            false
        }
    });
    let table = String::from_utf8(
        run(pare.cmd().args(["monitor", "watch", "list", "--server", &base, "--token", &read])).stdout,
    )
    .unwrap();
    assert!(table.contains(&id) && table.contains(&missing_id), "{table}");
    assert!(table.contains("repository `team/missing` not found"), "{table}");

    // The registry stops: the watch says so, and what it saw stays.
    let before = watch_by_id(&server, &read, &id)["last_checked_at"].as_i64().unwrap();
    registry.stop();
    wait_for("the stopped registry's error", Some(&server), || {
        let w = watch_by_id(&server, &read, &id);
        let error = w["last_error"].as_str().unwrap_or_default().to_string();
        error.contains(&registry.host()) && w["last_checked_at"].as_i64().unwrap_or(0) > before
    });
    let w = watch_by_id(&server, &read, &id);
    assert!(w["last_error"].as_str().unwrap().contains("Connection refused"), "{w}");
    // The dashboard lists the watches with their errors.
    let index = client().get(format!("{base}/")).bearer_auth(&read).send().unwrap().text().unwrap();
    let watches_section = index.split("<h2>Registry watches</h2>").nth(1).unwrap_or_default();
    assert!(watches_section.contains(&registry.host()) && watches_section.contains("Connection refused"), "{index}");
    assert_eq!(w["tags_seen"]["prod"]["digest"], first.as_str());
    assert_eq!(get(&server, &format!("/api/v1/images/{first}"), &read)["current"], true);

    // Removal: write scope; then gone.
    let (status, _) = call("DELETE", &format!("{base}/api/v1/watches/{missing_id}"), Some(&read), None);
    assert_eq!(status, 403);
    let (status, _) = call("DELETE", &format!("{base}/api/v1/watches/{missing_id}"), Some(&write), None);
    assert_eq!(status, 204);
    let (status, _) = call("DELETE", &format!("{base}/api/v1/watches/{missing_id}"), Some(&write), None);
    assert_eq!(status, 404);
    run(pare.cmd().args(["monitor", "watch", "remove", &id, "--server", &base, "--token", &write]));
    assert!(watches(&server, &read).is_empty());
    let (_, openapi) = call("GET", &format!("{base}/openapi.json"), None, None);
    assert!(openapi["paths"]["/api/v1/watches"]["post"].is_object(), "{}", openapi["paths"]);
    assert!(openapi["paths"]["/api/v1/watches/{id}"]["delete"].is_object());
    drop(server);

    // `serve --watch` adds its watch once, however often the server starts.
    let flag = format!("{missing}=staging/web");
    for _ in 0..2 {
        let server = Server::start(pare, database, &vuln_db, &["--watch", &flag]);
        let list = watches(&server, &read);
        assert_eq!(list.len(), 1, "{list:?}");
        assert!(list[0]["id"].as_str().unwrap().starts_with("serve-"), "{list:?}");
        assert_eq!(list[0]["repository"], missing.as_str());
        assert_eq!(list[0]["interval_seconds"], 3600);
    }
}

#[test]
fn watch_registry_on_sqlite() {
    let pare = Pare::new(crate::PARE).source_date_epoch("1700000000");
    let dir = tempfile::tempdir().unwrap();
    watch_story(&pare, &format!("sqlite:{}", dir.path().join("monitor.db").display()));
}

#[test]
fn watch_registry_on_postgres() {
    let pg = Postgres::start();
    let pare = Pare::new(crate::PARE).source_date_epoch("1700000000");
    watch_story(&pare, &pg.database("watch"));
}

// ---- rebuild advice

/// `pare monitor push SRC --format json`: the server's answer.
fn push(pare: &Pare, server: &Server, token: &str, src: &str, extra: &[&str]) -> Value {
    let out = run(pare
        .cmd()
        .args(["monitor", "push", src, "--server", &server.url, "--token", token, "--env", "production"])
        .args(["--team", "payments", "--format", "json"])
        .args(extra));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The updates of an advice or an `outdated` report, as (package, installed, available, pocket,
/// security, [(fixed id, severity)]).
type UpdateRow = (String, String, String, String, bool, Vec<(String, String)>);

fn updates_of(updates: &Value) -> Vec<UpdateRow> {
    updates
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let s = |k: &str| u[k].as_str().unwrap().to_string();
            let fixes = u["fixes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["id"].as_str().unwrap().to_string(), f["severity"].as_str().unwrap().to_string()))
                .collect();
            (s("package"), s("installed"), s("available"), s("pocket"), u["security"].as_bool().unwrap(), fixes)
        })
        .collect()
}

/// Rebuild advice against a local signed Debian archive (the `outdated` tests' repository): a
/// pare-built image older than the security pocket is advised a rebuild with exactly the updates and
/// fixed CVEs `pare outdated` reports; the rebuilt one is not; a base whose tag moved is reported;
/// an archive with a bad signature leaves an error and keeps the last advice.
#[test]
fn rebuild_advice_matches_pare_outdated_and_failures_are_visible() {
    advice_suite(None);
}

/// The same on PostgreSQL.
#[test]
fn rebuild_advice_on_postgres() {
    let pg = Postgres::start();
    advice_suite(Some(&pg.database("advice")));
}

fn advice_suite(postgres: Option<&str>) {
    let crate::outdated::Fixture { tmp, pare, archive, server: repo } = crate::outdated::Fixture::new();
    let dir = tmp.path();
    let def = crate::outdated::definition(dir, &repo, "");
    run(pare.cmd().arg("lock").arg(&def));
    let old_image = format!("oci:{}", dir.join("old").display());
    run(pare.cmd().arg("build").arg(&def).args(["--to", &old_image]));
    // Debian publishes the expat fix (DSA-5770-1) in the security pocket; a rebuild takes it.
    archive.write_security(&[crate::outdated::fixed_expat()]);
    run(pare.cmd().arg("update").arg(&def));
    let new_image = format!("oci:{}", dir.join("new").display());
    run(pare.cmd().arg("build").arg(&def).args(["--to", &new_image]));
    let vuln_db = dir.join("vuln.db");
    run(pare.cmd().args(["-q", "db", "update", "--db"]).arg(&vuln_db).arg("--from").arg(dsa_list()));

    let database = postgres.map_or_else(|| format!("sqlite:{}", dir.join("monitor.db").display()), str::to_string);
    let write = token(&pare, &database, "write");
    let keyring = dir.join("test.gpg").display().to_string();
    let url = repo.url();
    let monitor = Server::start(
        &pare,
        &database,
        &vuln_db,
        &[
            "--archive-mirror",
            &url,
            "--security-mirror",
            &url,
            "--archive-keyring",
            &keyring,
            "--advice-interval",
            "1s",
        ],
    );
    // The old image names a base whose tag (a local layout here: the new image) has moved on.
    let zero = format!("sha256:{}", "0".repeat(64));
    let old = push(&pare, &monitor, &write, &old_image, &["--base-name", &new_image, "--base-digest", &zero]);
    let old_digest = old["digest"].as_str().unwrap().to_string();
    let new = push(&pare, &monitor, &write, &new_image, &["--repository", "app-rebuilt"]);
    let new_digest = new["digest"].as_str().unwrap().to_string();
    assert_ne!(old_digest, new_digest);

    let advice_of = |digest: &str| get(&monitor, &format!("/api/v1/images/{digest}"), &write)["advice"].clone();
    let mut advice = Value::Null;
    wait_for("the advice of both images", Some(&monitor), || {
        advice = advice_of(&old_digest);
        let checked = |a: &Value| a["checked_at"].is_i64();
        checked(&advice) && advice["base_checked_at"].is_i64() && checked(&advice_of(&new_digest))
    });

    // The same updates and fixed CVEs as `pare outdated` on the same image.
    let out = pare
        .cmd()
        .args(["outdated", &old_image, "--format", "json", "--mirror", &url, "--security-mirror", &url])
        .args(["--keyring", &keyring, "--db"])
        .arg(&vuln_db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = updates_of(&report["updates"]);
    assert_eq!(expected.len(), 1, "{report}");
    assert_eq!(expected[0].0, "libexpat1");
    assert_eq!((expected[0].1.as_str(), expected[0].2.as_str()), ("2.5.0-1", "2.5.0-1+deb12u1"));
    let ids: Vec<&str> = expected[0].5.iter().map(|(id, _)| id.as_str()).collect();
    for cve in ["CVE-2024-45490", "CVE-2024-45491", "CVE-2024-45492"] {
        assert!(ids.contains(&cve), "{ids:?}");
    }
    assert_eq!(updates_of(&advice["updates"]), expected, "{advice}");
    assert_eq!(advice["rebuild_advised"], true, "{advice}");
    assert_eq!(advice["pare_built"], true, "the push recognises pare's build: {advice}");
    assert_eq!(advice["release"], "bookworm");
    assert!(advice["error"].is_null(), "{advice}");
    let suites: Vec<&str> =
        advice["pockets"].as_array().unwrap().iter().map(|p| p["suite"].as_str().unwrap()).collect();
    assert_eq!(suites, ["bookworm", "bookworm-updates", "bookworm-security"]);
    assert_eq!(advice["newer_base_digest"].as_str(), Some(new_digest.as_str()), "{advice}");
    assert!(advice["action"].as_str().unwrap().contains("rebuild"), "{advice}");

    // The rebuilt image: compared, nothing to advise.
    let fresh = advice_of(&new_digest);
    assert_eq!(fresh["rebuild_advised"], false, "{fresh}");
    assert_eq!(fresh["updates"], json!([]), "{fresh}");
    assert!(fresh["error"].is_null(), "{fresh}");

    // The list, the metric, the dashboard.
    let list = get(&monitor, "/api/v1/advice", &write);
    let listed: Vec<&str> = list.as_array().unwrap().iter().map(|a| a["digest"].as_str().unwrap()).collect();
    assert_eq!(listed, [old_digest.as_str()], "{list}");
    assert_eq!(list[0]["packages"], 1);
    assert_eq!(list[0]["fixes"].as_array().unwrap().len(), expected[0].5.len());
    assert_eq!(
        metric(
            &monitor,
            &write,
            "pare_monitor_rebuild_advised_images{environment=\"production\",team=\"payments\",pare_built=\"true\"}"
        ),
        Some(1)
    );
    let page = client().get(format!("{}/images/{old_digest}", monitor.url)).bearer_auth(&write).send().unwrap();
    let page = page.text().unwrap();
    assert!(page.contains("Rebuild advice") && page.contains("2.5.0-1+deb12u1") && page.contains("CVE-2024-45490"));
    let index = client().get(format!("{}/", monitor.url)).bearer_auth(&write).send().unwrap().text().unwrap();
    assert!(index.contains("Rebuild advised / stale bases") && index.contains(&new_digest), "{index}");

    // The security pocket now signed by another key: the check fails on every image, visibly, and
    // the last advice stays.
    let other = pare_deb::testing::TestKey::generate(99, "not the archive <x@example.invalid>").unwrap();
    archive.write_security_signed(&[crate::outdated::fixed_expat()], &other);
    let mut failed = Value::Null;
    wait_for("the failed check", Some(&monitor), || {
        failed = advice_of(&old_digest);
        failed["error"].is_string() && advice_of(&new_digest)["error"].is_string()
    });
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("bookworm-security/InRelease: signature check failed"), "{error}");
    assert_eq!(error.matches("signature check failed").count(), 1, "said once: {error}");
    // Checks kept succeeding until the signature changed: the last success is kept, before the failure.
    let (checked_at, error_at) = (failed["checked_at"].as_i64().unwrap(), failed["error_at"].as_i64().unwrap());
    assert!(checked_at >= advice["checked_at"].as_i64().unwrap() && checked_at <= error_at, "{failed}");
    assert_eq!(updates_of(&failed["updates"]), expected);
    assert_eq!(failed["rebuild_advised"], true);
    let list = get(&monitor, "/api/v1/advice", &write);
    assert!(list[0]["error"].is_string(), "{list}");
    let page = client().get(format!("{}/images/{old_digest}", monitor.url)).bearer_auth(&write).send().unwrap();
    let page = page.text().unwrap();
    assert!(page.contains("The last check failed") && page.contains("2.5.0-1+deb12u1"), "{page}");

    // Signed right again: the next check clears the error.
    archive.write_security(&[crate::outdated::fixed_expat()]);
    wait_for("the error to clear", Some(&monitor), || advice_of(&old_digest)["error"].is_null());
    assert_eq!(updates_of(&advice_of(&old_digest)["updates"]), expected);

    // The mirror down: an error naming it, the advice kept.
    drop(repo);
    let mut down = Value::Null;
    wait_for("the check with the mirror down", Some(&monitor), || {
        down = advice_of(&old_digest);
        down["error"].is_string()
    });
    assert!(down["error"].as_str().unwrap().contains(&url), "{down}");
    assert_eq!(updates_of(&down["updates"]), expected);
    assert_eq!(down["rebuild_advised"], true);
}

/// One read of the archive per check, however many images: 1,000 pare-built images of one release
/// cost the same requests to the mirror as one (the three Releases and their indexes), and each gets
/// the advice.
#[test]
fn rebuild_advice_reads_the_archive_once_per_check() {
    const IMAGES: u32 = 1_000;
    let crate::outdated::Fixture { tmp, pare, archive, server: repo } = crate::outdated::Fixture::new();
    let dir = tmp.path();
    let def = crate::outdated::definition(dir, &repo, "");
    run(pare.cmd().arg("lock").arg(&def));
    let image = format!("oci:{}", dir.join("old").display());
    run(pare.cmd().arg("build").arg(&def).args(["--to", &image]));
    archive.write_security(&[crate::outdated::fixed_expat()]);
    let sbom: Value =
        serde_json::from_slice(&run(pare.cmd().args(["sbom", &image, "--format", "json"])).stdout).unwrap();

    // Registered with advice off (and no vulnerability database: no scans), then a server with it on.
    let database = format!("sqlite:{}", dir.join("monitor.db").display());
    let write = token(&pare, &database, "write");
    let missing = dir.join("none.db");
    {
        let registrar = Server::start(&pare, &database, &missing, &[]);
        for n in 0..IMAGES {
            let mut inv = sbom.clone();
            inv["subject"]["digest"] = json!(format!("sha256:{n:064x}"));
            let body = serde_json::to_vec(&inv).unwrap();
            let (status, answer) =
                upload(&registrar, &write, &format!("environment=production&team=t{}&pare_built=true", n % 4), &body);
            assert_eq!(status, 201, "{answer}");
        }
    }
    let before = repo.requests();
    let url = repo.url();
    let keyring = dir.join("test.gpg").display().to_string();
    let args = ["--archive-mirror", &url, "--security-mirror", &url, "--archive-keyring", &keyring];
    let monitor = Server::start(&pare, &database, &missing, &[&args[..], &["--advice-interval", "1h"]].concat());
    wait_for("the first check", Some(&monitor), || monitor.log().contains("rebuild advice: "));
    let log = monitor.log();
    let line = log.lines().find(|l| l.contains("rebuild advice: ")).unwrap().to_string();
    assert!(line.contains(&format!("{IMAGES} images compared with 1 Debian releases")), "{line}");
    assert!(line.contains(&format!("{IMAGES} advised, 0 failed")), "{line}");
    // Three pockets: each InRelease and one Packages index (two when a pocket lists none: at most 6).
    let requests = repo.requests() - before;
    assert!((3..=6).contains(&requests), "{requests} requests to the mirror for {IMAGES} images");
    // The list, a page at a time: every advised image once.
    let mut listed = std::collections::BTreeSet::new();
    let mut path = "/api/v1/advice".to_string();
    let mut pages = 0;
    loop {
        let resp = client().get(format!("{}{path}", monitor.url)).bearer_auth(&write).send().unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert_eq!(resp.headers()["x-total-count"].to_str().unwrap(), IMAGES.to_string());
        let next = resp.headers().get("link").map(|l| l.to_str().unwrap().to_string());
        let list: Value = resp.json().unwrap();
        assert!(list.as_array().unwrap().iter().all(|a| a["packages"] == 1 && a["rebuild_advised"] == true));
        listed.extend(list.as_array().unwrap().iter().map(|a| a["digest"].as_str().unwrap().to_string()));
        pages += 1;
        let Some(next) = next else { break };
        path = next.trim_start_matches('<').split('>').next().unwrap().to_string();
    }
    assert_eq!((listed.len(), pages), (IMAGES as usize, 2), "500 per page by default");
    let index = client().get(format!("{}/", monitor.url)).bearer_auth(&write).send().unwrap().text().unwrap();
    assert!(index.contains(&format!("The first 100 of {IMAGES}")), "the dashboard says how many it leaves out");
    for team in 0..4 {
        let line = format!(
            "pare_monitor_rebuild_advised_images{{environment=\"production\",team=\"t{team}\",pare_built=\"true\"}}"
        );
        assert_eq!(metric(&monitor, &write, &line), Some(i64::from(IMAGES / 4)));
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{line} ({requests} requests to the mirror)");
    }
}

/// A pare-built image on a base from a real registry (Debian's docker-registry on 127.0.0.1): the push
/// records the base from the image's annotations, and when the base's tag moves the advice names the
/// new digest (resolved as the policy check `base-staleness` resolves it).
#[test]
fn rebuild_advice_reports_a_base_moved_in_its_registry() {
    let registry = pare_test::registry::TestRegistry::start();
    let crate::outdated::Fixture { tmp, pare, archive: _archive, server: repo } = crate::outdated::Fixture::new();
    let dir = tmp.path();
    let digest_of_copy = |from: &str, to: &str| {
        String::from_utf8(run(pare.cmd().args(["copy", from, to])).stdout).unwrap().trim().to_string()
    };
    let reference = format!("{}/base/hello:1", registry.host());
    let hello = format!("dir:{}", pare_test::tools::fixtures().join("hello-rootfs").display());
    let pinned = digest_of_copy(&hello, &reference);
    let def = crate::outdated::definition(dir, &repo, &format!("base = \"{reference}@{pinned}\"\n"));
    run(pare.cmd().arg("lock").arg(&def));
    let image = format!("oci:{}", dir.join("on-base").display());
    run(pare.cmd().arg("build").arg(&def).args(["--to", &image]));

    let database = format!("sqlite:{}", dir.join("monitor.db").display());
    let write = token(&pare, &database, "write");
    let (url, keyring) = (repo.url(), dir.join("test.gpg").display().to_string());
    let monitor = Server::start(
        &pare,
        &database,
        &dir.join("none.db"),
        &[
            "--archive-mirror",
            &url,
            "--security-mirror",
            &url,
            "--archive-keyring",
            &keyring,
            "--advice-interval",
            "1s",
        ],
    );
    let digest = push(&pare, &monitor, &write, &image, &[])["digest"].as_str().unwrap().to_string();
    let advice_of = || get(&monitor, &format!("/api/v1/images/{digest}"), &write)["advice"].clone();
    let mut advice = Value::Null;
    wait_for("the base's first resolution", Some(&monitor), || {
        advice = advice_of();
        advice["base_checked_at"].is_i64() && advice["checked_at"].is_i64()
    });
    assert_eq!(advice["pare_built"], true, "{advice}");
    assert_eq!(advice["base_name"].as_str(), Some(reference.as_str()), "{advice}");
    assert_eq!(advice["base_digest"].as_str(), Some(pinned.as_str()), "{advice}");
    assert!(advice["newer_base_digest"].is_null() && advice["base_error"].is_null(), "{advice}");
    assert_eq!(advice["rebuild_advised"], false, "{advice}");
    assert_eq!(get(&monitor, "/api/v1/advice", &write), json!([]));

    // The base's tag moves to another image.
    let rootfs = format!("dir:{}", rootfs().display());
    let moved = digest_of_copy(&rootfs, &reference);
    assert_ne!(moved, pinned);
    wait_for("the newer base", Some(&monitor), || {
        advice = advice_of();
        advice["newer_base_digest"].as_str() == Some(moved.as_str())
    });
    assert_eq!(advice["action"].as_str(), Some(format!("rebuild on {reference}@{moved}").as_str()), "{advice}");
    let list = get(&monitor, "/api/v1/advice", &write);
    assert_eq!(list[0]["digest"].as_str(), Some(digest.as_str()), "{list}");
    assert_eq!(list[0]["newer_base_digest"].as_str(), Some(moved.as_str()), "{list}");
}
