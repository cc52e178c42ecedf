//! `pare admission serve` (issue 13, point 5): the real server over HTTPS with a certificate made
//! here, real AdmissionReview JSON for each resource kind, images pushed to a real registry, signed
//! and unsigned; malformed and huge reviews, slow clients, unreachable registries, certificate
//! reload.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pare_test::Pare;
use pare_test::registry::TestRegistry;
use pare_test::tools::{require, run_ok};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Generous bound so that a broken server fails the test instead of hanging it.
const HANG: Duration = Duration::from_secs(60);

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A certificate authority and a server certificate for 127.0.0.1 it signed, in `dir`:
/// (`NAME-ca.crt`, `NAME.crt`, `NAME.key`). Clients trust the authority.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = require("openssl");
    let file = |suffix: &str| dir.join(format!("{name}{suffix}"));
    let (ca, ca_key, csr) = (file("-ca.crt"), file("-ca.key"), file(".csr"));
    let (cert, key, ext) = (file(".crt"), file(".key"), file(".ext"));
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run_ok(
        Command::new(&openssl)
            .args(["req", "-x509", "-days", "2", "-subj", &format!("/CN={name} CA")])
            .args(ec)
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca),
    );
    run_ok(
        Command::new(&openssl)
            .args(["req", "-subj", &format!("/CN={name}")])
            .args(ec)
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    std::fs::write(&ext, "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    run_ok(
        Command::new(&openssl)
            .args(["x509", "-req", "-days", "2", "-set_serial", "1", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(&ca)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&cert),
    );
    (ca, cert, key)
}

/// An OCI layout holding one image: an empty layer, a configuration with `user` and a label
/// naming it (so each image has its own digest). Returns the layout and the manifest digest.
fn layout(dir: &Path, name: &str, user: Option<&str>) -> (PathBuf, String) {
    let root = dir.join(format!("layout-{name}"));
    let blobs = root.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let digest = sha256(bytes);
        std::fs::write(blobs.join(digest.trim_start_matches("sha256:")), bytes).unwrap();
        digest
    };
    let layer = vec![0u8; 1024]; // an empty tar
    let layer_digest = put(&layer);
    let mut config = json!({"Labels": {"name": name}});
    if let Some(user) = user {
        config["User"] = json!(user);
    }
    let arch = if std::env::consts::ARCH == "aarch64" { "arm64" } else { "amd64" };
    let config = serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux", "created": "2026-01-01T00:00:00Z", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }))
    .unwrap();
    let config_digest = put(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap();
    let digest = put(&manifest);
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest, "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    (root, digest)
}

/// A running `pare admission serve`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    fn start(pare: &Pare, policy: &Path, cert: &Path, key: &Path, extra: &[&str]) -> Server {
        let mut child = pare
            .cmd()
            .args(["admission", "serve", "--listen", "127.0.0.1:0", "--policy"])
            .arg(policy)
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap());
        let log = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("pare admission: listening on https://") {
                    let _ = tx.send(addr.to_string());
                }
                log.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let addr = match rx.recv_timeout(HANG) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start: {}", stderr.lock().unwrap());
            }
        };
        Server { child, addr, stderr }
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    fn assert_running(&mut self) {
        assert!(self.child.try_wait().unwrap().is_none(), "the server stopped: {}", self.stderr.lock().unwrap());
    }

    /// A counter or gauge of `/metrics`.
    fn metric(&self, client: &reqwest::blocking::Client, name: &str) -> f64 {
        let text = client.get(self.url("/metrics")).send().unwrap().text().unwrap();
        let line = text.lines().find(|l| l.split(' ').next() == Some(name));
        line.and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTPS client trusting only the authority `ca`.
fn client(ca: &Path) -> reqwest::blocking::Client {
    let cert = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::blocking::Client::builder().tls_certs_only([cert]).timeout(HANG).build().unwrap()
}

/// A pod spec with one container of each kind.
fn pod_spec(app: &str, init: &str, debug: Option<&str>) -> Value {
    let mut spec = json!({
        "containers": [{"name": "app", "image": app, "resources": {}, "imagePullPolicy": "IfNotPresent"}],
        "initContainers": [{"name": "setup", "image": init}],
        "restartPolicy": "Always",
    });
    if let Some(debug) = debug {
        spec["ephemeralContainers"] = json!([{"name": "debugger", "image": debug, "targetContainerName": "app"}]);
    }
    spec
}

/// The object of `kind` carrying `spec`, as the API server sends it.
fn object(kind: &str, spec: Value) -> (Value, Value) {
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": spec});
    let (group, version, resource, body) = match kind {
        "Pod" => ("", "v1", "pods", json!({"spec": spec})),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
            let resource = format!("{}s", kind.to_lowercase());
            (
                "apps",
                "v1",
                Box::leak(resource.into_boxed_str()) as &str,
                json!({"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}}),
            )
        }
        "Job" => ("batch", "v1", "jobs", json!({"spec": {"template": template}})),
        "CronJob" => (
            "batch",
            "v1",
            "cronjobs",
            json!({"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}}),
        ),
        _ => unreachable!(),
    };
    let mut object = body;
    object["apiVersion"] = json!(if group.is_empty() { version.to_string() } else { format!("{group}/{version}") });
    object["kind"] = json!(kind);
    object["metadata"] = json!({"name": "web", "namespace": "ns"});
    (
        json!({"group": group, "version": version, "kind": kind}),
        json!({"group": group, "version": version, "resource": resource, "object": object}),
    )
}

/// An AdmissionReview as the API server posts it.
fn review(uid: &str, kind: &str, namespace: &str, spec: Value) -> Value {
    let (gvk, rest) = object(kind, spec);
    let resource = json!({"group": rest["group"], "version": rest["version"], "resource": rest["resource"]});
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid, "kind": gvk, "resource": resource, "requestKind": gvk, "requestResource": resource,
            "name": "web", "namespace": namespace, "operation": "CREATE",
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
            "object": rest["object"], "oldObject": null, "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        }
    })
}

/// Posts a review; returns the HTTP status and the body (the response half when JSON).
fn post(client: &reqwest::blocking::Client, server: &Server, body: &Value) -> (u16, Value) {
    post_to(client, server, "/validate", body)
}

fn post_to(client: &reqwest::blocking::Client, server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let resp = client.post(server.url(path)).json(body).send().unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    let value = serde_json::from_str::<Value>(&text).map_or(Value::String(text), |v| v["response"].clone());
    (status, value)
}

fn message(response: &Value) -> &str {
    response["status"]["message"].as_str().unwrap_or_default()
}

/// A cosign key pair (`cosign.key`, `cosign.pub` in `dir`) and three images pushed to `host`,
/// by name: `good` (non-root, signed), `unsigned` (non-root), `root` (signed, no user); their digests.
fn images(dir: &Path, pare: &Pare, host: &str) -> (PathBuf, std::collections::BTreeMap<&'static str, String>) {
    let openssl = require("openssl");
    let key = dir.join("cosign.key");
    run_ok(
        Command::new(&openssl)
            .args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"])
            .arg(&key),
    );
    run_ok(Command::new(&openssl).args(["pkey", "-pubout", "-in"]).arg(&key).arg("-out").arg(dir.join("cosign.pub")));
    // good: non-root, signed; unsigned: non-root; root: signed, no user.
    let mut digests = std::collections::BTreeMap::new();
    for (name, user, sign) in [("good", Some("65532"), true), ("unsigned", Some("65532"), false), ("root", None, true)]
    {
        let (layout, digest) = layout(dir, name, user);
        run_ok(pare.cmd().arg("copy").arg(format!("oci:{}", layout.display())).arg(format!("{host}/{name}:1")));
        if sign {
            run_ok(pare.cmd().args(["sign", &format!("{host}/{name}@{digest}"), "--key"]).arg(&key));
        }
        digests.insert(name, digest);
    }
    (key, digests)
}

const POLICY: &str = r#"[[rule]]
id = "signed"
check = "signature"
keys = ["cosign.pub"]

[[rule]]
id = "non-root"
check = "non-root-user"

[[rule]]
id = "pinned"
check = "digest-pinned"
scope = { namespaces = ["prod"] }

[[rule]]
id = "pinned-dev"
check = "digest-pinned"
action = "warn"
scope = { namespaces = ["dev"] }
"#;

#[test]
fn admission_allows_and_denies_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE);
    let registry = TestRegistry::start();
    let host = registry.host();
    let (_, digests) = images(dir.path(), &pare, &host);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let (ca, cert, tls_key) = certificate(dir.path(), "server");
    let mut server = Server::start(&pare, &policy, &cert, &tls_key, &[]);
    let client = client(&ca);

    let good = format!("{host}/good@{}", digests["good"]);
    let unsigned = format!("{host}/unsigned@{}", digests["unsigned"]);
    let root = format!("{host}/root@{}", digests["root"]);
    let tagged = format!("{host}/good:1");
    let kinds = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"];
    for (i, kind) in kinds.iter().enumerate() {
        // Allowed: every image signed, non-root, pinned.
        let debug = (*kind == "Pod").then_some(good.as_str());
        let (status, answer) =
            post(&client, &server, &review(&format!("uid-{i}-ok"), kind, "prod", pod_spec(&good, &good, debug)));
        assert_eq!(status, 200, "{kind}: {answer}");
        assert_eq!(answer, json!({"uid": format!("uid-{i}-ok"), "allowed": true}), "{kind}");

        // Denied: the init container's image is unsigned; the ephemeral one runs as root.
        let debug = (*kind == "Pod").then_some(root.as_str());
        let (status, answer) =
            post(&client, &server, &review(&format!("uid-{i}-no"), kind, "prod", pod_spec(&good, &unsigned, debug)));
        assert_eq!(status, 200);
        assert_eq!(answer["uid"], format!("uid-{i}-no"));
        assert_eq!(answer["allowed"], false, "{kind}: {answer}");
        assert_eq!(answer["status"]["code"], 403);
        let mut expected = format!(
            "init container \"setup\" ({unsigned}): signed: no signature verifies: the image is not signed (sign it: pare sign {unsigned} --key KEY)"
        );
        if *kind == "Pod" {
            expected.push_str(&format!(
                "\nephemeral container \"debugger\" ({root}): non-root: the image runs as root: its configuration names no user \
                 (set a non-root user: pare build's default user (uid 65532), or USER 65532 in a Dockerfile)"
            ));
        }
        assert_eq!(message(&answer), expected, "{kind}");
    }

    // A tag is resolved through the registry; `digest-pinned` judges the name as written: a
    // denial in prod, a warning (shown by kubectl) in dev, nothing where no rule covers it.
    let (_, answer) =
        post(&client, &server, &review("uid-tag-prod", "Deployment", "prod", pod_spec(&tagged, &good, None)));
    let pinned = format!("`{tagged}` is named by tag, not by digest (name it by digest: …@{})", digests["good"]);
    assert_eq!(answer["allowed"], false);
    assert_eq!(message(&answer), format!("container \"app\" ({tagged}): pinned: {pinned}"));
    let (_, answer) =
        post(&client, &server, &review("uid-tag-dev", "Deployment", "dev", pod_spec(&tagged, &good, None)));
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(answer["warnings"], json!([format!("container \"app\" ({tagged}): pinned-dev: {pinned}")]));
    let (_, answer) = post(&client, &server, &review("uid-tag-qa", "Deployment", "qa", pod_spec(&tagged, &good, None)));
    assert_eq!(answer, json!({"uid": "uid-tag-qa", "allowed": true}));

    // An image that is not in the registry cannot be checked: denied (failure policy fail).
    let missing = format!("{host}/missing:1");
    let (_, answer) = post(&client, &server, &review("uid-missing", "Pod", "prod", pod_spec(&missing, &good, None)));
    assert_eq!(answer["allowed"], false);
    assert_eq!(
        message(&answer),
        format!(
            "container \"app\" ({missing}): cannot check the image: `{missing}` is not in its registry \
             (push the image, or fix the name in the pod spec) (failure policy: fail)"
        )
    );

    // The second review of an image is answered from the cache, allowed or denied.
    for image in [&good, &unsigned] {
        let (hits, misses) = (
            server.metric(&client, "pare_admission_cache_hits_total"),
            server.metric(&client, "pare_admission_cache_misses_total"),
        );
        post(
            &client,
            &server,
            &review("uid-cache", "Pod", "prod", json!({"containers": [{"name": "app", "image": image}]})),
        );
        assert_eq!(server.metric(&client, "pare_admission_cache_hits_total"), hits + 1.0);
        assert_eq!(server.metric(&client, "pare_admission_cache_misses_total"), misses);
    }
    assert!(server.metric(&client, "pare_admission_requests_total{result=\"denied\"}") >= 9.0);
    assert!(server.metric(&client, "pare_admission_request_duration_seconds_count") >= 20.0);

    // Reviews of an image not yet judged, arriving together, share one evaluation.
    let before = server.metric(&client, "pare_admission_evaluations_total");
    let together: Vec<_> = (0..8)
        .map(|i| {
            let (client, url, root) = (client.clone(), server.url("/validate"), root.clone());
            std::thread::spawn(move || {
                let body = review(
                    &format!("uid-burst-{i}"),
                    "Pod",
                    "burst",
                    json!({"containers": [{"name": "app", "image": root}]}),
                );
                client.post(url).json(&body).send().unwrap().json::<Value>().unwrap()
            })
        })
        .collect();
    for answer in together {
        assert_eq!(answer.join().unwrap()["response"]["allowed"], false);
    }
    assert_eq!(server.metric(&client, "pare_admission_evaluations_total"), before + 1.0);

    // An update is judged on the containers it changes: one that only relabels a workload running
    // the unsigned image passes; one that brings in the unsigned image does not.
    let mut relabel = review("uid-upd", "Deployment", "prod", pod_spec(&good, &unsigned, None));
    relabel["request"]["operation"] = json!("UPDATE");
    relabel["request"]["oldObject"] = relabel["request"]["object"].clone();
    relabel["request"]["object"]["metadata"]["labels"] = json!({"tier": "web"});
    assert_eq!(post(&client, &server, &relabel), (200, json!({"uid": "uid-upd", "allowed": true})));
    let mut bring_in = review("uid-upd2", "Deployment", "prod", pod_spec(&good, &good, None));
    bring_in["request"]["operation"] = json!("UPDATE");
    bring_in["request"]["oldObject"] = bring_in["request"]["object"].clone();
    bring_in["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = json!(unsigned);
    let (_, answer) = post(&client, &server, &bring_in);
    assert_eq!(answer["allowed"], false);
    assert!(message(&answer).starts_with(&format!("container \"app\" ({unsigned}): signed: ")), "{answer}");

    // Kinds without a pod spec, and deletions, are allowed without a look.
    let mut config_map = review("uid-cm", "Pod", "prod", json!({}));
    config_map["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "ConfigMap"});
    config_map["request"]["object"] = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
    assert_eq!(post(&client, &server, &config_map), (200, json!({"uid": "uid-cm", "allowed": true})));
    let mut delete = review("uid-del", "Pod", "prod", pod_spec(&unsigned, &unsigned, None));
    delete["request"]["operation"] = json!("DELETE");
    delete["request"]["oldObject"] = delete["request"]["object"].take();
    assert_eq!(post(&client, &server, &delete), (200, json!({"uid": "uid-del", "allowed": true})));
    server.assert_running();
}

#[test]
fn admission_refuses_bad_reviews_and_outlasts_slow_clients() {
    let dir = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nid = \"pinned\"\ncheck = \"digest-pinned\"\n").unwrap();
    let (ca, cert, key) = certificate(dir.path(), "server");
    let mut server = Server::start(&pare, &policy, &cert, &key, &["--timeout", "2"]);
    let client = client(&ca);
    let raw = |body: Vec<u8>| {
        let resp =
            client.post(server.url("/validate")).header("content-type", "application/json").body(body).send().unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    };

    let (status, text) = raw(b"{\"apiVersion\": ".to_vec());
    assert_eq!(status, 400);
    assert!(text.starts_with("not an AdmissionReview: EOF while parsing a value at line 1 column 15"), "{text}");
    let (status, text) =
        raw(br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}"#.to_vec());
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            "expected apiVersion `admission.k8s.io/v1` and kind `AdmissionReview`, got `admission.k8s.io/v1beta1` and `AdmissionReview` (set admissionReviewVersions: [\"v1\"])\n"
        )
    );
    let (status, text) = raw(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec());
    assert_eq!((status, text.as_str()), (400, "the AdmissionReview has no `request`\n"));
    let mut bad_spec = review("uid-bad", "Deployment", "prod", json!({}));
    bad_spec["request"]["object"]["spec"]["template"]["spec"] = json!({"containers": {"name": "app"}});
    let (status, text) = raw(serde_json::to_vec(&bad_spec).unwrap());
    assert_eq!(status, 400);
    assert!(
        text.starts_with("the Deployment's pod spec at `/spec/template/spec`: invalid type: map, expected a sequence"),
        "{text}"
    );
    let many: Vec<Value> = (0..300).map(|i| json!({"name": format!("c{i}"), "image": format!("r/app{i}:1")})).collect();
    let too_many = review("uid-many", "Pod", "prod", json!({"containers": many}));
    assert_eq!(
        raw(serde_json::to_vec(&too_many).unwrap()),
        (400, "the Pod has 300 containers; pare checks at most 256\n".into())
    );
    let mut no_object = review("uid-none", "Pod", "prod", json!({}));
    no_object["request"]["object"] = Value::Null;
    assert_eq!(raw(serde_json::to_vec(&no_object).unwrap()), (400, "the CREATE request has no `object`\n".into()));

    // A huge body (8 MiB, over the 4 MiB limit) is refused, with or without a length announced.
    // curl sends `Expect: 100-continue` for such bodies, so it reads the answer before sending.
    let mut huge = review("uid-huge", "Pod", "prod", json!({"containers": []}));
    huge["request"]["object"]["metadata"]["annotations"] = json!({"blob": "x".repeat(8 << 20)});
    let huge_file = dir.path().join("huge.json");
    std::fs::write(&huge_file, serde_json::to_vec(&huge).unwrap()).unwrap();
    let curl = || {
        let mut curl = Command::new(require("curl"));
        curl.args(["-sS", "--http1.1", "-w", " %{http_code}", "-H", "Content-Type: application/json", "--cacert"])
            .arg(&ca);
        curl.arg("--data-binary").arg(format!("@{}", huge_file.display())).arg(server.url("/validate"));
        curl
    };
    let out = run_ok(&mut curl());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "the review is larger than 4194304 bytes\n 413");
    // Chunked, the server answers once 4 MiB have arrived and closes the connection: curl may
    // still be writing (broken pipe), so the refusal is read from the metrics.
    let refused = server.metric(&client, "pare_admission_requests_total{result=\"invalid\"}");
    let out = curl().args(["-H", "Transfer-Encoding: chunked"]).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.ends_with(" 413") || shown == " 100", "{shown}");
    assert_eq!(server.metric(&client, "pare_admission_requests_total{result=\"invalid\"}"), refused + 1.0);

    // Slow clients: one stalls in the TLS handshake, one sends half a review and stops. Others
    // are answered meanwhile, and the stalled review is cut off at the deadline.
    let mut stalled = std::net::TcpStream::connect(&server.addr).unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap(); // a TLS record header, then nothing
    let half =
        serde_json::to_vec(&review("uid-slow", "Pod", "prod", pod_spec("a@sha256:00", "b@sha256:00", None))).unwrap();
    let slow = {
        let client = client.clone();
        let url = server.url("/validate");
        let first = half[..half.len() / 2].to_vec();
        std::thread::spawn(move || {
            let body =
                reqwest::blocking::Body::sized(StallReader { first, stall: Duration::from_secs(6) }, half.len() as u64);
            client.post(url).body(body).send().map(|r| r.status().as_u16())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let ok = review("uid-fast", "Pod", "prod", json!({"containers": []}));
    assert_eq!(post(&client, &server, &ok), (200, json!({"uid": "uid-fast", "allowed": true})));
    assert_eq!(client.get(server.url("/healthz")).send().unwrap().text().unwrap(), "ok\n");
    assert!(start.elapsed() < HANG);
    // Meanwhile the stalled handshake is still pending: the server neither closed it nor waited on it.
    stalled.set_nonblocking(true).unwrap();
    let pending = stalled.read(&mut [0u8; 64]);
    assert!(pending.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock), "{pending:?}");
    let slow = slow.join().unwrap();
    // Answered 408 at the deadline, or cut off before the client finished writing.
    assert!(slow.as_ref().is_err() || slow.as_ref().is_ok_and(|s| *s == 408), "{slow:?}");
    assert_eq!(client.get(server.url("/readyz")).send().unwrap().text().unwrap(), "ok\n");
    // Six malformed reviews, two huge ones, the stalled one.
    assert_eq!(server.metric(&client, "pare_admission_requests_total{result=\"invalid\"}"), 9.0);
    drop(stalled);
    server.assert_running();

    // SIGTERM (a pod being stopped): the server stops and exits 0.
    run_ok(Command::new("kill").args(["-TERM", &server.child.id().to_string()]));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < HANG, "the server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}: {}", server.stderr.lock().unwrap());
}

/// Sends `first`, then stalls.
struct StallReader {
    first: Vec<u8>,
    stall: Duration,
}

impl Read for StallReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.first.is_empty() {
            std::thread::sleep(self.stall);
            return Err(std::io::Error::other("the client gave up"));
        }
        let n = buf.len().min(self.first.len());
        buf[..n].copy_from_slice(&self.first[..n]);
        self.first.drain(..n);
        Ok(n)
    }
}

#[test]
fn admission_answers_by_failure_policy_when_the_registry_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nid = \"non-root\"\ncheck = \"non-root-user\"\n").unwrap();
    let (ca, cert, key) = certificate(dir.path(), "server");
    // A registry that accepts connections and never answers, and a port where nothing listens.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_image = format!("{}/app:1", silent.local_addr().unwrap());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let closed_image = format!("{closed}/app:1");
    let client = client(&ca);
    for policy_arg in ["fail", "ignore"] {
        // Fail closed with the default --timeout (8 s) shortened by the API server's `?timeout=`
        // (2.5 s, less half a second); fail open with --timeout 2.
        let (extra, path) = match policy_arg {
            "fail" => (vec!["--failure-policy", "fail"], "/validate?timeout=2500ms"),
            _ => (vec!["--timeout", "2", "--failure-policy", "ignore"], "/validate"),
        };
        let mut server = Server::start(&pare, &policy, &cert, &key, &extra);
        let start = Instant::now();
        let spec = json!({"containers": [{"name": "app", "image": silent_image}]});
        let (status, answer) = post_to(&client, &server, path, &review("uid-silent", "Pod", "prod", spec));
        assert!(start.elapsed() < HANG);
        assert_eq!(status, 200);
        let line = format!("container \"app\" ({silent_image}): no verdict within the 2s deadline");
        if policy_arg == "fail" {
            assert_eq!(answer["allowed"], false, "{answer}");
            assert_eq!(message(&answer), format!("{line} (failure policy: fail)"));
        } else {
            assert_eq!(answer["allowed"], true, "{answer}");
            assert_eq!(answer["warnings"], json!([format!("{line}; allowed unchecked (failure policy: ignore)")]));
        }
        assert_eq!(server.metric(&client, "pare_admission_timeouts_total"), 1.0);

        let spec = json!({"containers": [{"name": "app", "image": closed_image}]});
        let (_, answer) = post(&client, &server, &review("uid-closed", "Pod", "prod", spec));
        let prefix = format!("container \"app\" ({closed_image}): cannot check the image: ");
        let text = if policy_arg == "fail" {
            assert_eq!(answer["allowed"], false, "{answer}");
            message(&answer).to_string()
        } else {
            assert_eq!(answer["allowed"], true, "{answer}");
            answer["warnings"][0].as_str().unwrap().to_string()
        };
        assert!(text.starts_with(&prefix) && text.contains(&closed.to_string()), "{text}");
        assert!(text.ends_with(&format!("(failure policy: {policy_arg})")), "{text}");
        server.assert_running();
    }
}

#[test]
fn admission_reloads_a_changed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nid = \"pinned\"\ncheck = \"digest-pinned\"\n").unwrap();
    let (first_ca, cert, key) = certificate(dir.path(), "first");
    let (second_ca, second_cert, second_key) = certificate(dir.path(), "second");
    let (served_cert, served_key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::copy(&cert, &served_cert).unwrap();
    std::fs::copy(&key, &served_key).unwrap();
    let mut server = Server::start(&pare, &policy, &served_cert, &served_key, &[]);
    // A new client for each check: a kept-alive connection would keep the certificate it began with.
    let first = || client(&first_ca);
    let second = || client(&second_ca);
    assert_eq!(first().get(server.url("/healthz")).send().unwrap().text().unwrap(), "ok\n");
    assert!(second().get(server.url("/healthz")).send().is_err(), "the second certificate is not served yet");

    // Replaced (as a Secret volume is: new files renamed into place): new connections see it.
    for (from, to) in [(&second_cert, &served_cert), (&second_key, &served_key)] {
        std::fs::copy(from, dir.path().join("next")).unwrap();
        std::fs::rename(dir.path().join("next"), to).unwrap();
    }
    let start = Instant::now();
    while second().get(server.url("/healthz")).send().is_err() {
        assert!(start.elapsed() < HANG, "the new certificate was never served");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(first().get(server.url("/healthz")).send().is_err(), "the old certificate is still served");

    // A pair that does not load (a key that does not match) is refused; the last good one stays.
    let failures = server.metric(&second(), "pare_admission_tls_reload_failures_total");
    let reloads = server.metric(&second(), "pare_admission_tls_reloads_total");
    assert!(reloads >= 1.0);
    std::fs::copy(&key, dir.path().join("next")).unwrap();
    std::fs::rename(dir.path().join("next"), &served_key).unwrap();
    let start = Instant::now();
    while server.metric(&second(), "pare_admission_tls_reload_failures_total") < failures + 1.0 {
        assert!(start.elapsed() < HANG, "the bad pair was never noticed");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(second().get(server.url("/healthz")).send().unwrap().text().unwrap(), "ok\n");
    assert_eq!(server.metric(&second(), "pare_admission_tls_reloads_total"), reloads);
    assert!(
        server.stderr.lock().unwrap().contains("still serving the certificate loaded before"),
        "{}",
        server.stderr.lock().unwrap()
    );
    server.assert_running();
}

#[test]
fn admission_refuses_to_start_without_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nid = \"pinned\"\ncheck = \"digest-pinned\"\n").unwrap();
    let serve = |policy: &Path, cert: &Path| {
        let mut cmd = pare.cmd();
        cmd.args(["admission", "serve", "--listen", "127.0.0.1:0", "--policy"]).arg(policy);
        cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(dir.path().join("tls.key"));
        pare_test::tools::run_err(&mut cmd)
    };
    let out = serve(&policy, &dir.path().join("missing.crt"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let missing = dir.path().join("missing.crt");
    assert!(
        stderr.contains(&format!("cannot load the TLS certificate {} and key ", missing.display()))
            && stderr.contains("hint: give a PEM certificate chain and its PEM private key"),
        "{stderr}"
    );
    let cve = dir.path().join("cve.toml");
    std::fs::write(&cve, "[[rule]]\nid = \"no-critical\"\ncheck = \"vulnerabilities\"\nfail_on = \"critical\"\n")
        .unwrap();
    let out = serve(&cve, &dir.path().join("missing.crt"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rule `no-critical` needs a vulnerability database") && stderr.contains("hint: pass --db PATH"),
        "{stderr}"
    );
}

#[test]
fn admission_trusts_a_signed_verification_summary_of_its_policy() {
    let dir = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE);
    let registry = TestRegistry::start();
    let host = registry.host();
    let (key, digests) = images(dir.path(), &pare, &host);
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let good = format!("{host}/good@{}", digests["good"]);
    let unsigned = format!("{host}/unsigned@{}", digests["unsigned"]);
    // CI: a PASSED summary for the good image, a FAILED one for the unsigned image.
    run_ok(pare.cmd().args(["policy", "check", &good, "--attest", "--key"]).arg(&key).arg("--policy").arg(&policy));
    let failed = pare
        .cmd()
        .args(["policy", "check", &unsigned, "--attest", "--key"])
        .arg(&key)
        .arg("--policy")
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1), "{}", String::from_utf8_lossy(&failed.stderr));
    let (ca, cert, tls_key) = certificate(dir.path(), "server");
    let client = client(&ca);
    let public = dir.path().join("cosign.pub");
    let mut server = Server::start(&pare, &policy, &cert, &tls_key, &["--trust-vsa", public.to_str().unwrap()]);

    let (_, answer) = post(
        &client,
        &server,
        &review("uid-vsa", "Pod", "prod", json!({"containers": [{"name": "app", "image": good}]})),
    );
    assert_eq!(answer, json!({"uid": "uid-vsa", "allowed": true}));
    assert_eq!(server.metric(&client, "pare_admission_vsa_trusted_total"), 1.0);
    // The summary does not judge the pod's name for the image: a tag is still denied in prod.
    let tagged = format!("{host}/good:1");
    let (_, answer) = post(
        &client,
        &server,
        &review("uid-vsa-tag", "Pod", "prod", json!({"containers": [{"name": "app", "image": tagged}]})),
    );
    assert_eq!(
        message(&answer),
        format!(
            "container \"app\" ({tagged}): pinned: `{tagged}` is named by tag, not by digest (name it by digest: …@{})",
            digests["good"]
        )
    );
    assert_eq!(server.metric(&client, "pare_admission_vsa_trusted_total"), 2.0);
    // A FAILED summary is not trusted: the policy is evaluated, and denies.
    let (_, answer) = post(
        &client,
        &server,
        &review("uid-vsa-no", "Pod", "prod", json!({"containers": [{"name": "app", "image": unsigned}]})),
    );
    assert!(
        message(&answer).starts_with(&format!("container \"app\" ({unsigned}): signed: no signature verifies")),
        "{answer}"
    );
    assert_eq!(server.metric(&client, "pare_admission_vsa_trusted_total"), 2.0);
    server.assert_running();
    drop(server);

    // A summary of another policy (one more comment line) is not trusted either.
    std::fs::write(&policy, format!("# changed\n{POLICY}")).unwrap();
    let mut server = Server::start(&pare, &policy, &cert, &tls_key, &["--trust-vsa", public.to_str().unwrap()]);
    let (_, answer) = post(
        &client,
        &server,
        &review("uid-vsa-other", "Pod", "prod", json!({"containers": [{"name": "app", "image": good}]})),
    );
    assert_eq!(answer, json!({"uid": "uid-vsa-other", "allowed": true}));
    assert_eq!(server.metric(&client, "pare_admission_vsa_trusted_total"), 0.0);
    server.assert_running();
}
