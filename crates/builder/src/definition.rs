//! Image definitions: the TOML a user writes, parsed strictly (unknown keys are errors), checked,
//! and documented in `docs/image-definition.md` with a JSON schema generated from these types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The official Debian archive.
pub const DEFAULT_MIRROR: &str = pare_deb::archive::DEBIAN_MIRROR;
/// The official Debian security archive.
pub const DEFAULT_SECURITY_MIRROR: &str = pare_deb::archive::DEBIAN_SECURITY_MIRROR;

/// An image definition (`*.toml`): which Debian packages, and how the image runs.
///
/// Only `suite` and `packages` are required. Everything that decides the package set (suite,
/// architectures, components, pockets, mirrors, packages, exclude, follow_dependencies), and
/// the base, is covered by the lock's checksum; the rest applies at build time without relocking.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Optional. A short name, shown in summaries (`static`, `python3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Optional. One line on what the image is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Required. The Debian release by codename: `bookworm` (12) or `trixie` (13).
    pub suite: String,
    /// Optional (default `["amd64"]`). Debian architectures; more than one gives an image index.
    #[serde(default = "default_architectures")]
    pub architectures: Vec<String>,
    /// Optional (default `["main"]`). Archive components to read.
    #[serde(default = "default_components")]
    pub components: Vec<String>,
    /// Optional (default `["updates", "security"]`). Pockets read besides the release itself:
    /// `updates` (`<suite>-updates`), `security` (`<suite>-security`), `backports`.
    #[serde(default = "default_pockets")]
    pub pockets: Vec<String>,
    /// Optional (default the official archive). Mirror for the release, updates and backports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// Optional (default the official security archive). Mirror for the `security` pocket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_mirror: Option<String>,
    /// Optional (default `/usr/share/keyrings/debian-archive-keyring.gpg`). OpenPGP keyring that
    /// signs the archive's `InRelease`, relative to the definition's directory: a regular file of
    /// at most 4 MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyring: Option<PathBuf>,
    /// Required. Packages to install; their dependencies follow unless `follow_dependencies` is false.
    pub packages: Vec<String>,
    /// Optional. Packages never installed, even when something depends on them (the distroless way:
    /// what only maintainer scripts need, such as `debconf` or `awk`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Optional (default true). `false` installs exactly `packages`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub follow_dependencies: bool,
    /// Optional. Which files of the packages go into the image.
    #[serde(default)]
    pub paths: PathRules,
    /// Optional. The account the image runs as (default `nonroot`, 65532).
    #[serde(default)]
    pub user: User,
    /// Optional. `ENTRYPOINT` of the image config. `{arch}` and `{multiarch}` are replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Optional. `CMD` of the image config. `{arch}` and `{multiarch}` are replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Optional. Environment, added to the defaults (`PATH`, and `SSL_CERT_FILE` when
    /// ca-certificates is installed); an empty value removes a variable.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Optional (default the user's home). Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// Optional. Config labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Optional. Manifest (and index) annotations, such as `org.opencontainers.image.source`.
    /// `org.opencontainers.image.created` is set from the build time unless given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Optional. An image to layer on, pinned by its manifest (or index) digest:
    /// `LOCATION@sha256:DIGEST`, where LOCATION is `oci:DIR[:NAME]`, `oci-archive:FILE[:NAME]`,
    /// `docker-archive:FILE[:NAME]` or a registry reference (`pare inspect LOCATION` prints the digest).
    /// Its layers come first, unchanged; its config is inherited, with this definition's settings on top.
    /// Local paths are relative to the definition's directory. Covered by the lock's checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Optional (default `gzip`). How the image's layers are compressed: `gzip`, or `zstd`
    /// (`application/vnd.oci.image.layer.v1.tar+zstd`, smaller; podman, containerd 1.5+ and
    /// Docker 23+ read it). `pare build --compression` overrides it; a base's layers stay as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<LayerCompression>,
    /// Optional. The compression level: gzip 1–9 (default 6), zstd 1–19 (default 3; 19 makes
    /// layers ~20% smaller than 3 and takes tens of seconds for a large image).
    /// `pare build --compression-level` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<i32>,
    /// Optional. Extra files, directories and links, written in the second layer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileSpec>,
}

/// How pare compresses the layers it writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LayerCompression {
    /// gzip level 6 (`application/vnd.oci.image.layer.v1.tar+gzip`), read by every runtime.
    #[default]
    Gzip,
    /// zstd level 3 (`application/vnd.oci.image.layer.v1.tar+zstd`).
    Zstd,
}

impl LayerCompression {
    pub fn oci(self) -> pare_oci::Compression {
        match self {
            LayerCompression::Gzip => pare_oci::Compression::Gzip,
            LayerCompression::Zstd => pare_oci::Compression::Zstd,
        }
    }
}

impl std::str::FromStr for LayerCompression {
    type Err = String;
    fn from_str(s: &str) -> Result<LayerCompression, String> {
        match s {
            "gzip" => Ok(LayerCompression::Gzip),
            "zstd" => Ok(LayerCompression::Zstd),
            other => Err(format!("unknown layer compression `{other}`: use `gzip` or `zstd`")),
        }
    }
}

/// Which files of the packages are kept.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathRules {
    /// Optional (default true). Leave out documentation, man and info pages, locales, lintian
    /// overrides and bug-reporting files, keeping `usr/share/doc/*/copyright`.
    #[serde(default = "yes")]
    pub default_excludes: bool,
    /// Optional. More paths to leave out. A pattern matches a path and everything under it;
    /// `*` matches within one path component, `**` any number of components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Optional. Paths kept even when an exclude matches them (same pattern syntax).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
}

impl Default for PathRules {
    fn default() -> Self {
        PathRules { default_excludes: true, exclude: Vec::new(), include: Vec::new() }
    }
}

/// The account the image runs as. `/etc/passwd` and `/etc/group` always also hold `root` and `nobody`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Optional (default `nonroot`).
    #[serde(default = "default_user")]
    pub name: String,
    /// Optional (default 65532).
    #[serde(default = "default_id")]
    pub uid: u32,
    /// Optional (default `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Optional (default 65532).
    #[serde(default = "default_id")]
    pub gid: u32,
    /// Optional (default `/home/<name>`, `/root` for uid 0). Created with mode 0700.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// Optional (default `/sbin/nologin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
}

impl Default for User {
    fn default() -> Self {
        User { name: default_user(), uid: 65532, group: None, gid: 65532, home: None, shell: None }
    }
}

impl User {
    pub fn group_name(&self) -> &str {
        self.group.as_deref().unwrap_or(&self.name)
    }

    pub fn home_dir(&self) -> String {
        match &self.home {
            Some(h) => h.clone(),
            None if self.uid == 0 => "/root".into(),
            None => format!("/home/{}", self.name),
        }
    }
}

/// What an extra entry is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    #[default]
    File,
    Dir,
    Symlink,
}

/// An extra file, directory or symbolic link.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Required. Absolute path in the image. `{arch}` and `{multiarch}` are replaced.
    pub path: String,
    /// Optional (default `file`).
    #[serde(default, rename = "type")]
    pub kind: FileKind,
    /// For files: the content, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// For files: a host file to copy, relative to the definition's directory. It must be a regular
    /// file inside that directory (symlinks resolved) unless `pare build --allow-host-paths`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PathBuf>,
    /// For symbolic links: the target. `{arch}` and `{multiarch}` are replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Optional (default 0o644 for files, 0o755 for directories). Write it as a TOML octal: `0o755`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Optional (default 0).
    #[serde(default)]
    pub uid: u32,
    /// Optional (default 0).
    #[serde(default)]
    pub gid: u32,
}

fn default_architectures() -> Vec<String> {
    vec!["amd64".into()]
}
fn default_components() -> Vec<String> {
    vec!["main".into()]
}
fn default_pockets() -> Vec<String> {
    vec!["updates".into(), "security".into()]
}
fn default_user() -> String {
    "nonroot".into()
}
fn default_id() -> u32 {
    65532
}
fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

/// A parsed and checked definition with where it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub definition: Definition,
    /// The file (or `gallery:NAME`) it was read from, for messages.
    pub origin: String,
    /// The directory relative paths (keyring, file sources) are resolved against; `None` for
    /// gallery definitions, which may not name host files.
    pub base_dir: Option<PathBuf>,
    /// Where its lock lives (`DEF.lock` next to the file); `None` for gallery definitions.
    pub lock_path: Option<PathBuf>,
}

/// The lock file of a definition file: the same name with the extension `.lock`.
pub fn lock_path_for(path: &Path) -> PathBuf {
    path.with_extension("lock")
}

impl Loaded {
    /// Reads and checks a definition file.
    pub fn from_file(path: &Path) -> Result<Loaded, Error> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        let origin = path.display().to_string();
        let definition = Definition::parse(&text, &origin)?;
        let base_dir =
            path.parent().map(|p| if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() });
        Ok(Loaded { definition, origin, base_dir, lock_path: Some(lock_path_for(path)) })
    }

    /// Parses and checks a definition given as text (gallery definitions, tests).
    pub fn from_text(text: &str, origin: &str, base_dir: Option<PathBuf>) -> Result<Loaded, Error> {
        let definition = Definition::parse(text, origin)?;
        Ok(Loaded { definition, origin: origin.to_string(), base_dir, lock_path: None })
    }

    pub fn name(&self) -> String {
        self.definition.name.clone().unwrap_or_else(|| {
            Path::new(&self.origin)
                .file_stem()
                .map_or_else(|| self.origin.clone(), |s| s.to_string_lossy().into_owned())
        })
    }

    /// The keyring: the definition's, or Debian's.
    pub fn keyring(&self) -> Result<pare_deb::Keyring, Error> {
        match &self.definition.keyring {
            None => Ok(pare_deb::Keyring::debian()?),
            Some(path) => {
                let Some(base) = &self.base_dir else {
                    return Err(Error::field(
                        &self.origin,
                        "keyring",
                        "gallery definitions cannot name host files",
                        "",
                    ));
                };
                // pare-deb refuses what is not a regular file of keyring size.
                pare_deb::Keyring::load(&base.join(path)).map_err(|e| {
                    let reason = match e {
                        pare_deb::Error::Keyring { reason, .. } => format!("`{}` {reason}", path.display()),
                        pare_deb::Error::Io { source, .. } => format!("cannot read `{}`: {source}", path.display()),
                        other => other.to_string(),
                    };
                    Error::field(
                        &self.origin,
                        "keyring",
                        reason,
                        "name an OpenPGP keyring file (a few KiB), such as /usr/share/keyrings/debian-archive-keyring.gpg",
                    )
                })
            }
        }
    }

    /// The archive suites to read: the release itself, then the chosen pockets.
    pub fn pockets(&self) -> Vec<pare_deb::Pocket> {
        let d = &self.definition;
        let mirror = d.mirror.as_deref().unwrap_or(DEFAULT_MIRROR);
        let security = d.security_mirror.as_deref().unwrap_or(DEFAULT_SECURITY_MIRROR);
        let mut out = vec![pare_deb::Pocket::new(mirror, &d.suite)];
        for pocket in &d.pockets {
            match pocket.as_str() {
                "security" => out.push(pare_deb::Pocket::new(security, &format!("{}-security", d.suite))),
                other => out.push(pare_deb::Pocket::new(mirror, &format!("{}-{other}", d.suite))),
            }
        }
        out
    }
}

/// Debian architectures pare knows how to describe as OCI platforms, with their multiarch tuples.
const ARCHITECTURES: &[(&str, &str, &str, Option<&str>)] = &[
    ("amd64", "x86_64-linux-gnu", "amd64", None),
    ("arm64", "aarch64-linux-gnu", "arm64", Some("v8")),
    ("armhf", "arm-linux-gnueabihf", "arm", Some("v7")),
    ("armel", "arm-linux-gnueabi", "arm", Some("v5")),
    ("i386", "i386-linux-gnu", "386", None),
    ("ppc64el", "powerpc64le-linux-gnu", "ppc64le", None),
    ("s390x", "s390x-linux-gnu", "s390x", None),
    ("riscv64", "riscv64-linux-gnu", "riscv64", None),
];

/// The multiarch tuple of a Debian architecture (`x86_64-linux-gnu`).
pub fn multiarch(arch: &str) -> Option<&'static str> {
    ARCHITECTURES.iter().find(|a| a.0 == arch).map(|a| a.1)
}

/// The OCI platform of a Debian architecture.
pub fn platform(arch: &str) -> Option<pare_oci::Platform> {
    ARCHITECTURES.iter().find(|a| a.0 == arch).map(|a| pare_oci::Platform::new("linux", a.2, a.3))
}

/// Replaces `{arch}` and `{multiarch}` in `text`.
pub fn substitute(text: &str, arch: &str) -> String {
    text.replace("{arch}", arch).replace("{multiarch}", multiarch(arch).unwrap_or(arch))
}

fn valid_name(name: &str) -> bool {
    // Debian package names: lowercase letters, digits, `+ - .`, starting with a letter or digit.
    name.len() >= 2
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

fn valid_path(path: &str) -> bool {
    path.starts_with('/') && !path.split('/').any(|c| c == ".." || c == ".") && !path.contains('\0')
}

impl Definition {
    /// Parses TOML text; errors carry `origin:line:column`.
    pub fn parse(text: &str, origin: &str) -> Result<Definition, Error> {
        let definition: Definition = toml::from_str(text)
            .map_err(|e| Error::toml(origin, text, &e, "docs/image-definition.md lists every field"))?;
        definition.check(origin)?;
        Ok(definition)
    }

    /// Checks what the types cannot say.
    pub fn check(&self, origin: &str) -> Result<(), Error> {
        let field = |name: &str, reason: String, hint: &str| Err(Error::field(origin, name, reason, hint));
        if self.suite.is_empty()
            || !self.suite.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return field("suite", format!("`{}` is not a Debian codename", self.suite), "use `bookworm` or `trixie`");
        }
        if self.architectures.is_empty() {
            return field("architectures", "is empty".into(), "name at least one, such as `[\"amd64\"]`");
        }
        for (i, arch) in self.architectures.iter().enumerate() {
            if platform(arch).is_none() {
                let known: Vec<_> = ARCHITECTURES.iter().map(|a| a.0).collect();
                return field(
                    "architectures",
                    format!("unknown architecture `{arch}`"),
                    &format!("use one of {}", known.join(", ")),
                );
            }
            if self.architectures[..i].contains(arch) {
                return field("architectures", format!("`{arch}` is given twice"), "");
            }
        }
        if self.components.is_empty() {
            return field("components", "is empty".into(), "use `[\"main\"]`");
        }
        for pocket in &self.pockets {
            if !["updates", "security", "backports"].contains(&pocket.as_str()) {
                return field(
                    "pockets",
                    format!("unknown pocket `{pocket}`"),
                    "use `updates`, `security` or `backports`",
                );
            }
        }
        for (name, url) in [("mirror", &self.mirror), ("security_mirror", &self.security_mirror)] {
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return field(name, format!("`{url}` is not an http(s) URL"), "such as `http://deb.debian.org/debian`");
            }
        }
        if self.packages.is_empty() {
            return field("packages", "is empty".into(), "name at least one package, such as `base-files`");
        }
        for (name, list) in [("packages", &self.packages), ("exclude", &self.exclude)] {
            if let Some(bad) = list.iter().find(|p| !valid_name(p)) {
                return field(name, format!("`{bad}` is not a Debian package name"), "");
            }
        }
        if let Some(p) = self.packages.iter().find(|p| self.exclude.contains(p)) {
            return field("exclude", format!("`{p}` is both requested and excluded"), "");
        }
        if let Err(e) = self.compression.unwrap_or_default().oci().check_level(self.compression_level) {
            return field("compression_level", e.to_string(), "");
        }
        for pattern in self.paths.exclude.iter().chain(&self.paths.include) {
            if pattern.is_empty() || pattern.split('/').any(|c| c == "..") {
                return field(
                    "paths",
                    format!("`{pattern}` is not a path pattern"),
                    "such as `usr/share/zoneinfo/right`",
                );
            }
        }
        let user = &self.user;
        if !valid_account(&user.name) || !valid_account(user.group_name()) {
            return field("user", format!("`{}`/`{}` is not a valid account name", user.name, user.group_name()), "");
        }
        if (user.uid == 0) != (user.name == "root") || (user.uid == 65534 || user.name == "nobody") {
            return field(
                "user",
                format!("`{}` with uid {}", user.name, user.uid),
                "uid 0 must be `root`; `nobody` (65534) is always there",
            );
        }
        if !valid_path(&user.home_dir()) {
            return field("user.home", format!("`{}` is not an absolute path", user.home_dir()), "");
        }
        if let Some(dir) = &self.workdir
            && !valid_path(dir)
        {
            return field("workdir", format!("`{dir}` is not an absolute path"), "");
        }
        for key in self.env.keys() {
            if key.is_empty() || key.contains('=') {
                return field("env", format!("`{key}` is not a variable name"), "");
            }
        }
        if let Some(base) = &self.base
            && let Err((reason, hint)) = crate::base::BaseRef::parse(base)
        {
            return field("base", reason, &hint);
        }
        for (i, file) in self.files.iter().enumerate() {
            let name = format!("files[{i}]");
            if !valid_path(&file.path) || file.path.trim_matches('/').is_empty() {
                return field(&name, format!("path `{}` is not an absolute path below `/`", file.path), "");
            }
            let ok = match file.kind {
                FileKind::File => file.content.is_some() != file.source.is_some() && file.target.is_none(),
                FileKind::Dir => file.content.is_none() && file.source.is_none() && file.target.is_none(),
                FileKind::Symlink => file.target.is_some() && file.content.is_none() && file.source.is_none(),
            };
            if !ok {
                return field(
                    &name,
                    format!("`{}` does not fit its type", file.path),
                    "a file has `content` or `source`, a dir neither, a symlink only `target`",
                );
            }
            if let (FileKind::Symlink, Some(target)) = (file.kind, &file.target) {
                if target.is_empty() || target.contains('\0') {
                    return field(
                        &name,
                        format!("symlink `{}` has an empty target or a NUL byte in it", file.path),
                        "",
                    );
                }
                // `pare unpack` (and pare's filesystem view) refuse these.
                if pare_oci::fs::symlink_escapes(&file.path, target) {
                    let parent = file.path.rsplit_once('/').map_or("", |(p, _)| p);
                    let absolute = pare_oci::fs::normalize(&format!("{parent}/{target}"));
                    return field(
                        &name,
                        format!("symlink `{}` -> `{target}` climbs above the root directory", file.path),
                        &format!("write the target as an absolute path, `{absolute}`: it means the same in the image"),
                    );
                }
            }
            if file.mode.is_some_and(|m| m > 0o7777) {
                return field(&name, "mode is above 0o7777".into(), "write modes as TOML octals: `mode = 0o755`");
            }
        }
        Ok(())
    }

    /// The parsed `base` (checked by [`Definition::check`]).
    pub fn base_ref(&self) -> Option<crate::base::BaseRef> {
        self.base.as_deref().and_then(|b| crate::base::BaseRef::parse(b).ok())
    }

    /// SHA-256 of what decides the package set and the base, as `sha256:<hex>`: the lock's `definition` field.
    pub fn lock_checksum(&self) -> String {
        let mut inputs = serde_json::json!({
            "suite": self.suite,
            "architectures": self.architectures,
            "components": self.components,
            "pockets": self.pockets,
            "mirror": self.mirror.as_deref().unwrap_or(DEFAULT_MIRROR),
            "security_mirror": self.security_mirror.as_deref().unwrap_or(DEFAULT_SECURITY_MIRROR),
            "packages": self.packages,
            "exclude": self.exclude,
            "follow_dependencies": self.follow_dependencies,
        });
        // Only when set, so locks of definitions without a base keep their checksum.
        if let Some(base) = &self.base {
            inputs["base"] = serde_json::json!(base);
        }
        format!("sha256:{}", pare_deb::Sha256Sum::of(&pare_oci::canonical_json(&inputs)).to_hex())
    }
}

fn valid_account(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && !name.starts_with('-')
}

/// The JSON schema of definitions (what `docs/image-definition.schema.json` holds).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Definition);
    // Sorted keys, whatever order serde_json's maps keep (`preserve_order` is on in some builds).
    let mut value = serde_json::to_value(&schema).unwrap_or_default();
    value.sort_all_objects();
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
