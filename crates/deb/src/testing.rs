//! Test keys and signing, for hermetic tests of archive code here and in other crates
//! (feature `test-support`). Not for production keys: seeds are fixed.

use pgp::composed::{
    CleartextSignedMessage, DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::ser::Serialize;
use pgp::types::Password;
use rand08::SeedableRng;
use rand08::rngs::StdRng;

use crate::Error;

/// An ed25519 signing key made from a seed.
pub struct TestKey {
    secret: SignedSecretKey,
    seed: u64,
}

fn fail(e: impl std::fmt::Display) -> Error {
    Error::Unsupported(format!("test key: {e}"))
}

impl TestKey {
    /// A key whose primary ed25519 key signs; the same seed gives the same key material.
    pub fn generate(seed: u64, user_id: &str) -> Result<TestKey, Error> {
        let mut rng = StdRng::seed_from_u64(seed);
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.into())
            .build()
            .map_err(fail)?;
        let secret = params.generate(&mut rng).map_err(fail)?;
        Ok(TestKey { secret, seed })
    }

    /// The public key, binary, as a keyring file holds it.
    pub fn public_keyring(&self) -> Result<Vec<u8>, Error> {
        SignedPublicKey::from(self.secret.clone()).to_bytes().map_err(fail)
    }

    /// `text` as a cleartext-signed message (an `InRelease` file).
    pub fn clearsign(&self, text: &str) -> Result<String, Error> {
        let rng = StdRng::seed_from_u64(self.seed ^ 1);
        let msg =
            CleartextSignedMessage::sign(rng, text, &self.secret.primary_key, &Password::empty()).map_err(fail)?;
        msg.to_armored_string(Default::default()).map_err(fail)
    }

    /// An armored detached signature of `data` (a `Release.gpg` file).
    pub fn detach_sign(&self, data: &[u8]) -> Result<String, Error> {
        let rng = StdRng::seed_from_u64(self.seed ^ 2);
        let sig = DetachedSignature::sign_binary_data(
            rng,
            &self.secret.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha256,
            data,
        )
        .map_err(fail)?;
        sig.to_armored_string(Default::default()).map_err(fail)
    }
}

/// A small HTTP/1.1 file server on 127.0.0.1 for tests: serves files under a directory, can
/// cut chosen files short, counts requests. Stops when dropped.
pub struct FileServer {
    addr: std::net::SocketAddr,
    state: std::sync::Arc<ServerState>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct ServerState {
    stop: std::sync::atomic::AtomicBool,
    requests: std::sync::atomic::AtomicUsize,
    truncate: std::sync::Mutex<Vec<String>>,
}

impl FileServer {
    /// Serves `root` on a free port of 127.0.0.1.
    pub fn start(root: &std::path::Path) -> Result<FileServer, Error> {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::stream("binding 127.0.0.1"))?;
        let addr = listener.local_addr().map_err(Error::stream("binding 127.0.0.1"))?;
        let state = std::sync::Arc::new(ServerState::default());
        let root = root.to_path_buf();
        let thread_state = state.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = thread_state.clone();
                let root = root.clone();
                std::thread::spawn(move || serve(stream, &root, &state));
            }
        });
        Ok(FileServer { addr, state, thread: Some(thread) })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// From now on, `path` (e.g. `/pool/main/a.deb`) is sent half, with the full Content-Length.
    pub fn truncate(&self, path: &str) {
        if let Ok(mut t) = self.state.truncate.lock() {
            t.push(path.to_string());
        }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.state.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: std::net::TcpStream, root: &std::path::Path, state: &ServerState) {
    use std::io::{BufRead, Write};
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let Ok(clone) = stream.try_clone() else { return };
    let mut reader = std::io::BufReader::new(clone);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    state.requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let safe = !path.split('/').any(|c| c == "..");
    let file = root.join(path.trim_start_matches('/'));
    let body = if safe && file.is_file() { std::fs::read(&file).ok() } else { None };
    let Some(body) = body else {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let cut = state.truncate.lock().map(|t| t.contains(&path)).unwrap_or(false);
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(head.as_bytes());
    let sent = if cut { &body[..body.len() / 2] } else { &body[..] };
    let _ = stream.write_all(sent);
    let _ = stream.flush();
}

/// A control paragraph for a test package: Package, Version, Architecture, a maintainer, `Source`
/// when given, `Depends` when not empty, a description.
pub fn control(name: &str, version: &str, arch: &str, depends: &str, source: Option<&str>) -> crate::Paragraph {
    let mut p = crate::Paragraph::new();
    p.set("Package", name);
    p.set("Version", version);
    p.set("Architecture", arch);
    p.set("Maintainer", "pare tests <test@example.invalid>");
    if let Some(s) = source {
        p.set("Source", s);
    }
    if !depends.is_empty() {
        p.set("Depends", depends);
    }
    p.set("Description", format!("{name} for tests"));
    p
}

/// Writes a signed single-architecture apt repository (`dists/` and `pool/`) for tests.
pub struct RepoBuilder {
    root: std::path::PathBuf,
    suite: String,
    architecture: String,
    valid_until: Option<jiff::Timestamp>,
    components_field: String,
    packages: Vec<crate::Paragraph>,
}

impl RepoBuilder {
    /// A repository under `root` for `suite` (also its codename), component `main`.
    pub fn new(root: &std::path::Path, suite: &str, architecture: &str) -> RepoBuilder {
        RepoBuilder {
            root: root.to_path_buf(),
            suite: suite.to_string(),
            architecture: architecture.to_string(),
            valid_until: None,
            components_field: "main".into(),
            packages: Vec::new(),
        }
    }

    /// The Release's `Components` field (default `main`); the index stays under `main/`, as
    /// Debian's security archive lays it out (`Components: updates/main`).
    pub fn components_field(&mut self, field: &str) -> &mut Self {
        self.components_field = field.to_string();
        self
    }

    /// Sets `Valid-Until`.
    pub fn valid_until(&mut self, t: jiff::Timestamp) -> &mut Self {
        self.valid_until = Some(t);
        self
    }

    /// Adds a package: `control` is its control paragraph (Package, Version, Architecture, ...);
    /// `deb` the file's bytes, stored under `pool/main/`. Filename, Size and SHA256 are added.
    pub fn add(&mut self, control: &crate::Paragraph, deb: &[u8]) -> Result<&mut Self, Error> {
        let get = |f: &str| control.get(f).unwrap_or("unknown").to_string();
        let (name, version, arch) = (get("Package"), get("Version"), get("Architecture"));
        let file_version = version.split_once(':').map_or(version.as_str(), |(_, v)| v);
        let filename = format!("pool/main/{name}/{name}_{file_version}_{arch}.deb");
        let path = self.root.join(&filename);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        }
        std::fs::write(&path, deb).map_err(Error::io(&path))?;
        let mut p = control.clone();
        p.set("Filename", filename);
        p.set("Size", deb.len().to_string());
        p.set("SHA256", crate::Sha256Sum::of(deb).to_hex());
        self.packages.push(p);
        Ok(self)
    }

    /// Writes Packages, Packages.xz (also under by-hash), Release, Release.gpg and InRelease.
    pub fn write(&self, key: &TestKey) -> Result<(), Error> {
        use std::io::Write;
        let dists = self.root.join("dists").join(&self.suite);
        let dir = format!("main/binary-{}", self.architecture);
        let index_dir = dists.join(&dir);
        let by_hash = index_dir.join("by-hash/SHA256");
        std::fs::create_dir_all(&by_hash).map_err(Error::io(&by_hash))?;
        let text = self.packages.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n");
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(text.as_bytes()).map_err(Error::stream("compressing Packages"))?;
        let xz = xz.finish().map_err(Error::stream("compressing Packages"))?;
        let mut sums = String::new();
        for (name, bytes) in [("Packages", text.as_bytes()), ("Packages.xz", &xz[..])] {
            let path = index_dir.join(name);
            std::fs::write(&path, bytes).map_err(Error::io(&path))?;
            let sum = crate::Sha256Sum::of(bytes);
            let hashed = by_hash.join(sum.to_hex());
            std::fs::write(&hashed, bytes).map_err(Error::io(&hashed))?;
            sums.push_str(&format!(" {sum} {} {dir}/{name}\n", bytes.len()));
        }
        let now = jiff::Timestamp::now();
        let mut release = format!(
            "Origin: pare-test\nLabel: pare-test\nSuite: {suite}\nCodename: {suite}\nDate: {}\n",
            crate::release::format_date(now),
            suite = self.suite
        );
        if let Some(t) = self.valid_until {
            release.push_str(&format!("Valid-Until: {}\n", crate::release::format_date(t)));
        }
        release.push_str(&format!(
            "Acquire-By-Hash: yes\nArchitectures: {}\nComponents: {}\nSHA256:\n{sums}",
            self.architecture, self.components_field
        ));
        let write = |name: &str, bytes: &[u8]| {
            let path = dists.join(name);
            std::fs::write(&path, bytes).map_err(Error::io(&path))
        };
        write("Release", release.as_bytes())?;
        write("Release.gpg", key.detach_sign(release.as_bytes())?.as_bytes())?;
        write("InRelease", key.clearsign(&release)?.as_bytes())?;
        Ok(())
    }
}

/// Compression of a test `.deb`'s tar members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Xz => ".xz",
            Compression::Zstd => ".zst",
        }
    }

    fn compress(self, data: &[u8]) -> Result<Vec<u8>, Error> {
        use std::io::Write;
        let io = Error::stream("compressing a test .deb member");
        Ok(match self {
            Compression::None => data.to_vec(),
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).map_err(Error::stream("gzip"))?;
                e.finish().map_err(io)?
            }
            Compression::Xz => {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
                e.write_all(data).map_err(Error::stream("xz"))?;
                e.finish().map_err(io)?
            }
            Compression::Zstd => zstd::encode_all(data, 3).map_err(io)?,
        })
    }
}

/// A tar of `files` (path without leading `/`, bytes, mode), with `./` names and parent directories.
fn test_tar(files: &[(&str, &[u8], u32)]) -> Result<Vec<u8>, Error> {
    let io = |e: std::io::Error| Error::Stream { context: "writing a test tar".into(), source: e };
    let mut builder = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _, _) in files {
        let mut prefix = String::new();
        for part in path.split('/').rev().skip(1).collect::<Vec<_>>().into_iter().rev() {
            prefix.push_str(part);
            prefix.push('/');
            dirs.insert(prefix.clone());
        }
    }
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    header.set_mtime(0);
    builder.append_data(&mut header.clone(), "./", &[][..]).map_err(io)?;
    for dir in dirs {
        builder.append_data(&mut header.clone(), format!("./{dir}"), &[][..]).map_err(io)?;
    }
    for (path, bytes, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(*mode);
        h.set_size(bytes.len() as u64);
        h.set_mtime(0);
        builder.append_data(&mut h, format!("./{path}"), *bytes).map_err(io)?;
    }
    builder.into_inner().map_err(io)
}

/// A `.deb` made of `control` (plus `control_files` such as `md5sums`) and `data` files.
pub fn build_deb(
    control: &crate::Paragraph,
    control_files: &[(&str, &[u8])],
    data: &[(&str, &[u8], u32)],
    compression: Compression,
) -> Result<Vec<u8>, Error> {
    let control_text = control.to_string();
    let mut control_members: Vec<(&str, &[u8], u32)> = vec![("control", control_text.as_bytes(), 0o644)];
    control_members.extend(control_files.iter().map(|(n, b)| (*n, *b, 0o644)));
    let members: [(String, Vec<u8>); 3] = [
        ("debian-binary".into(), b"2.0\n".to_vec()),
        (format!("control.tar{}", compression.suffix()), compression.compress(&test_tar(&control_members)?)?),
        (format!("data.tar{}", compression.suffix()), compression.compress(&test_tar(data)?)?),
    ];
    build_ar(&members)
}

/// An ar archive of `members` (name, bytes), as a `.deb` is.
pub fn build_ar(members: &[(String, Vec<u8>)]) -> Result<Vec<u8>, Error> {
    let io = |e: std::io::Error| Error::Stream { context: "writing a test ar archive".into(), source: e };
    let mut builder = ar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = ar::Header::new(name.as_bytes().to_vec(), bytes.len() as u64);
        header.set_mode(0o100644);
        builder.append(&header, &bytes[..]).map_err(io)?;
    }
    builder.into_inner().map_err(io)
}
