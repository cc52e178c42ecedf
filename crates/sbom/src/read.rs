//! Reading SBOMs back into an [`Inventory`]: SPDX 2.2/2.3 JSON, SPDX 2.x tag-value and CycloneDX
//! 1.4–1.7 JSON, as pare, syft and trivy write them.
//!
//! Documents are walked as `serde_json::Value` rather than through the typify-generated
//! `serde-spdx` / `serde-cyclonedx` models: those accept one schema version each and reject the
//! small deviations real tools make (trivy writes CycloneDX 1.7, syft adds unknown fields), while
//! pare needs only a few fields and must keep going past a bad component. Tag-value SPDX is turned
//! into the same JSON shape first, so both encodings share one reader. CycloneDX XML is not read.
//!
//! What each tool writes for Debian packages (checked against syft 1.18.1 and trivy 0.76.0):
//! - source package: purl qualifier `upstream=NAME` or `upstream=NAME@VERSION` (pare, syft);
//!   CycloneDX properties `pare:package:source-name`/`-version`, `syft:metadata:source`/
//!   `sourceVersion`, `aquasecurity:trivy:SrcName`/`SrcVersion`/`SrcRelease`/`SrcEpoch`; SPDX
//!   `sourceInfo` (`built from source package NAME VERSION` from pare, `built package from: NAME
//!   VERSION` from trivy). Without any, the source is the binary package (as dpkg says).
//! - OS: a CycloneDX `operating-system` component (syft, trivy), an SPDX package with purpose
//!   `OPERATING-SYSTEM` (trivy), else the purls' `distro=ID-VERSION` qualifier (pare, syft SPDX).
//!   trivy writes Debian's point release (`12.15`); `version_id` keeps the major version, as
//!   `/etc/os-release` does, and the full one goes to `fields["DEBIAN_VERSION_FULL"]`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr as _;

use packageurl::PackageUrl;
use serde_json::{Map, Value};

use crate::model::{Checksum, Inventory, Location, OsRelease, Package, Subject, Tool};
use crate::{Error, Result};

/// The largest SBOM read (syft's SPDX with file entries is about 100 KiB per package).
pub const MAX_SBOM_BYTES: usize = 256 << 20;

/// Components walked at most (CycloneDX nests components in components).
const MAX_COMPONENTS: usize = 1 << 20;

/// What was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SbomFormat {
    /// SPDX JSON; the version as written (`SPDX-2.3`).
    SpdxJson(String),
    /// SPDX tag-value; the version as written.
    SpdxTagValue(String),
    /// CycloneDX JSON; the `specVersion` (`1.6`).
    CycloneDxJson(String),
    /// pare's own JSON (`pare sbom --format json`): the [`Inventory`] itself.
    PareJson,
}

impl fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SbomFormat::SpdxJson(v) => write!(f, "{v} JSON"),
            SbomFormat::SpdxTagValue(v) => write!(f, "{v} tag-value"),
            SbomFormat::CycloneDxJson(v) => write!(f, "CycloneDX {v} JSON"),
            SbomFormat::PareJson => write!(f, "pare JSON"),
        }
    }
}

/// An SBOM read into pare's model.
#[derive(Clone, Debug)]
pub struct ReadSbom {
    pub inventory: Inventory,
    /// Parts that could not be read (a bad purl, an unknown license form), each naming its field.
    pub warnings: Vec<String>,
    pub format: SbomFormat,
}

/// Reads an SBOM file's bytes; `location` names it in errors and warnings. The format is
/// detected from the content: `spdxVersion` or `bomFormat` in JSON, `SPDXVersion:` in tag-value.
pub fn read(bytes: &[u8], location: &str) -> Result<ReadSbom> {
    if bytes.len() > MAX_SBOM_BYTES {
        return Err(Error::SbomTooLarge { location: location.into(), size: bytes.len(), max: MAX_SBOM_BYTES });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        invalid(location, "(file)", format!("not UTF-8 text ({e})"), "SBOMs are UTF-8 JSON or SPDX tag-value")
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::SbomJson { location: location.into(), reason: e.to_string() })?;
        let Value::Object(doc) = value else {
            return Err(not_an_sbom(location));
        };
        let mut reader = Reader { location, warnings: Vec::new() };
        if doc.contains_key("spdxVersion") {
            let version = reader.spdx_version(&doc, "spdxVersion")?;
            let inventory = reader.spdx(&doc);
            return Ok(ReadSbom { inventory, warnings: reader.warnings, format: SbomFormat::SpdxJson(version) });
        }
        if doc.contains_key("bomFormat") {
            let version = reader.cyclonedx_version(&doc)?;
            let inventory = reader.cyclonedx(&doc);
            return Ok(ReadSbom { inventory, warnings: reader.warnings, format: SbomFormat::CycloneDxJson(version) });
        }
        if doc.contains_key("subject") && doc.contains_key("packages") && doc.contains_key("tool") {
            let mut inventory: Inventory = serde_json::from_value(Value::Object(doc)).map_err(|e| {
                invalid(location, "(pare JSON)", e.to_string(), "write it again with `pare sbom SRC --format json`")
            })?;
            inventory.normalize();
            return Ok(ReadSbom { inventory, warnings: Vec::new(), format: SbomFormat::PareJson });
        }
        // The scanners' own report formats are recognised, to say which SBOM format to ask them for.
        if doc.contains_key("artifacts") && doc.contains_key("descriptor") {
            return Err(invalid(
                location,
                "artifacts",
                "syft's own JSON format (`syft -o json`) is not an SBOM format pare reads".into(),
                "write SPDX or CycloneDX JSON: `syft -o spdx-json` or `syft -o cyclonedx-json`",
            ));
        }
        if doc.contains_key("SchemaVersion") && (doc.contains_key("Results") || doc.contains_key("ArtifactName")) {
            return Err(invalid(
                location,
                "SchemaVersion",
                "trivy's own JSON report (`trivy --format json`) is not an SBOM format pare reads".into(),
                "write SPDX or CycloneDX JSON: `trivy image --format spdx-json` or `--format cyclonedx`",
            ));
        }
        if doc.contains_key("@context") || doc.contains_key("@graph") {
            return Err(invalid(
                location,
                "@context",
                "SPDX 3 (JSON-LD) is not supported".into(),
                "write SPDX 2.3 JSON (`syft -o spdx-json`, `trivy --format spdx-json`) or CycloneDX JSON",
            ));
        }
        return Err(not_an_sbom(location));
    }
    if trimmed.starts_with('<') {
        return Err(invalid(
            location,
            "(file)",
            "XML SBOMs are not supported".into(),
            "write CycloneDX JSON instead (`syft -o cyclonedx-json`, `trivy --format cyclonedx`)",
        ));
    }
    if text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.strip_prefix("SPDXVersion").is_some_and(|rest| rest.trim_start().starts_with(':')))
    {
        let doc = tag_value_to_json(text);
        let mut reader = Reader { location, warnings: Vec::new() };
        let version = reader.spdx_version(&doc, "SPDXVersion")?;
        let inventory = reader.spdx(&doc);
        return Ok(ReadSbom { inventory, warnings: reader.warnings, format: SbomFormat::SpdxTagValue(version) });
    }
    Err(not_an_sbom(location))
}

fn invalid(location: &str, field: &str, reason: String, hint: &str) -> Error {
    Error::SbomInvalid { location: location.into(), field: field.into(), reason, hint: hint.into() }
}

fn not_an_sbom(location: &str) -> Error {
    invalid(
        location,
        "(top level)",
        "not an SBOM: expected `spdxVersion` or `bomFormat`".into(),
        "pass an SPDX 2.x (JSON or tag-value) or CycloneDX JSON document",
    )
}

struct Reader<'a> {
    location: &'a str,
    warnings: Vec<String>,
}

/// One package as the document describes it, before its purl is parsed.
#[derive(Default)]
struct Draft {
    /// The JSON path of the package, for warnings.
    path: String,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    licenses: Vec<String>,
    source_name: Option<String>,
    source_version: Option<String>,
    architecture: Option<String>,
    locations: Vec<Location>,
    checksums: Vec<Checksum>,
    download_location: Option<String>,
}

fn str_field<'v>(m: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    m.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn array<'v>(m: &'v Map<String, Value>, key: &str) -> &'v [Value] {
    m.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

impl Reader<'_> {
    fn warn(&mut self, field: &str, message: impl fmt::Display) {
        self.warnings.push(format!("{}: `{field}`: {message}", self.location));
    }

    /// `field` is how the document spells it (tag-value: `SPDXVersion`).
    fn spdx_version(&self, doc: &Map<String, Value>, field: &str) -> Result<String> {
        let version = str_field(doc, "spdxVersion").unwrap_or_default();
        if version.starts_with("SPDX-2.") {
            return Ok(version.to_string());
        }
        Err(invalid(
            self.location,
            field,
            format!("unsupported SPDX version `{version}`"),
            "pare reads SPDX 2.2 and 2.3 (`SPDX-2.3`)",
        ))
    }

    fn cyclonedx_version(&self, doc: &Map<String, Value>) -> Result<String> {
        if str_field(doc, "bomFormat") != Some("CycloneDX") {
            return Err(invalid(
                self.location,
                "bomFormat",
                format!("expected `CycloneDX`, found {}", doc.get("bomFormat").unwrap_or(&Value::Null)),
                "pass a CycloneDX JSON document",
            ));
        }
        let version = str_field(doc, "specVersion").unwrap_or_default();
        let minor = version.strip_prefix("1.").and_then(|m| m.parse::<u32>().ok());
        if minor.is_some_and(|m| (4..=7).contains(&m)) {
            return Ok(version.to_string());
        }
        Err(invalid(
            self.location,
            "specVersion",
            format!("unsupported CycloneDX version `{version}`"),
            "pare reads CycloneDX 1.4 to 1.7 JSON",
        ))
    }

    // ---- SPDX ----

    fn spdx(&mut self, doc: &Map<String, Value>) -> Inventory {
        let packages = array(doc, "packages");
        // The described roots: DESCRIBES relationships from the document, or `documentDescribes`.
        let mut roots: BTreeSet<&str> = array(doc, "documentDescribes").iter().filter_map(Value::as_str).collect();
        for r in array(doc, "relationships") {
            let Some(r) = r.as_object() else { continue };
            let kind = str_field(r, "relationshipType");
            let (from, to) = (str_field(r, "spdxElementId"), str_field(r, "relatedSpdxElement"));
            if kind == Some("DESCRIBES") && from == Some("SPDXRef-DOCUMENT") {
                roots.extend(to);
            } else if kind == Some("DESCRIBED_BY") && to == Some("SPDXRef-DOCUMENT") {
                roots.extend(from);
            }
        }
        let mut subject = Subject { name: str_field(doc, "name").unwrap_or(self.location).to_string(), digest: None };
        let mut os = None;
        let mut drafts = Vec::new();
        let mut no_purl = Vec::new();
        for (i, p) in packages.iter().enumerate() {
            let path = format!("packages[{i}]");
            let Some(p) = p.as_object() else {
                self.warn(&path, "not an object; skipped");
                continue;
            };
            let id = str_field(p, "SPDXID").unwrap_or_default();
            let purpose = str_field(p, "primaryPackagePurpose");
            let purl = spdx_purl(p);
            if roots.contains(id) && (purl.is_none() || purpose == Some("CONTAINER")) {
                if let Some(name) = str_field(p, "name") {
                    subject.name = name.to_string();
                }
                subject.digest = str_field(p, "versionInfo").filter(|v| v.starts_with("sha256:")).map(String::from);
                continue;
            }
            if purpose == Some("OPERATING-SYSTEM") {
                os = os.or_else(|| os_release(str_field(p, "name"), str_field(p, "versionInfo"), None, None));
                continue;
            }
            let Some(purl) = purl else {
                no_purl.push(str_field(p, "name").unwrap_or(id).to_string());
                continue;
            };
            let mut draft = Draft {
                path,
                name: str_field(p, "name").map(String::from),
                version: str_field(p, "versionInfo").map(String::from),
                purl: Some(purl),
                ..Draft::default()
            };
            let declared = str_field(p, "licenseDeclared").filter(known_license);
            let concluded = str_field(p, "licenseConcluded").filter(known_license);
            if let Some(expr) = declared.or(concluded) {
                draft.licenses = split_and(expr);
            }
            if let Some((name, version)) = str_field(p, "sourceInfo").and_then(spdx_source_info) {
                draft.source_name = Some(name);
                draft.source_version = version;
            }
            draft.download_location = str_field(p, "downloadLocation")
                .filter(|l| !matches!(*l, "NOASSERTION" | "NONE" | ""))
                .map(String::from);
            for (j, c) in array(p, "checksums").iter().enumerate() {
                let c = c.as_object();
                match (c.and_then(|c| str_field(c, "algorithm")), c.and_then(|c| str_field(c, "checksumValue"))) {
                    (Some(algorithm), Some(value)) if is_hex(value) => draft
                        .checksums
                        .push(Checksum { algorithm: algorithm.to_string(), value: value.to_ascii_lowercase() }),
                    _ => self.warn(
                        &format!("{}.checksums[{j}]", draft.path),
                        "not an `algorithm` and a hex `checksumValue`; ignored",
                    ),
                }
            }
            drafts.push(draft);
        }
        if !no_purl.is_empty() {
            self.warn(
                "packages[].externalRefs",
                format_args!("{} package(s) without a purl skipped: {}", no_purl.len(), list(&no_purl)),
            );
        }
        let created =
            doc.get("creationInfo").and_then(Value::as_object).and_then(|c| str_field(c, "created")).map(String::from);
        let tool = doc
            .get("creationInfo")
            .and_then(Value::as_object)
            .map(|c| array(c, "creators"))
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .find_map(|c| c.strip_prefix("Tool:"))
            .map(|t| {
                let t = t.trim();
                match t.rsplit_once('-') {
                    Some((name, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => {
                        Tool { name: name.into(), version: version.into() }
                    }
                    _ => Tool { name: t.into(), version: String::new() },
                }
            });
        self.finish(subject, os, drafts, tool, created, "creationInfo.created")
    }

    // ---- CycloneDX ----

    fn cyclonedx(&mut self, doc: &Map<String, Value>) -> Inventory {
        let metadata = doc.get("metadata").and_then(Value::as_object);
        let mut subject = Subject { name: self.location.to_string(), digest: None };
        let meta_component = metadata.and_then(|m| m.get("component")).and_then(Value::as_object);
        if let Some(c) = meta_component {
            if let Some(name) = str_field(c, "name") {
                subject.name = name.to_string();
            }
            subject.digest = str_field(c, "version").filter(|v| v.starts_with("sha256:")).map(String::from);
            // trivy names the image's digest only as `NAME@sha256:…`, for images from a registry.
            if subject.digest.is_none() {
                subject.digest = properties(c)
                    .get("aquasecurity:trivy:RepoDigest")
                    .and_then(|d| d.rsplit_once('@'))
                    .map(|(_, d)| d.to_string())
                    .filter(|d| d.starts_with("sha256:"));
            }
        }
        let tool = metadata.and_then(|m| m.get("tools")).and_then(|t| {
            // 1.5+: `{"components": [...]}`; 1.4: an array of `{vendor, name, version}`.
            let first = match t {
                Value::Object(o) => array(o, "components").first(),
                Value::Array(a) => a.first(),
                _ => None,
            }?;
            let o = first.as_object()?;
            Some(Tool {
                name: str_field(o, "name")?.to_string(),
                version: str_field(o, "version").unwrap_or_default().to_string(),
            })
        });
        let created = metadata.and_then(|m| str_field(m, "timestamp")).map(String::from);

        let mut os = None;
        let mut drafts = Vec::new();
        let mut no_purl = Vec::new();
        // Depth-first over nested components, with an explicit stack (no recursion on input).
        let mut stack: Vec<(String, &Value)> =
            array(doc, "components").iter().enumerate().rev().map(|(i, c)| (format!("components[{i}]"), c)).collect();
        let mut seen = 0usize;
        while let Some((path, c)) = stack.pop() {
            seen += 1;
            if seen > MAX_COMPONENTS {
                self.warn("components", format_args!("more than {MAX_COMPONENTS} components; the rest skipped"));
                break;
            }
            let Some(c) = c.as_object() else {
                self.warn(&path, "not an object; skipped");
                continue;
            };
            for (i, child) in array(c, "components").iter().enumerate().rev() {
                stack.push((format!("{path}.components[{i}]"), child));
            }
            let props = properties(c);
            let kind = str_field(c, "type");
            if kind == Some("operating-system") {
                if os.is_none() {
                    os = os_release(
                        str_field(c, "name"),
                        str_field(c, "version"),
                        props.get("syft:distro:versionCodename").map(String::as_str),
                        str_field(c, "description").or(props.get("syft:distro:prettyName").map(String::as_str)),
                    );
                }
                continue;
            }
            let Some(purl) = str_field(c, "purl") else {
                if !matches!(kind, Some("file" | "container")) {
                    no_purl.push(str_field(c, "name").unwrap_or(&path).to_string());
                }
                continue;
            };
            let mut draft = Draft {
                path: path.clone(),
                name: str_field(c, "name").map(String::from),
                version: str_field(c, "version").map(String::from),
                purl: Some(purl.to_string()),
                ..Draft::default()
            };
            draft.licenses = self.cyclonedx_licenses(c, &path);
            for (j, h) in array(c, "hashes").iter().enumerate() {
                let h = h.as_object();
                let alg = h.and_then(|h| str_field(h, "alg"));
                match (alg.and_then(Checksum::spdx_algorithm), h.and_then(|h| str_field(h, "content"))) {
                    (Some(algorithm), Some(value)) if is_hex(value) => draft
                        .checksums
                        .push(Checksum { algorithm: algorithm.to_string(), value: value.to_ascii_lowercase() }),
                    _ => self.warn(
                        &format!("{path}.hashes[{j}]"),
                        format_args!("`{}` is not a known `alg` with a hex `content`; ignored", alg.unwrap_or("")),
                    ),
                }
            }
            draft.download_location = array(c, "externalReferences")
                .iter()
                .filter_map(Value::as_object)
                .find(|r| str_field(r, "type") == Some("distribution"))
                .and_then(|r| str_field(r, "url"))
                .map(String::from);
            let prop = |k: &str| props.get(k).cloned();
            draft.architecture = prop("pare:package:architecture");
            draft.source_name = prop("pare:package:source-name")
                .or_else(|| prop("aquasecurity:trivy:SrcName"))
                .or_else(|| prop("syft:metadata:source"));
            draft.source_version = prop("pare:package:source-version").or_else(|| prop("syft:metadata:sourceVersion"));
            if let Some(v) = prop("aquasecurity:trivy:SrcVersion") {
                // trivy splits the Debian version: [SrcEpoch:]SrcVersion[-SrcRelease].
                let mut full = match prop("aquasecurity:trivy:SrcEpoch").filter(|e| e != "0") {
                    Some(e) => format!("{e}:{v}"),
                    None => v,
                };
                if let Some(r) = prop("aquasecurity:trivy:SrcRelease") {
                    full = format!("{full}-{r}");
                }
                draft.source_version = draft.source_version.or(Some(full));
            }
            for (key, value) in &props {
                if key == "pare:location" {
                    // `LAYER:PATH`; layers are `sha256:…`, paths start with `/`.
                    if let Some(i) = value.find(":/") {
                        draft.locations.push(Location { layer: value[..i].into(), path: value[i + 1..].into() });
                    }
                }
            }
            for n in 0.. {
                let Some(p) = props.get(&format!("syft:location:{n}:path")) else { break };
                let layer = props.get(&format!("syft:location:{n}:layerID")).cloned().unwrap_or_default();
                draft.locations.push(Location { layer, path: p.clone() });
            }
            drafts.push(draft);
        }
        if !no_purl.is_empty() {
            self.warn(
                "components[].purl",
                format_args!("{} component(s) without a purl skipped: {}", no_purl.len(), list(&no_purl)),
            );
        }
        self.finish(subject, os, drafts, tool, created, "metadata.timestamp")
    }

    fn cyclonedx_licenses(&mut self, c: &Map<String, Value>, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, l) in array(c, "licenses").iter().enumerate() {
            let Some(l) = l.as_object() else { continue };
            if let Some(expr) = str_field(l, "expression") {
                out.extend(split_and(expr));
            } else if let Some(inner) = l.get("license").and_then(Value::as_object) {
                if let Some(id) = str_field(inner, "id") {
                    out.push(id.to_string());
                } else if let Some(name) = str_field(inner, "name") {
                    out.push(license_ref(name));
                } else {
                    self.warn(&format!("{path}.licenses[{i}].license"), "neither `id` nor `name`; ignored");
                }
            }
        }
        out
    }

    // ---- shared ----

    fn finish(
        &mut self,
        subject: Subject,
        mut os: Option<OsRelease>,
        drafts: Vec<Draft>,
        tool: Option<Tool>,
        created: Option<String>,
        created_field: &str,
    ) -> Inventory {
        let mut packages = Vec::new();
        let mut distro = None;
        for d in drafts {
            let Some(raw) = d.purl.as_deref() else { continue };
            let purl = match PackageUrl::from_str(raw) {
                Ok(p) => p,
                Err(e) => {
                    self.warn(&format!("{}.purl", d.path), format_args!("bad purl `{raw}` ({e}); package skipped"));
                    continue;
                }
            };
            let q = |k: &str| purl.qualifiers().get(k).map(|v| v.to_string()).filter(|v| !v.is_empty());
            let ecosystem = purl.ty().to_string();
            let name = d.name.unwrap_or_else(|| purl.name().to_string());
            // trivy's purls carry a Debian epoch as `epoch=N`, not in the version.
            let purl_version = purl.version().map(|v| match q("epoch") {
                Some(e) if !v.contains(':') => format!("{e}:{v}"),
                _ => v.to_string(),
            });
            let Some(version) = d.version.or(purl_version) else {
                self.warn(&d.path, format_args!("package `{name}` has no version; skipped"));
                continue;
            };
            if distro.is_none() && matches!(ecosystem.as_str(), "deb" | "apk" | "rpm") {
                distro = q("distro");
            }
            let architecture = d.architecture.or_else(|| q("arch"));
            let (mut source_name, mut source_version) = (d.source_name, d.source_version);
            if ecosystem == "deb" {
                if source_name.is_none()
                    && let Some(upstream) = q("upstream")
                {
                    match upstream.split_once('@') {
                        Some((n, v)) => {
                            source_name = Some(n.to_string());
                            source_version = source_version.or(Some(v.to_string()));
                        }
                        None => source_name = Some(upstream),
                    }
                }
                source_name = source_name.or_else(|| Some(name.clone()));
                source_version = source_version.or_else(|| Some(crate::deb::strip_binnmu(&version).to_string()));
            }
            let licenses = if d.licenses.is_empty() { vec!["NOASSERTION".to_string()] } else { d.licenses };
            packages.push(Package {
                ecosystem,
                name,
                version,
                source_name,
                source_version,
                architecture,
                purl: raw.to_string(),
                licenses,
                files: Vec::new(),
                locations: d.locations,
                checksums: d.checksums,
                download_location: d.download_location,
            });
        }
        if os.is_none() {
            os = distro.as_deref().and_then(|d| {
                // `ID-VERSION`; IDs may contain `-` (`opensuse-leap-15.4`), versions start with a digit.
                match d.rsplit_once('-') {
                    Some((id, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => {
                        os_release(Some(id), Some(v), None, None)
                    }
                    _ => os_release(Some(d), None, None, None),
                }
            });
        }
        let created = created.and_then(|c| match crate::rfc3339_seconds(&c) {
            Ok(c) => Some(c),
            Err(e) => {
                self.warn(created_field, e);
                None
            }
        });
        let mut inventory = Inventory { subject, os, packages, tool: tool.unwrap_or_default(), created };
        inventory.normalize();
        inventory
    }
}

/// The CycloneDX `properties` as a map (the first value of each name wins).
fn properties(c: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in array(c, "properties") {
        let Some(p) = p.as_object() else { continue };
        if let (Some(k), Some(v)) = (str_field(p, "name"), str_field(p, "value")) {
            out.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
    }
    out
}

fn is_hex(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn spdx_purl(p: &Map<String, Value>) -> Option<String> {
    array(p, "externalRefs").iter().filter_map(Value::as_object).find_map(|r| {
        (str_field(r, "referenceType") == Some("purl")).then(|| str_field(r, "referenceLocator").map(String::from))?
    })
}

/// `built from source package NAME VERSION` (pare) or `built package from: NAME VERSION` (trivy).
fn spdx_source_info(info: &str) -> Option<(String, Option<String>)> {
    let info = info.split_whitespace().collect::<Vec<_>>().join(" ");
    let rest = info
        .strip_prefix("built from source package ")
        .or_else(|| info.strip_prefix("built package from: "))
        .or_else(|| info.strip_prefix("built package from "))?;
    let mut words = rest.split_whitespace();
    let name = words.next()?.to_string();
    Some((name, words.next().map(String::from)))
}

fn known_license(l: &&str) -> bool {
    !matches!(*l, "NOASSERTION" | "NONE")
}

/// `A AND (B OR C)` → `["A", "B OR C"]`: the top-level `AND` terms, outer parentheses removed.
fn split_and(expr: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut depth = 0i32;
    let mut current = Vec::new();
    for word in expr.split_whitespace() {
        if depth == 0 && word == "AND" {
            terms.push(current.join(" "));
            current.clear();
            continue;
        }
        depth += word.matches('(').count() as i32 - word.matches(')').count() as i32;
        current.push(word);
    }
    terms.push(current.join(" "));
    terms.into_iter().map(|t| strip_parens(&t).to_string()).filter(|t| !t.is_empty()).collect()
}

/// Removes parentheses around the whole term only (`(A) OR (B)` keeps them).
fn strip_parens(term: &str) -> &str {
    let mut t = term.trim();
    while let Some(inner) = t.strip_prefix('(').and_then(|i| i.strip_suffix(')')) {
        let mut depth = 0i32;
        let balanced = inner.chars().all(|c| {
            depth += i32::from(c == '(') - i32::from(c == ')');
            depth >= 0
        });
        if !balanced || depth != 0 {
            break;
        }
        t = inner.trim();
    }
    t
}

/// A license name that is no SPDX identifier, as syft writes it in SPDX: `LicenseRef-NAME`.
fn license_ref(name: &str) -> String {
    if name.starts_with("LicenseRef-") {
        return name.to_string();
    }
    let cleaned: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    format!("LicenseRef-{cleaned}")
}

fn list(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    let more = names.len().saturating_sub(shown.len());
    if more > 0 { format!("{}, and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

fn os_release(
    id: Option<&str>,
    version: Option<&str>,
    codename: Option<&str>,
    pretty: Option<&str>,
) -> Option<OsRelease> {
    let id = id?.to_ascii_lowercase();
    let mut fields = BTreeMap::new();
    fields.insert("ID".to_string(), id.clone());
    let mut version_id = version.map(String::from);
    if id == "debian"
        && let Some(v) = version.filter(|v| v.contains('.'))
    {
        fields.insert("DEBIAN_VERSION_FULL".into(), v.to_string());
        version_id = v.split('.').next().map(String::from);
    }
    let codename = codename.map(String::from).or_else(|| {
        (id == "debian")
            .then(|| version_id.as_deref().and_then(pare_deb::releases::debian_codename).map(String::from))
            .flatten()
    });
    for (k, v) in [("VERSION_ID", &version_id), ("VERSION_CODENAME", &codename)] {
        if let Some(v) = v {
            fields.insert(k.into(), v.clone());
        }
    }
    if let Some(p) = pretty {
        fields.insert("PRETTY_NAME".into(), p.to_string());
    }
    Some(OsRelease {
        id: Some(id),
        version_id,
        version_codename: codename,
        pretty_name: pretty.map(String::from),
        fields,
    })
}

// ---- SPDX tag-value ----

/// Turns SPDX tag-value into the JSON shape the SPDX reader walks (only the fields it reads).
/// Hand-written: no maintained Rust crate parses SPDX 2.3 tag-value (spdx-rs is stale), and the
/// format is `Tag: value` lines with `<text>…</text>` blocks.
fn tag_value_to_json(text: &str) -> Map<String, Value> {
    let mut doc = Map::new();
    let mut creators = Vec::new();
    let mut created = None;
    let mut packages: Vec<Map<String, Value>> = Vec::new();
    let mut relationships = Vec::new();
    let mut in_package = false;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_end_matches('\r');
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some((tag, value)) = line.split_once(':') else { continue };
        let tag = tag.trim();
        let mut value = value.trim().to_string();
        if let Some(rest) = value.strip_prefix("<text>") {
            let mut block = rest.to_string();
            while !block.contains("</text>") {
                let Some(next) = lines.next() else { break };
                block.push('\n');
                block.push_str(next);
            }
            value = block.split("</text>").next().unwrap_or_default().trim().to_string();
        }
        let set = |m: &mut Map<String, Value>, k: &str, v: String| {
            m.entry(k.to_string()).or_insert(Value::String(v));
        };
        match tag {
            "SPDXVersion" => set(&mut doc, "spdxVersion", value.clone()),
            "DocumentName" => set(&mut doc, "name", value.clone()),
            "Creator" => creators.push(Value::String(value.clone())),
            "Created" => created = Some(value.clone()),
            "Relationship" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                if let [from, kind, to] = parts.as_slice() {
                    let mut r = Map::new();
                    r.insert("spdxElementId".into(), Value::String((*from).into()));
                    r.insert("relationshipType".into(), Value::String((*kind).into()));
                    r.insert("relatedSpdxElement".into(), Value::String((*to).into()));
                    relationships.push(Value::Object(r));
                }
            }
            "PackageName" => {
                packages.push(Map::new());
                in_package = true;
                if let Some(p) = packages.last_mut() {
                    set(p, "name", value.clone());
                }
            }
            "FileName" | "SnippetSPDXID" | "LicenseID" => in_package = false,
            _ => {}
        }
        let Some(p) = packages.last_mut().filter(|_| in_package) else { continue };
        match tag {
            "SPDXID" => set(p, "SPDXID", value),
            "PackageVersion" => set(p, "versionInfo", value),
            "PackageLicenseDeclared" => set(p, "licenseDeclared", value),
            "PackageLicenseConcluded" => set(p, "licenseConcluded", value),
            "PackageSourceInfo" => set(p, "sourceInfo", value),
            "PrimaryPackagePurpose" => set(p, "primaryPackagePurpose", value),
            "ExternalRef" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                if let [category, kind, locator, ..] = parts.as_slice() {
                    let mut r = Map::new();
                    r.insert("referenceCategory".into(), Value::String((*category).into()));
                    r.insert("referenceType".into(), Value::String((*kind).into()));
                    r.insert("referenceLocator".into(), Value::String((*locator).into()));
                    if let Value::Array(refs) = p.entry("externalRefs").or_insert_with(|| Value::Array(Vec::new())) {
                        refs.push(Value::Object(r));
                    }
                }
            }
            _ => {}
        }
    }
    let mut info = Map::new();
    info.insert("creators".into(), Value::Array(creators));
    if let Some(c) = created {
        info.insert("created".into(), Value::String(c));
    }
    doc.insert("creationInfo".into(), Value::Object(info));
    doc.insert("packages".into(), Value::Array(packages.into_iter().map(Value::Object).collect()));
    doc.insert("relationships".into(), Value::Array(relationships));
    doc
}
