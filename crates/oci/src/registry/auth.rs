//! Registry credentials (docker and containers auth files) and `WWW-Authenticate` challenges.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::{Error, Result};

/// Auth files larger than this are refused.
const MAX_AUTH_FILE_SIZE: u64 = 4 << 20;

/// A secret for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Username and password (or a personal access token as password).
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (`identitytoken` in docker's config), exchanged at the token realm.
    IdentityToken(String),
}

impl Credential {
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Credential {
        Credential::Basic { username: username.into(), password: password.into() }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credential::IdentityToken(_) => write!(f, "IdentityToken(<redacted>)"),
        }
    }
}

/// Where credentials come from: explicit ones first, then auth files in order.
///
/// The files are those skopeo and podman read, then docker's: `$REGISTRY_AUTH_FILE` (or
/// `$XDG_RUNTIME_DIR/containers/auth.json`), `$XDG_CONFIG_HOME/containers/auth.json`
/// (`~/.config/containers/auth.json`), `$DOCKER_CONFIG/config.json` (`~/.docker/config.json`).
/// All use docker's format: `auths` keyed by registry (or `registry/namespace`), each with a
/// base64 `auth` of `user:password`, `username`/`password` fields or an `identitytoken`;
/// `credHelpers` and `credsStore` name `docker-credential-*` helpers.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    explicit: Vec<(String, Credential)>,
    files: Vec<PathBuf>,
}

impl Credentials {
    /// No credentials at all: every request is anonymous.
    pub fn none() -> Credentials {
        Credentials::default()
    }

    /// The auth files named by this process's environment.
    pub fn from_env() -> Credentials {
        Credentials::from_vars(|name| std::env::var_os(name))
    }

    /// The auth files named by an environment given as a lookup function (tests use a map).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Credentials {
        let nonempty = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = nonempty("HOME");
        let mut files = Vec::new();
        if let Some(file) = nonempty("REGISTRY_AUTH_FILE") {
            files.push(file);
        } else if let Some(runtime) = nonempty("XDG_RUNTIME_DIR") {
            files.push(runtime.join("containers").join("auth.json"));
        }
        if let Some(config) = nonempty("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config"))) {
            files.push(config.join("containers").join("auth.json"));
        }
        if let Some(docker) = nonempty("DOCKER_CONFIG").or_else(|| home.as_ref().map(|h| h.join(".docker"))) {
            files.push(docker.join("config.json"));
        }
        Credentials { explicit: Vec::new(), files }
    }

    /// Adds an auth file, read after those already listed.
    pub fn with_file(mut self, path: impl Into<PathBuf>) -> Credentials {
        self.files.push(path.into());
        self
    }

    /// Adds a credential for a registry (`host[:port]`) or a repository prefix (`host/namespace`),
    /// used before any file.
    pub fn with_credential(mut self, registry: impl Into<String>, credential: Credential) -> Credentials {
        self.explicit.push((normalize_key(&registry.into()), credential));
        self
    }

    /// The auth files, in the order they are read.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The credential for a repository: the most specific key (`host/a/b`, `host/a`, `host`) of
    /// the first source that has one. Missing files are skipped; malformed ones are an error.
    pub fn lookup(&self, registry: &str, repository: &str) -> Result<Option<Credential>> {
        let candidates = candidate_keys(registry, repository);
        for candidate in &candidates {
            if let Some((_, credential)) = self.explicit.iter().find(|(key, _)| key == candidate) {
                return Ok(Some(credential.clone()));
            }
        }
        for file in &self.files {
            if let Some(credential) = lookup_file(file, registry, &candidates)? {
                tracing::debug!(file = %file.display(), registry, repository, "using credentials");
                return Ok(Some(credential));
            }
        }
        Ok(None)
    }
}

/// Keys to look for, most specific first: `host/a/b`, `host/a`, `host`.
fn candidate_keys(registry: &str, repository: &str) -> Vec<String> {
    let registry = normalize_key(registry);
    let mut keys = Vec::new();
    let parts: Vec<&str> = repository.split('/').filter(|p| !p.is_empty()).collect();
    for n in (1..=parts.len()).rev() {
        keys.push(format!("{registry}/{}", parts[..n].join("/")));
    }
    keys.push(registry);
    keys
}

/// Normalises an `auths` key: `https://index.docker.io/v1/` and `registry-1.docker.io` are `docker.io`;
/// a scheme and the path after it are dropped, as docker does.
fn normalize_key(key: &str) -> String {
    let key = key.trim();
    let stripped = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://"));
    let key = match stripped {
        Some(rest) => rest.split('/').next().unwrap_or(rest),
        None => key.trim_end_matches('/'),
    };
    let (host, path) = match key.split_once('/') {
        Some((host, path)) => (host, Some(path)),
        None => (key, None),
    };
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    };
    match path {
        Some(path) => format!("{host}/{path}"),
        None => host.to_string(),
    }
}

fn read_limited(path: &Path) -> Result<Option<Vec<u8>>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            tracing::warn!(file = %path.display(), "cannot read auth file: permission denied");
            return Ok(None);
        }
        Err(e) => return Err(Error::Io { path: path.to_path_buf(), source: e }),
    };
    let mut bytes = Vec::new();
    file.take(MAX_AUTH_FILE_SIZE + 1).read_to_end(&mut bytes).map_err(Error::io(path))?;
    if bytes.len() as u64 > MAX_AUTH_FILE_SIZE {
        return Err(Error::malformed("auth file", path.display().to_string(), "it is larger than 4 MiB"));
    }
    Ok(Some(bytes))
}

fn lookup_file(path: &Path, registry: &str, candidates: &[String]) -> Result<Option<Credential>> {
    let Some(bytes) = read_limited(path)? else {
        return Ok(None);
    };
    let malformed = |reason: String| {
        Error::malformed("auth file", path.display().to_string(), reason).with_hint(
            r#"it should look like {"auths": {"registry.example.com": {"auth": "<base64 of user:password>"}}}"#,
        )
    };
    let config: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| malformed(format!("invalid JSON: {e}")))?;
    let auths: HashMap<String, &serde_json::Value> = match config.get("auths") {
        Some(serde_json::Value::Object(map)) => map.iter().map(|(k, v)| (normalize_key(k), v)).collect(),
        Some(serde_json::Value::Null) | None => HashMap::new(),
        Some(_) => return Err(malformed("`auths` is not an object".into())),
    };
    for candidate in candidates {
        if let Some(entry) = auths.get(candidate)
            && let Some(credential) = decode_entry(entry).map_err(|e| malformed(format!("entry `{candidate}`: {e}")))?
        {
            return Ok(Some(credential));
        }
    }
    // A credential helper for this registry, or the default store.
    let host = normalize_key(registry);
    let helper = config
        .get("credHelpers")
        .and_then(|h| h.get(&host).or_else(|| h.get(registry)))
        .or_else(|| config.get("credsStore"))
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty());
    if helper.is_some() {
        let server = if host == crate::DEFAULT_REGISTRY { "https://index.docker.io/v1/" } else { registry };
        return from_helper(&bytes, server, path);
    }
    Ok(None)
}

fn decode_entry(entry: &serde_json::Value) -> std::result::Result<Option<Credential>, String> {
    let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
    if let Some(token) = field("identitytoken") {
        return Ok(Some(Credential::IdentityToken(token.to_string())));
    }
    if let Some(auth) = field("auth") {
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let decoded = engine.decode(auth.trim()).map_err(|e| format!("`auth` is not base64: {e}"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| "`auth` is not UTF-8 once decoded".to_string())?;
        let (username, password) =
            decoded.split_once(':').ok_or_else(|| "`auth` must be base64 of `user:password`".to_string())?;
        return Ok(Some(Credential::basic(username, password)));
    }
    match (field("username"), field("password")) {
        (Some(username), Some(password)) => Ok(Some(Credential::basic(username, password))),
        _ => Ok(None),
    }
}

fn from_helper(config: &[u8], server: &str, path: &Path) -> Result<Option<Credential>> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    match docker_credential::get_credential_from_reader(config, server) {
        Ok(DockerCredential::UsernamePassword(username, password)) => Ok(Some(Credential::basic(username, password))),
        Ok(DockerCredential::IdentityToken(token)) => Ok(Some(Credential::IdentityToken(token))),
        Err(E::NoCredentialConfigured) => Ok(None),
        // Helpers exit non-zero with this message when they hold nothing for the server.
        Err(E::HelperFailure { stdout, .. }) if stdout.contains("credentials not found") => Ok(None),
        Err(e) => Err(Error::Auth {
            registry: server.to_string(),
            message: format!("the credential helper named in {} failed: {e}", path.display()),
        }
        .with_hint("check that docker-credential-<helper> is installed and works")),
    }
}

/// One challenge from a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String>, scope: Option<String> },
}

/// Parses a `WWW-Authenticate` header into the challenges pare understands (Basic and Bearer).
pub(crate) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut out = Vec::new();
    for (scheme, params) in parse_auth_header(header) {
        let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        if scheme.eq_ignore_ascii_case("basic") {
            out.push(Challenge::Basic);
        } else if scheme.eq_ignore_ascii_case("bearer")
            && let Some(realm) = get("realm").filter(|r| !r.is_empty())
        {
            out.push(Challenge::Bearer { realm, service: get("service"), scope: get("scope") });
        }
    }
    out
}

type Params = Vec<(String, String)>;

/// RFC 7235 challenges: `scheme param=value, param="quoted, value", other-scheme ...`.
fn parse_auth_header(header: &str) -> Vec<(String, Params)> {
    let chars: Vec<char> = header.chars().collect();
    let mut pos = 0;
    let mut out: Vec<(String, Params)> = Vec::new();
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c);
    let skip_ws = |pos: &mut usize| {
        while *pos < chars.len() && chars[*pos].is_whitespace() {
            *pos += 1;
        }
    };
    let read_token = |pos: &mut usize| {
        let start = *pos;
        while *pos < chars.len() && is_token(chars[*pos]) {
            *pos += 1;
        }
        chars[start..*pos].iter().collect::<String>()
    };
    while pos < chars.len() {
        skip_ws(&mut pos);
        while pos < chars.len() && (chars[pos] == ',' || chars[pos].is_whitespace()) {
            pos += 1;
        }
        let scheme = read_token(&mut pos);
        if scheme.is_empty() {
            // Not a token: skip one character so malformed input cannot loop forever.
            pos += 1;
            continue;
        }
        let mut params = Vec::new();
        loop {
            skip_ws(&mut pos);
            let save = pos;
            let name = read_token(&mut pos);
            skip_ws(&mut pos);
            if name.is_empty() || pos >= chars.len() || chars[pos] != '=' {
                pos = save;
                break;
            }
            pos += 1;
            skip_ws(&mut pos);
            let value = if pos < chars.len() && chars[pos] == '"' {
                pos += 1;
                let mut value = String::new();
                while pos < chars.len() && chars[pos] != '"' {
                    if chars[pos] == '\\' && pos + 1 < chars.len() {
                        pos += 1;
                    }
                    value.push(chars[pos]);
                    pos += 1;
                }
                pos += 1;
                value
            } else {
                let start = pos;
                while pos < chars.len() && chars[pos] != ',' && !chars[pos].is_whitespace() {
                    pos += 1;
                }
                chars[start..pos].iter().collect()
            };
            params.push((name, value));
            skip_ws(&mut pos);
            if pos < chars.len() && chars[pos] == ',' {
                pos += 1;
            } else {
                break;
            }
        }
        out.push((scheme, params));
    }
    out
}

/// The token endpoint's answer (`token` or `access_token`, with an optional lifetime).
#[derive(serde::Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let h = r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push",error="insufficient_scope""#;
        assert_eq!(
            parse_challenges(h),
            vec![Challenge::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: Some("registry.example.com".into()),
                scope: Some("repository:a/b:pull,push".into()),
            }]
        );
        assert_eq!(parse_challenges(r#"Basic realm="Registry Realm""#), vec![Challenge::Basic]);
        assert_eq!(parse_challenges("basic"), vec![Challenge::Basic]);
        let two = r#"Basic realm="x", Bearer realm="https://r/t", service=s"#;
        assert_eq!(parse_challenges(two).len(), 2);
        for junk in ["", "=", "\"", "Bearer realm=\"unterminated", ",,,", "Bearer =x", "\u{0}\u{1}Bearer"] {
            let _ = parse_challenges(junk);
        }
        assert!(parse_challenges("Bearer service=x").is_empty());
    }

    #[test]
    fn normalizes_keys() {
        assert_eq!(normalize_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_key("registry-1.docker.io"), "docker.io");
        assert_eq!(normalize_key("http://127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(normalize_key("quay.io/team"), "quay.io/team");
        assert_eq!(candidate_keys("quay.io", "team/app"), vec!["quay.io/team/app", "quay.io/team", "quay.io"]);
    }

    #[test]
    fn reads_auth_files() -> Result<()> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let engine = base64::engine::general_purpose::STANDARD;
        let docker = dir.path().join("config.json");
        let podman = dir.path().join("auth.json");
        std::fs::write(
            &docker,
            format!(
                r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{}"}}, "https://index.docker.io/v1/": {{"auth": "{}"}}, "empty.example": {{}}}}}}"#,
                engine.encode("alice:se:cret"),
                engine.encode("hub:pw")
            ),
        )
        .map_err(Error::io(&docker))?;
        std::fs::write(
            &podman,
            format!(r#"{{"auths": {{"127.0.0.1:5000/team": {{"auth": "{}"}}}}}}"#, engine.encode("bob:pw")),
        )
        .map_err(Error::io(&podman))?;
        let vars: HashMap<&str, OsString> = [
            ("REGISTRY_AUTH_FILE", podman.clone().into_os_string()),
            ("DOCKER_CONFIG", dir.path().as_os_str().to_owned()),
            ("HOME", dir.path().join("nohome").into_os_string()),
        ]
        .into_iter()
        .collect();
        let creds = Credentials::from_vars(|k| vars.get(k).cloned());
        assert_eq!(creds.files().first(), Some(&podman));
        assert_eq!(creds.lookup("127.0.0.1:5000", "team/app")?, Some(Credential::basic("bob", "pw")));
        assert_eq!(creds.lookup("127.0.0.1:5000", "other")?, Some(Credential::basic("alice", "se:cret")));
        assert_eq!(creds.lookup("docker.io", "library/alpine")?, Some(Credential::basic("hub", "pw")));
        assert_eq!(creds.lookup("empty.example", "x")?, None);
        assert_eq!(creds.lookup("elsewhere:1", "x")?, None);
        let explicit = creds.with_credential("127.0.0.1:5000", Credential::basic("carol", "x"));
        assert_eq!(explicit.lookup("127.0.0.1:5000", "team/app")?, Some(Credential::basic("carol", "x")));

        std::fs::write(&docker, "{not json").map_err(Error::io(&docker))?;
        let err = Credentials::none().with_file(&docker).lookup("h", "r");
        assert!(matches!(err.as_ref().map_err(Error::root), Err(Error::Malformed { .. })), "{err:?}");
        std::fs::write(&docker, r#"{"auths": {"h": {"auth": "!!!"}}}"#).map_err(Error::io(&docker))?;
        assert!(Credentials::none().with_file(&docker).lookup("h", "r").is_err());
        Ok(())
    }
}
