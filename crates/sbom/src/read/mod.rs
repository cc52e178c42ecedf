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

mod cyclonedx;
mod spdx;
mod tag_value;

use tag_value::tag_value_to_json;

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
    pub(super) fn warn(&mut self, field: &str, message: impl fmt::Display) {
        self.warnings.push(format!("{}: `{field}`: {message}", self.location));
    }

    pub(super) fn finish(
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

fn is_hex(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit())
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
