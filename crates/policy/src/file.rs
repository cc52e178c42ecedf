//! The policy file (TOML): rules, each with an id, a check, an action and an optional scope, and
//! exceptions with an owner, a reason and an expiry date. Reference: docs/policy.md.
//!
//! Parsed in two steps: serde reads the file into flat tables (unknown keys are errors with their
//! line and column), then each rule's parameters are checked against its `check` (a parameter
//! another check takes is an error at its own line and column).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pare_vuln::Severity;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use toml::Spanned;

use crate::error::{Error, Result};
use crate::verdict::Action;

/// The largest policy file read.
pub const MAX_POLICY_SIZE: usize = 1 << 20;

/// A parsed policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Where it was read from (for messages).
    pub file: String,
    pub name: Option<String>,
    pub rules: Vec<Rule>,
    pub exceptions: Vec<Exception>,
    /// `sha256:<hex>` of the file's bytes: what a verification summary names.
    pub digest: String,
}

/// One rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub action: Action,
    pub scope: Scope,
    pub check: Check,
    /// Where the rule starts in the file (1-based line).
    pub line: usize,
}

/// Where a rule applies: all lists given must match; an empty list matches everything.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Kubernetes namespaces (glob patterns: `prod-*`).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Image references as written (glob patterns: `registry.example.com/team/*`).
    #[serde(default)]
    pub images: Vec<String>,
}

impl Scope {
    /// Whether the scope covers an image named `reference`, in `namespace` when known. A rule
    /// scoped to namespaces applies where no namespace is known (CI), so CI is not laxer than
    /// admission.
    pub fn covers(&self, reference: &str, namespace: Option<&str>) -> bool {
        let namespace_ok = match namespace {
            Some(ns) => self.namespaces.is_empty() || self.namespaces.iter().any(|p| glob_match(p, ns)),
            None => true,
        };
        let image_ok = self.images.is_empty() || self.images.iter().any(|p| glob_match(p, reference));
        namespace_ok && image_ok
    }
}

/// Glob matching with `*` (any run of characters, `/` included) and `?` (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    pare_oci::wildcard_match(pattern, text)
}

/// What a rule checks, with its parameters.
#[derive(Clone, Debug)]
pub enum Check {
    /// Open findings (after VEX) at or above `fail_on`; with `only_fixable`, only those with a fix.
    /// Findings of unknown severity count unless `allow_unknown` (fail closed, as `scan --fail-on`).
    Vulnerabilities { fail_on: Severity, only_fixable: bool, allow_unknown: bool },
    /// None of these kinds of content in the image.
    ForbiddenContents { forbid: BTreeSet<Content> },
    /// The image's user is not root (not empty, not `root`, not uid 0).
    NonRootUser,
    /// The image is named by digest (`@sha256:…`), not only by tag.
    DigestPinned,
    /// Every ELF program and library loads (interpreter, libraries, symbol versions).
    BinariesLoad,
    /// A signature that verifies with one of the keys or keyless identities.
    Signature { trust: Vec<TrustSpec> },
    /// An attestation of each predicate type that verifies with one of the keys or identities.
    Attestations { require: Vec<String>, trust: Vec<TrustSpec> },
    /// The base image is one of `digests`, or (with `pare_built`) the image has a verified SLSA
    /// provenance from pare's builder.
    AllowedBase { digests: Vec<String>, pare_built: bool, trust: Vec<TrustSpec> },
    /// The image was created at most `max_days` ago.
    MaxAge { max_days: u32 },
    /// The base the image names has had no newer digest for more than `max_days`.
    BaseStaleness { max_days: u32 },
}

impl Check {
    pub fn name(&self) -> &'static str {
        match self {
            Check::Vulnerabilities { .. } => "vulnerabilities",
            Check::ForbiddenContents { .. } => "forbidden-contents",
            Check::NonRootUser => "non-root-user",
            Check::DigestPinned => "digest-pinned",
            Check::BinariesLoad => "binaries-load",
            Check::Signature { .. } => "signature",
            Check::Attestations { .. } => "attestations",
            Check::AllowedBase { .. } => "allowed-base",
            Check::MaxAge { .. } => "max-age",
            Check::BaseStaleness { .. } => "base-staleness",
        }
    }
}

const CHECKS: &str = "vulnerabilities, forbidden-contents, non-root-user, digest-pinned, binaries-load, signature, \
                      attestations, allowed-base, max-age, base-staleness";

/// Kinds of content a runtime image should not carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Content {
    Shell,
    PackageManager,
    Compiler,
    Downloader,
    Setuid,
    WorldWritable,
}

impl Content {
    pub const ALL: [Content; 6] = [
        Content::Shell,
        Content::PackageManager,
        Content::Compiler,
        Content::Downloader,
        Content::Setuid,
        Content::WorldWritable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Content::Shell => "shell",
            Content::PackageManager => "package-manager",
            Content::Compiler => "compiler",
            Content::Downloader => "downloader",
            Content::Setuid => "setuid",
            Content::WorldWritable => "world-writable",
        }
    }
}

/// A key (PEM file) or a keyless identity signatures are checked with.
#[derive(Clone, Debug)]
pub enum TrustSpec {
    Key { path: PathBuf, key: pare_sign::PublicKey },
    Identity { identity: String, issuer: String },
}

/// An exception: failures of `rule` on matching images (and, for a vulnerability rule, only the
/// listed findings) become warnings until `expires`; after it, the exception is a failure itself.
#[derive(Clone, Debug)]
pub struct Exception {
    pub rule: String,
    pub images: Vec<String>,
    pub findings: Vec<String>,
    pub owner: String,
    pub reason: String,
    pub expires: jiff::civil::Date,
    pub line: usize,
}

impl Exception {
    pub fn covers_image(&self, reference: &str) -> bool {
        self.images.is_empty() || self.images.iter().any(|p| glob_match(p, reference))
    }

    /// Expired on `today`: the expiry date is the last day it holds.
    pub fn expired(&self, today: jiff::civil::Date) -> bool {
        today > self.expires
    }
}

// The file as serde reads it.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    policy: Option<RawHeader>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    exception: Vec<Spanned<RawException>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    check: Spanned<String>,
    #[serde(default)]
    action: Option<Spanned<String>>,
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default)]
    fail_on: Option<Spanned<String>>,
    #[serde(default)]
    only_fixable: Option<Spanned<bool>>,
    #[serde(default)]
    allow_unknown: Option<Spanned<bool>>,
    #[serde(default)]
    forbid: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    keys: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    identities: Option<Spanned<Vec<RawIdentity>>>,
    #[serde(default)]
    require: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    digests: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pare_built: Option<Spanned<bool>>,
    #[serde(default)]
    max_days: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    identity: String,
    issuer: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    rule: Spanned<String>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    findings: Vec<String>,
    owner: String,
    reason: String,
    expires: Spanned<toml::value::Datetime>,
}

impl Policy {
    /// Reads and checks the policy file at `path`; key files it names are read relative to it.
    pub fn load(path: &Path) -> Result<Policy> {
        let bytes = read_limited(path, MAX_POLICY_SIZE)?;
        let file = path.display().to_string();
        let text = String::from_utf8(bytes)
            .map_err(|e| Error::parse(&file, "", 0, format!("not UTF-8 text: {e}"), "save the policy as UTF-8 TOML"))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Policy::parse(&text, &file, &dir)
    }

    /// Parses a policy; `dir` is where relative key paths start.
    pub fn parse(text: &str, file: &str, dir: &Path) -> Result<Policy> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            Error::parse(file, text, offset, e.message().trim(), "see `pare policy init` and docs/policy.md")
        })?;
        let mut ids = BTreeSet::new();
        let mut rules = Vec::new();
        for spanned in raw.rule {
            let start = spanned.span().start;
            let r = spanned.into_inner();
            let err = |offset: usize, message: String, hint: &str| Error::parse(file, text, offset, message, hint);
            if r.id.get_ref().trim().is_empty() {
                return Err(err(r.id.span().start, "the rule's `id` is empty".into(), "give each rule a short id"));
            }
            if !ids.insert(r.id.get_ref().clone()) {
                return Err(err(
                    r.id.span().start,
                    format!("two rules have the id `{}`", r.id.get_ref()),
                    "ids name rules in reports and exceptions: make them unique",
                ));
            }
            let action = match r.action.as_ref().map(|a| (a.get_ref().as_str(), a.span().start)) {
                None | Some(("deny", _)) => Action::Deny,
                Some(("warn", _)) => Action::Warn,
                Some((other, at)) => {
                    return Err(err(at, format!("unknown action `{other}`"), "use `deny` or `warn`"));
                }
            };
            let check = check_of(&r, text, file, dir)?;
            rules.push(Rule {
                id: r.id.into_inner(),
                action,
                scope: r.scope.unwrap_or_default(),
                check,
                line: pare_oci::line_col(text, start).0,
            });
        }
        let mut exceptions = Vec::new();
        for spanned in raw.exception {
            let start = spanned.span().start;
            let e = spanned.into_inner();
            if !ids.contains(e.rule.get_ref()) {
                return Err(Error::parse(
                    file,
                    text,
                    e.rule.span().start,
                    format!("the exception names rule `{}`, which the policy does not have", e.rule.get_ref()),
                    "name the `id` of a rule above",
                ));
            }
            let expires = date_of(&e.expires).ok_or_else(|| {
                Error::parse(
                    file,
                    text,
                    e.expires.span().start,
                    format!("`expires` must be a date, found `{}`", e.expires.get_ref()),
                    "write the date unquoted: expires = 2027-03-31",
                )
            })?;
            for (field, value) in [("owner", &e.owner), ("reason", &e.reason)] {
                if value.trim().is_empty() {
                    return Err(Error::parse(
                        file,
                        text,
                        start,
                        format!("the exception for `{}` has an empty `{field}`", e.rule.get_ref()),
                        "an exception names who owns it and why it exists",
                    ));
                }
            }
            exceptions.push(Exception {
                rule: e.rule.into_inner(),
                images: e.images,
                findings: e.findings,
                owner: e.owner,
                reason: e.reason,
                expires,
                line: pare_oci::line_col(text, start).0,
            });
        }
        Ok(Policy {
            file: file.to_string(),
            name: raw.policy.and_then(|p| p.name),
            rules,
            exceptions,
            digest: format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes()))),
        })
    }
}

fn date_of(value: &Spanned<toml::value::Datetime>) -> Option<jiff::civil::Date> {
    let dt = value.get_ref();
    if dt.time.is_some() || dt.offset.is_some() {
        return None;
    }
    let d = dt.date?;
    jiff::civil::Date::new(i16::try_from(d.year).ok()?, i8::try_from(d.month).ok()?, i8::try_from(d.day).ok()?).ok()
}

fn read_limited(path: &Path, max: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() > max {
        return Err(Error::parse(
            &path.display().to_string(),
            "",
            0,
            format!("the file is larger than {max} bytes"),
            "a policy is a short TOML file",
        ));
    }
    Ok(bytes)
}

/// The rule's check, with each parameter it was given checked to belong to it.
fn check_of(r: &RawRule, text: &str, file: &str, dir: &Path) -> Result<Check> {
    let name = r.check.get_ref().as_str();
    let err = |offset: usize, message: String, hint: &str| Error::parse(file, text, offset, message, hint);
    // Which parameters each check takes.
    let allowed: &[&str] = match name {
        "vulnerabilities" => &["fail_on", "only_fixable", "allow_unknown"],
        "forbidden-contents" => &["forbid"],
        "non-root-user" | "digest-pinned" | "binaries-load" => &[],
        "signature" => &["keys", "identities"],
        "attestations" => &["require", "keys", "identities"],
        "allowed-base" => &["digests", "pare_built", "keys", "identities"],
        "max-age" | "base-staleness" => &["max_days"],
        other => {
            return Err(err(r.check.span().start, format!("unknown check `{other}`"), &format!("checks: {CHECKS}")));
        }
    };
    let given: [(&str, Option<usize>); 10] = [
        ("allow_unknown", r.allow_unknown.as_ref().map(|v| v.span().start)),
        ("fail_on", r.fail_on.as_ref().map(|v| v.span().start)),
        ("only_fixable", r.only_fixable.as_ref().map(|v| v.span().start)),
        ("forbid", r.forbid.as_ref().map(|v| v.span().start)),
        ("keys", r.keys.as_ref().map(|v| v.span().start)),
        ("identities", r.identities.as_ref().map(|v| v.span().start)),
        ("require", r.require.as_ref().map(|v| v.span().start)),
        ("digests", r.digests.as_ref().map(|v| v.span().start)),
        ("pare_built", r.pare_built.as_ref().map(|v| v.span().start)),
        ("max_days", r.max_days.as_ref().map(|v| v.span().start)),
    ];
    for (param, at) in given {
        if let Some(at) = at
            && !allowed.contains(&param)
        {
            let takes = if allowed.is_empty() { "no parameters".to_string() } else { allowed.join(", ") };
            return Err(err(
                at,
                format!("`{param}` does not apply to check `{name}`"),
                &format!("`{name}` takes {takes}"),
            ));
        }
    }
    let missing = |param: &str, example: &str| {
        err(r.check.span().start, format!("check `{name}` needs `{param}`"), &format!("add: {param} = {example}"))
    };
    let trust = || trust_of(r, text, file, dir);
    Ok(match name {
        "vulnerabilities" => {
            let fail_on = match &r.fail_on {
                None => Severity::Critical,
                Some(s) => {
                    s.get_ref().parse::<Severity>().ok().filter(|s| *s != Severity::Unknown).ok_or_else(|| {
                        err(
                            s.span().start,
                            format!("unknown severity `{}`", s.get_ref()),
                            "use critical, high, medium, low or negligible",
                        )
                    })?
                }
            };
            Check::Vulnerabilities {
                fail_on,
                only_fixable: r.only_fixable.as_ref().is_some_and(|b| *b.get_ref()),
                allow_unknown: r.allow_unknown.as_ref().is_some_and(|b| *b.get_ref()),
            }
        }
        "forbidden-contents" => {
            let Some(list) = &r.forbid else { return Err(missing("forbid", r#"["shell", "package-manager"]"#)) };
            let mut forbid = BTreeSet::new();
            for item in list.get_ref() {
                let kind = Content::ALL.into_iter().find(|c| c.as_str() == item.get_ref()).ok_or_else(|| {
                    let all: Vec<_> = Content::ALL.iter().map(|c| c.as_str()).collect();
                    err(item.span().start, format!("unknown content kind `{}`", item.get_ref()), &all.join(", "))
                })?;
                forbid.insert(kind);
            }
            Check::ForbiddenContents { forbid }
        }
        "non-root-user" => Check::NonRootUser,
        "digest-pinned" => Check::DigestPinned,
        "binaries-load" => Check::BinariesLoad,
        "signature" => {
            let trust = trust()?;
            if trust.is_empty() {
                return Err(missing("keys", r#"["cosign.pub"] (or identities = [{ identity = "…", issuer = "…" }])"#));
            }
            Check::Signature { trust }
        }
        "attestations" => {
            let Some(list) = &r.require else { return Err(missing("require", r#"["spdx", "slsaprovenance"]"#)) };
            let mut require = Vec::new();
            for item in list.get_ref() {
                let t = pare_sign::image::predicate_type(item.get_ref()).map_err(|e| {
                    err(item.span().start, e.to_string(), "spdx, cyclonedx, openvex, slsaprovenance, vuln, or a URI")
                })?;
                require.push(t);
            }
            let trust = trust()?;
            if trust.is_empty() {
                return Err(missing("keys", r#"["cosign.pub"]"#));
            }
            Check::Attestations { require, trust }
        }
        "allowed-base" => {
            let mut digests = Vec::new();
            for d in r.digests.as_ref().map(|l| l.get_ref().as_slice()).unwrap_or_default() {
                let parsed: pare_oci::Digest = d.get_ref().parse().map_err(|e: oci_spec::OciSpecError| {
                    err(d.span().start, e.to_string(), "write digests as sha256:<64 hex digits>")
                })?;
                digests.push(parsed.to_string());
            }
            let pare_built = r.pare_built.as_ref().is_some_and(|b| *b.get_ref());
            let trust = trust()?;
            if digests.is_empty() && !pare_built {
                return Err(missing("digests", r#"["sha256:…"] (or pare_built = true)"#));
            }
            if pare_built && trust.is_empty() {
                return Err(missing("keys", r#"["cosign.pub"] (the key pare build --sign used)"#));
            }
            Check::AllowedBase { digests, pare_built, trust }
        }
        "max-age" | "base-staleness" => {
            let Some(days) = &r.max_days else { return Err(missing("max_days", "90")) };
            let max_days = *days.get_ref();
            if name == "max-age" { Check::MaxAge { max_days } } else { Check::BaseStaleness { max_days } }
        }
        _ => unreachable!("every check name is matched above"),
    })
}

fn trust_of(r: &RawRule, text: &str, file: &str, dir: &Path) -> Result<Vec<TrustSpec>> {
    let mut trust = Vec::new();
    for k in r.keys.as_ref().map(|l| l.get_ref().as_slice()).unwrap_or_default() {
        let path = dir.join(k.get_ref());
        let bytes = read_limited(&path, 64 * 1024).map_err(|e| {
            Error::parse(file, text, k.span().start, e.to_string(), "key paths are relative to the policy file")
        })?;
        let key = pare_sign::PublicKey::from_pem(&bytes).map_err(|e| {
            Error::parse(
                file,
                text,
                k.span().start,
                format!("{}: {e}", path.display()),
                "name a public key (PKIX PEM, as cosign.pub)",
            )
        })?;
        trust.push(TrustSpec::Key { path, key });
    }
    for i in r.identities.as_ref().map(|l| l.get_ref().as_slice()).unwrap_or_default() {
        trust.push(TrustSpec::Identity { identity: i.identity.clone(), issuer: i.issuer.clone() });
    }
    Ok(trust)
}

/// A commented starter policy with safe defaults (`pare policy init`).
pub const STARTER: &str = r#"# pare policy: rules every image must pass (`pare policy check IMAGE --policy FILE`).
# Reference: docs/policy.md. Each rule has an `id` (named in reports and exceptions), a `check`,
# an `action` (`deny`, the default, fails the check; `warn` only reports) and an optional
# `scope = { namespaces = ["prod-*"], images = ["registry.example.com/*"] }`.

[policy]
name = "starter"

# No critical vulnerability that has a fix (after VEX statements given with --vex). Findings
# whose severity the data does not give count too, unless allow_unknown = true.
[[rule]]
id = "no-fixable-critical"
check = "vulnerabilities"
fail_on = "critical"
only_fixable = true

# A runtime image has no shell and no package manager.
[[rule]]
id = "no-shell-or-package-manager"
check = "forbidden-contents"
forbid = ["shell", "package-manager"]

# The image runs as a user other than root.
[[rule]]
id = "non-root"
check = "non-root-user"

# Images are named by digest, so what was checked is what runs.
[[rule]]
id = "digest-pinned"
check = "digest-pinned"

# Every program and library finds its loader, libraries and symbol versions.
[[rule]]
id = "binaries-load"
check = "binaries-load"

# More checks: signature (keys = ["cosign.pub"]), attestations (require = ["spdx"]),
# allowed-base (digests = [...] or pare_built = true), max-age and base-staleness (max_days = 30);
# forbid can also name "compiler", "downloader" (curl, wget), "setuid" and "world-writable".

# An exception turns a rule's failures on matching images into warnings until it expires; an
# expired exception is itself a failure.
# [[exception]]
# rule = "no-fixable-critical"
# images = ["registry.example.com/legacy/*"]
# findings = ["CVE-2024-12345"]
# owner = "platform-team@example.com"
# reason = "not reachable: the service never parses untrusted certificates"
# expires = 2027-03-31
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy> {
        Policy::parse(text, "p.toml", Path::new("."))
    }

    fn message(text: &str) -> String {
        match parse(text) {
            Err(e) => e.to_string(),
            Ok(_) => String::from("parsed"),
        }
    }

    #[test]
    fn the_starter_policy_parses() -> Result<()> {
        let policy = parse(STARTER)?;
        let ids: Vec<_> = policy.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["no-fixable-critical", "no-shell-or-package-manager", "non-root", "digest-pinned", "binaries-load"]
        );
        assert!(policy.rules.iter().all(|r| r.action == Action::Deny));
        assert!(policy.digest.starts_with("sha256:"));
        Ok(())
    }

    #[test]
    fn unknown_keys_and_values_name_line_and_column() {
        assert!(
            message("[[rule]]\nid = \"a\"\ncheck = \"non-root-user\"\ncolour = 1\n")
                .starts_with("p.toml:4:1: unknown field `colour`"),
            "{}",
            message("[[rule]]\nid = \"a\"\ncheck = \"non-root-user\"\ncolour = 1\n")
        );
        assert_eq!(message("[[rule]]\nid = \"a\"\ncheck = \"nonroot\"\n"), "p.toml:3:9: unknown check `nonroot`");
        assert_eq!(
            message("[[rule]]\nid = \"a\"\ncheck = \"non-root-user\"\nmax_days = 3\n"),
            "p.toml:4:12: `max_days` does not apply to check `non-root-user`"
        );
        assert_eq!(
            message("[[rule]]\nid = \"a\"\ncheck = \"vulnerabilities\"\nfail_on = \"severe\"\n"),
            "p.toml:4:11: unknown severity `severe`"
        );
        assert_eq!(
            message("[[rule]]\nid = \"a\"\ncheck = \"forbidden-contents\"\nforbid = [\"shell\", \"vim\"]\n"),
            "p.toml:4:20: unknown content kind `vim`"
        );
        assert_eq!(
            message("[[rule]]\nid = \"a\"\ncheck = \"digest-pinned\"\naction = \"block\"\n"),
            "p.toml:4:10: unknown action `block`"
        );
        assert_eq!(
            message("[[rule]]\nid = \"a\"\ncheck = \"max-age\"\n"),
            "p.toml:3:9: check `max-age` needs `max_days`"
        );
        assert_eq!(
            message(
                "[[rule]]\nid = \"a\"\ncheck = \"digest-pinned\"\n[[rule]]\nid = \"a\"\ncheck = \"non-root-user\"\n"
            ),
            "p.toml:5:6: two rules have the id `a`"
        );
    }

    #[test]
    fn exceptions_need_a_known_rule_an_owner_and_a_date() {
        let rule = "[[rule]]\nid = \"a\"\ncheck = \"digest-pinned\"\n";
        assert_eq!(
            message(&format!(
                "{rule}[[exception]]\nrule = \"b\"\nowner = \"o\"\nreason = \"r\"\nexpires = 2027-01-01\n"
            )),
            "p.toml:5:8: the exception names rule `b`, which the policy does not have"
        );
        assert_eq!(
            message(&format!(
                "{rule}[[exception]]\nrule = \"a\"\nowner = \"o\"\nreason = \"r\"\nexpires = 2027-01-01T10:00:00Z\n"
            )),
            "p.toml:8:11: `expires` must be a date, found `2027-01-01T10:00:00Z`"
        );
        assert_eq!(
            message(&format!(
                "{rule}[[exception]]\nrule = \"a\"\nowner = \" \"\nreason = \"r\"\nexpires = 2027-01-01\n"
            )),
            "p.toml:4:1: the exception for `a` has an empty `owner`"
        );
        assert!(
            message(&format!("{rule}[[exception]]\nrule = \"a\"\nreason = \"r\"\nexpires = 2027-01-01\n"))
                .contains("missing field `owner`")
        );
    }

    #[test]
    fn scopes_and_globs() {
        assert!(glob_match("registry.example.com/*", "registry.example.com/team/app:1"));
        assert!(!glob_match("registry.example.com/*", "docker.io/library/debian"));
        assert!(glob_match("prod-?", "prod-1"));
        assert!(!glob_match("prod-?", "prod-12"));
        assert!(glob_match("*", ""));
        let scope = Scope { namespaces: vec!["prod-*".into()], images: vec![] };
        assert!(scope.covers("x", Some("prod-eu")));
        assert!(!scope.covers("x", Some("dev")));
        assert!(scope.covers("x", None));
    }
}
