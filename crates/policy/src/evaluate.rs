//! `evaluate`: every rule of a policy over one image, as one library call (what `pare policy
//! check`, `pare build --policy` and admission run). The image is cataloged once; its view serves
//! the content, user and loader checks, its inventory the vulnerability check.

use std::collections::BTreeMap;

use pare_oci::fs::{EntryKind, FsView, Limits};
use pare_oci::referrers::ReferrerStore;
use pare_oci::{Digest, Image};
use pare_sbom::LayerCache;
use pare_vuln::report::ScanOptions;
use pare_vuln::{Lookup, Severity};

use crate::error::{Error, Result};
use crate::file::{Check, Content, Policy, Rule, TrustSpec};
use crate::verdict::{Action, Failure, Verdict};

/// The annotations (or labels) naming the image an image was built on.
pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// The image checked.
pub struct Subject<'a> {
    /// How the user (or the pod) named it: `registry/app:1`, `registry/app@sha256:…`, `oci:DIR:tag`.
    pub reference: &'a str,
    /// The digest signatures are about: the root manifest (an index, or the image itself).
    pub digest: &'a Digest,
    /// The image for this platform.
    pub image: &'a Image,
    /// Where its signatures and attestations are (registries and layouts; `None` for archives).
    pub referrers: Option<&'a ReferrerStore>,
    /// The Kubernetes namespace, at admission.
    pub namespace: Option<&'a str>,
}

/// A base image as its registry names it now.
#[derive(Clone, Debug)]
pub struct BaseNow {
    pub digest: String,
    pub created: Option<jiff::Timestamp>,
}

/// Resolves a base image name to what its registry names now, or says why it cannot.
pub type ResolveBase<'a> = dyn Fn(&str) -> std::result::Result<BaseNow, String> + 'a;

/// What the checks use besides the image.
pub struct Context<'a> {
    /// The vulnerability database (needed by `vulnerabilities` rules).
    pub lookup: Option<&'a dyn Lookup>,
    /// How the scan runs (VEX statements, the release to match).
    pub scan: ScanOptions,
    /// The time rules are evaluated at (image age, exception expiry).
    pub now: jiff::Timestamp,
    pub limits: Limits,
    pub cache: Option<&'a LayerCache>,
    /// Resolves a base image name to its current digest (`base-staleness`); `None` offline.
    pub resolve_base: Option<&'a ResolveBase<'a>>,
}

/// What an evaluation found besides the verdict: the scan it ran, what was verified.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    pub verdict: Verdict,
    /// The scan, when a rule needed one.
    pub scan: Option<pare_vuln::report::Report>,
    /// Signatures and attestations that verified (location and predicate type), as evidence.
    pub verified: Vec<pare_sign::image::Verified>,
    pub warnings: Vec<String>,
}

/// The image's files and inventory, cataloged on the first call (its warnings added to `warnings`).
fn read_once<'s>(
    slot: &'s mut Option<(FsView, pare_sbom::Inventory)>,
    subject: &Subject<'_>,
    cx: &Context<'_>,
    warnings: &mut Vec<String>,
) -> Result<&'s (FsView, pare_sbom::Inventory)> {
    let read = match slot.take() {
        Some(read) => read,
        None => {
            let (view, catalog) = pare_sbom::catalog_image(subject.image, &cx.limits, subject.reference, cx.cache)?;
            warnings.extend(view.warnings().iter().cloned());
            warnings.extend(catalog.warnings);
            (view, catalog.inventory)
        }
    };
    Ok(slot.insert(read))
}

/// Evaluates every rule of `policy` that covers `subject`, then applies the exceptions.
pub fn evaluate(policy: &Policy, subject: &Subject<'_>, cx: &Context<'_>) -> Result<Evaluation> {
    let mut out = Evaluation { verdict: Verdict::new(subject.reference), ..Evaluation::default() };
    let rules: Vec<&Rule> =
        policy.rules.iter().filter(|r| r.scope.covers(subject.reference, subject.namespace)).collect();
    // The image's files and inventory: read once, by the first rule that needs them.
    let mut cataloged: Option<(FsView, pare_sbom::Inventory)> = None;
    let annotations = annotations(subject.image)?;
    for rule in rules {
        let failures = match &rule.check {
            Check::Vulnerabilities { fail_on, only_fixable, allow_unknown } => {
                let (view, inventory) = read_once(&mut cataloged, subject, cx, &mut out.warnings)?;
                let lookup = cx.lookup.ok_or_else(|| Error::Missing {
                    rule: rule.id.clone(),
                    what: "a vulnerability database".into(),
                    hint: "run `pare db update`, or pass --db PATH".into(),
                })?;
                let scanned =
                    pare_vuln::Subject::Viewed { image: subject.image, view, inventory: Box::new(inventory.clone()) };
                let report = pare_vuln::scan(scanned, lookup, &cx.scan)?;
                let counted = Counted { fail_on: *fail_on, only_fixable: *only_fixable, allow_unknown: *allow_unknown };
                let failures = vulnerabilities(rule, subject.reference, &report, counted);
                out.warnings.extend(report.warnings.iter().cloned());
                out.scan = Some(report);
                failures
            }
            Check::ForbiddenContents { forbid } => {
                let (view, _) = read_once(&mut cataloged, subject, cx, &mut out.warnings)?;
                forbidden(rule, subject.reference, view, forbid)
            }
            Check::NonRootUser => {
                non_root(rule, subject, &read_once(&mut cataloged, subject, cx, &mut out.warnings)?.0)?
            }
            Check::BinariesLoad => {
                binaries(rule, subject, &read_once(&mut cataloged, subject, cx, &mut out.warnings)?.0)?
            }
            Check::DigestPinned => pinned(rule, subject),
            Check::Signature { trust } => {
                let (fails, verified) = signed(rule, subject, trust, &[None])?;
                out.verified.extend(verified);
                fails
            }
            Check::Attestations { require, trust } => {
                let wanted: Vec<Option<&str>> = require.iter().map(|t| Some(t.as_str())).collect();
                let (fails, verified) = signed(rule, subject, trust, &wanted)?;
                out.verified.extend(verified);
                fails
            }
            Check::AllowedBase { digests, pare_built, trust } => {
                let (fails, verified) = allowed_base(rule, subject, &annotations, digests, *pare_built, trust)?;
                out.verified.extend(verified);
                fails
            }
            Check::MaxAge { max_days } => max_age(rule, subject, cx.now, *max_days)?,
            Check::BaseStaleness { max_days } => base_staleness(rule, subject, &annotations, cx, *max_days),
        };
        if failures.is_empty() {
            out.verdict.passed.push(rule.id.clone());
        }
        out.verdict.failures.extend(failures);
    }
    apply_exceptions(policy, subject.reference, cx.now, &mut out.verdict);
    Ok(out)
}

fn failure(rule: &Rule, subject: &str, message: String, evidence: Vec<String>, fix: impl Into<String>) -> Failure {
    Failure {
        rule: rule.id.clone(),
        action: rule.action,
        subject: subject.to_string(),
        message,
        evidence,
        fix: fix.into(),
        location: None,
    }
}

/// Which findings a vulnerability rule counts.
#[derive(Clone, Copy)]
struct Counted {
    fail_on: Severity,
    only_fixable: bool,
    allow_unknown: bool,
}

/// One failure per open finding the rule counts.
fn vulnerabilities(rule: &Rule, reference: &str, report: &pare_vuln::report::Report, counted: Counted) -> Vec<Failure> {
    let esc = pare_oci::escape_control;
    let gate = pare_vuln::report::Gate { fail_on: counted.fail_on, allow_unknown: counted.allow_unknown };
    report
        .failing(gate)
        .into_iter()
        .filter(|f| !counted.only_fixable || f.has_fix())
        .map(|f| {
            let fixed = if f.fixed_versions.is_empty() {
                String::from(", no fix yet")
            } else {
                format!(", fixed in {}", f.fixed_versions.iter().map(|v| esc(v)).collect::<Vec<_>>().join(", "))
            };
            let fix = if f.has_fix() {
                format!(
                    "rebuild with {} {} or later, or add a VEX statement if it is not exploitable",
                    esc(&f.package.name),
                    esc(&f.fixed_versions[0])
                )
            } else {
                "add a VEX statement if it is not exploitable, or an exception with an owner and an expiry date".into()
            };
            failure(
                rule,
                reference,
                format!("{} in {} {}{fixed}", severity_and_id(f), esc(&f.package.name), esc(&f.package.version)),
                vec![f.id.clone(), format!("{} {}", f.package.name, f.package.version)],
                fix,
            )
        })
        .collect()
}

/// "critical CVE-2024-1", or "CVE-2024-1 of unknown severity".
fn severity_and_id(f: &pare_vuln::matcher::Finding) -> String {
    let id = pare_oci::escape_control(&f.id);
    if f.severity == Severity::Unknown { format!("{id} of unknown severity") } else { format!("{} {id}", f.severity) }
}

/// Names (after a target triplet prefix and a version suffix) of each kind of content.
fn content_kind(name: &str) -> Option<Content> {
    const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "busybox"];
    const PACKAGE_MANAGERS: &[&str] =
        &["dpkg", "apt", "apt-get", "aptitude", "apk", "rpm", "yum", "dnf", "microdnf", "zypper", "pip", "pip3", "npm"];
    const COMPILERS: &[&str] = &["cc", "c++", "gcc", "g++", "clang", "clang++", "rustc", "go", "javac", "tcc"];
    const DOWNLOADERS: &[&str] = &["curl", "wget"];
    // x86_64-linux-gnu-gcc-12 → gcc; python3.11 stays (not a kind).
    let base = name.rsplit_once("-linux-gnu-").map_or(name, |(_, n)| n);
    let base = match base.rsplit_once('-') {
        Some((stem, version)) if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') => stem,
        _ => base,
    };
    [
        (SHELLS, Content::Shell),
        (PACKAGE_MANAGERS, Content::PackageManager),
        (COMPILERS, Content::Compiler),
        (DOWNLOADERS, Content::Downloader),
    ]
    .into_iter()
    .find(|(names, _)| names.contains(&base))
    .map(|(_, kind)| kind)
}

const BIN_DIRS: &[&str] = &["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];

fn forbidden(
    rule: &Rule,
    reference: &str,
    view: &FsView,
    forbid: &std::collections::BTreeSet<Content>,
) -> Vec<Failure> {
    let mut found: BTreeMap<Content, Vec<String>> = BTreeMap::new();
    for entry in view.entries() {
        let dir = entry.path.rsplit_once('/').map_or("", |(d, _)| if d.is_empty() { "/" } else { d });
        let is_program = matches!(entry.kind, EntryKind::File | EntryKind::Hardlink | EntryKind::Symlink);
        if is_program
            && BIN_DIRS.contains(&dir)
            && let Some(kind) = content_kind(entry.name())
        {
            found.entry(kind).or_default().push(entry.path.clone());
        }
        if matches!(entry.kind, EntryKind::File | EntryKind::Hardlink) && entry.mode & 0o6000 != 0 {
            found.entry(Content::Setuid).or_default().push(format!("{} ({:04o})", entry.path, entry.mode & 0o7777));
        }
        let sticky_dir = entry.is_dir() && entry.mode & 0o1000 != 0;
        if entry.kind != EntryKind::Symlink && entry.mode & 0o002 != 0 && !sticky_dir {
            found.entry(Content::WorldWritable).or_default().push(format!(
                "{} ({:04o})",
                entry.path,
                entry.mode & 0o7777
            ));
        }
    }
    let esc = pare_oci::escape_control;
    forbid
        .iter()
        .filter_map(|kind| found.get(kind).map(|paths| (kind, paths)))
        .map(|(kind, paths)| {
            let (what, fix) = match kind {
                Content::Shell => (
                    "a shell",
                    "build on a gallery image without a shell (static, base, cc), or leave the shell's package out",
                ),
                Content::PackageManager => (
                    "a package manager",
                    "install packages at build time; leave the package manager out of the runtime image",
                ),
                Content::Compiler => {
                    ("a compiler", "compile in a build stage and copy only the program into the runtime image")
                }
                Content::Downloader => {
                    ("a downloader", "fetch files at build time; leave curl and wget out of the runtime image")
                }
                Content::Setuid => {
                    ("setuid/setgid files", "drop the setuid/setgid bits (pare build does unless --keep-setid)")
                }
                Content::WorldWritable => {
                    ("world-writable files", "remove write permission for others, or use a sticky directory")
                }
            };
            let shown: Vec<String> = paths.iter().take(5).map(|p| esc(p).into_owned()).collect();
            let more = if paths.len() > 5 { format!(" and {} more", paths.len() - 5) } else { String::new() };
            failure(rule, reference, format!("{what} in the image: {}{more}", shown.join(", ")), paths.clone(), fix)
        })
        .collect()
}

fn non_root(rule: &Rule, subject: &Subject<'_>, view: &FsView) -> Result<Vec<Failure>> {
    let config = subject.image.config()?;
    let user = config.config().as_ref().and_then(|c| c.user().clone()).unwrap_or_default();
    let name = user.split(':').next().unwrap_or_default().to_string();
    let fix = "set a non-root user: pare build's default user (uid 65532), or USER 65532 in a Dockerfile";
    let root = |why: String| Ok(vec![failure(rule, subject.reference, why, vec![format!("user={user}")], fix)]);
    if name.is_empty() {
        return root("the image runs as root: its configuration names no user".into());
    }
    if name == "root" || name.parse::<u64>() == Ok(0) {
        return root(format!("the image runs as root: its user is `{}`", pare_oci::escape_control(&user)));
    }
    if name.parse::<u64>().is_ok() {
        return Ok(Vec::new());
    }
    // A name: its uid comes from the image's /etc/passwd.
    let passwd = match view.resolve("/etc/passwd") {
        Ok(entry) if entry.is_file() => view.read(subject.image, &entry.path.clone()).unwrap_or_default(),
        _ => Vec::new(),
    };
    let text = String::from_utf8_lossy(&passwd);
    let uid = text
        .lines()
        .filter_map(|l| {
            let mut fields = l.split(':');
            (fields.next() == Some(name.as_str())).then(|| fields.nth(1).and_then(|u| u.parse::<u64>().ok()))?
        })
        .next();
    match uid {
        Some(0) => {
            root(format!("the image runs as root: user `{}` has uid 0 in /etc/passwd", pare_oci::escape_control(&name)))
        }
        Some(_) => Ok(Vec::new()),
        None => Ok(vec![failure(
            rule,
            subject.reference,
            format!(
                "the image's user `{}` is not in its /etc/passwd: the runtime cannot start it",
                pare_oci::escape_control(&name)
            ),
            vec![format!("user={user}")],
            "name the user by number (65532), or add it to /etc/passwd",
        )]),
    }
}

fn binaries(rule: &Rule, subject: &Subject<'_>, view: &FsView) -> Result<Vec<Failure>> {
    let binaries = crate::loader::read_binaries(subject.image, view)?;
    let report = crate::loader::check(view, &binaries, None);
    let mut failures = Vec::new();
    for checked in &report.checked {
        let fatal: Vec<String> = checked.problems.iter().filter(|p| p.is_fatal()).map(ToString::to_string).collect();
        if fatal.is_empty() {
            continue;
        }
        let fix = match checked.problems.iter().find_map(crate::loader::gallery_hint) {
            Some(hint) => hint.to_string(),
            None => {
                "add the missing files to the image (their Debian packages), or build the program for this base".into()
            }
        };
        failures.push(failure(
            rule,
            subject.reference,
            format!("{} would not load: {}", pare_oci::escape_control(&checked.path), fatal.join("; ")),
            vec![checked.path.clone()],
            fix,
        ));
    }
    Ok(failures)
}

fn pinned(rule: &Rule, subject: &Subject<'_>) -> Vec<Failure> {
    if subject.reference.contains("@sha256:") || subject.reference.contains("@sha512:") {
        return Vec::new();
    }
    vec![failure(
        rule,
        subject.reference,
        format!("`{}` is named by tag, not by digest", pare_oci::escape_control(subject.reference)),
        vec![subject.digest.to_string()],
        format!("name it by digest: …@{}", subject.digest),
    )]
}

fn to_trust(spec: &TrustSpec) -> Result<pare_sign::Trust> {
    Ok(match spec {
        TrustSpec::Key { key, .. } => pare_sign::Trust::Key(key.clone()),
        TrustSpec::Identity { identity, issuer } => pare_sign::Trust::Identity {
            identity: identity.clone(),
            issuer: issuer.clone(),
            trusted_root: pare_sign::TrustedRoot::public_good()?,
        },
    })
}

fn describe(spec: &TrustSpec) -> String {
    match spec {
        TrustSpec::Key { path, .. } => format!("key {}", path.display()),
        TrustSpec::Identity { identity, issuer } => format!("identity {identity} ({issuer})"),
    }
}

/// A signature (`None`) or an attestation of each type in `wanted` that verifies with one of `trust`.
fn signed(
    rule: &Rule,
    subject: &Subject<'_>,
    trust: &[TrustSpec],
    wanted: &[Option<&str>],
) -> Result<(Vec<Failure>, Vec<pare_sign::image::Verified>)> {
    let Some(store) = subject.referrers else {
        let fail = failure(
            rule,
            subject.reference,
            format!("`{}` cannot hold signatures (an archive): nothing to verify", subject.reference),
            vec![],
            "check the image in its registry or an oci:DIR layout",
        );
        return Ok((vec![fail], Vec::new()));
    };
    let mut failures = Vec::new();
    let mut verified = Vec::new();
    for want in wanted {
        let expect = match want {
            None => pare_sign::image::Expect::Signature,
            Some(t) => pare_sign::image::Expect::Attestation((*t).to_string()),
        };
        let mut reasons = Vec::new();
        let mut ok = false;
        let mut none_found = true;
        for spec in trust {
            let v = pare_sign::image::verify(store, subject.digest, &to_trust(spec)?, &expect)?;
            if v.ok() {
                ok = true;
                verified.extend(v.verified);
                break;
            }
            none_found &= v.refused.iter().all(|r| r.reason == pare_sign::image::Reason::NoSignature);
            let why: Vec<String> = v.refused.iter().map(ToString::to_string).collect();
            reasons.push(format!("{}: {}", describe(spec), why.join("; ")));
        }
        if !ok {
            let (what, fix) = match want {
                None => {
                    ("no signature verifies".to_string(), format!("sign it: pare sign {} --key KEY", subject.reference))
                }
                Some(t) => (
                    format!("no {t} attestation verifies"),
                    format!("attest it: pare attest {} --key KEY --type {t} --predicate FILE", subject.reference),
                ),
            };
            let message = if none_found {
                format!("{what}: the image is not signed")
            } else {
                format!("{what}: {}", reasons.join(" | "))
            };
            failures.push(failure(rule, subject.reference, message, reasons, fix));
        }
    }
    Ok((failures, verified))
}

/// The image's manifest annotations, then its configuration's labels (for annotations missing).
pub fn annotations(image: &Image) -> Result<BTreeMap<String, String>> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    if let Ok(config) = image.config()
        && let Some(labels) = config.config().as_ref().and_then(|c| c.labels().clone())
    {
        out.extend(labels);
    }
    if let Some(a) = image.manifest().annotations() {
        out.extend(a.clone());
    }
    Ok(out)
}

fn allowed_base(
    rule: &Rule,
    subject: &Subject<'_>,
    annotations: &BTreeMap<String, String>,
    digests: &[String],
    pare_built: bool,
    trust: &[TrustSpec],
) -> Result<(Vec<Failure>, Vec<pare_sign::image::Verified>)> {
    let base = annotations.get(BASE_DIGEST);
    if let Some(base) = base
        && digests.contains(base)
    {
        return Ok((Vec::new(), Vec::new()));
    }
    // An image of the golden catalog itself.
    if digests.contains(&subject.digest.to_string()) || digests.contains(&subject.image.digest().to_string()) {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut evidence = Vec::new();
    if pare_built {
        let (fails, verified) = signed(rule, subject, trust, &[Some("https://slsa.dev/provenance/v1")])?;
        if fails.is_empty() && base.is_none() {
            // Built by pare from the archive, with signed provenance: no other base.
            return Ok((Vec::new(), verified));
        }
        evidence.extend(fails.into_iter().map(|f| f.message));
    }
    let message = match (base, annotations.get(BASE_NAME)) {
        (Some(d), Some(name)) => format!("its base {} ({d}) is not an allowed base", pare_oci::escape_control(name)),
        (Some(d), None) => format!("its base {d} is not an allowed base"),
        (None, _) if pare_built => "it names no base and has no verified pare provenance".to_string(),
        (None, _) => {
            format!("it names no base ({BASE_DIGEST} is not set), so it cannot be shown to use an allowed one")
        }
    };
    let fix = if pare_built {
        "build it with `pare build --sign --key KEY` on an allowed base"
    } else {
        "rebuild it on one of the allowed bases (pare build records the base in its annotations)"
    };
    Ok((vec![failure(rule, subject.reference, message, evidence, fix)], Vec::new()))
}

fn created(image: &Image) -> Result<Option<jiff::Timestamp>> {
    let config = image.config()?;
    Ok(config.created().as_ref().and_then(|c| c.parse::<jiff::Timestamp>().ok()))
}

fn days_between(from: jiff::Timestamp, to: jiff::Timestamp) -> i64 {
    (to.as_second() - from.as_second()).div_euclid(86_400)
}

fn max_age(rule: &Rule, subject: &Subject<'_>, now: jiff::Timestamp, max_days: u32) -> Result<Vec<Failure>> {
    let Some(created) = created(subject.image)? else {
        return Ok(vec![failure(
            rule,
            subject.reference,
            "the image's configuration has no creation time, so its age is unknown".into(),
            vec![],
            "rebuild it with a tool that records `created` (pare build does)",
        )]);
    };
    let age = days_between(created, now);
    if age <= i64::from(max_days) {
        return Ok(Vec::new());
    }
    Ok(vec![failure(
        rule,
        subject.reference,
        format!("the image is {age} days old (created {created}), more than {max_days}"),
        vec![format!("created={created}")],
        "rebuild it: pare build picks up the archive's current packages",
    )])
}

fn base_staleness(
    rule: &Rule,
    subject: &Subject<'_>,
    annotations: &BTreeMap<String, String>,
    cx: &Context<'_>,
    max_days: u32,
) -> Vec<Failure> {
    let (Some(name), Some(pinned)) = (annotations.get(BASE_NAME), annotations.get(BASE_DIGEST)) else {
        // Built from packages, not on a base image: nothing to go stale.
        return Vec::new();
    };
    let esc = pare_oci::escape_control;
    let unknown = |why: String| {
        vec![failure(
            rule,
            subject.reference,
            format!("cannot tell whether base {} is stale: {why}", esc(name)),
            vec![format!("{name}@{pinned}")],
            "check with access to the base's registry",
        )]
    };
    let Some(resolve) = cx.resolve_base else { return unknown("no registry access was given".into()) };
    let now = match resolve(name) {
        Ok(now) => now,
        Err(e) => return unknown(e),
    };
    if &now.digest == pinned {
        return Vec::new();
    }
    let Some(created) = now.created else {
        return unknown(format!("its newer digest {} has no creation time", now.digest));
    };
    let days = days_between(created, cx.now);
    if days <= i64::from(max_days) {
        return Vec::new();
    }
    vec![failure(
        rule,
        subject.reference,
        format!(
            "base {} has a newer digest {} (created {created}, {days} days ago, more than {max_days}); the image uses {pinned}",
            esc(name),
            now.digest
        ),
        vec![format!("{name}@{pinned}"), format!("{name}@{}", now.digest)],
        format!("rebuild on {}@{}", esc(name), now.digest),
    )]
}

/// Failures an exception covers become warnings naming it; an expired exception that covers the
/// image is a failure of its own (and covers nothing).
fn apply_exceptions(policy: &Policy, reference: &str, now: jiff::Timestamp, verdict: &mut Verdict) {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut expired = Vec::new();
    for exception in policy.exceptions.iter().filter(|e| e.covers_image(reference)) {
        if exception.expired(today) {
            expired.push(Failure {
                rule: exception.rule.clone(),
                action: Action::Deny,
                subject: reference.to_string(),
                message: format!(
                    "the exception for rule `{}` (owner {}, {}) expired on {}",
                    exception.rule, exception.owner, exception.reason, exception.expires
                ),
                evidence: vec![format!("{}:{}", policy.file, exception.line)],
                fix: "fix what it excepted, or renew it with a new expiry date and a reason".into(),
                location: None,
            });
            continue;
        }
        for f in verdict.failures.iter_mut().filter(|f| f.rule == exception.rule && f.action == Action::Deny) {
            if !exception.findings.is_empty() && !f.evidence.iter().any(|e| exception.findings.contains(e)) {
                continue;
            }
            f.action = Action::Warn;
            f.message = format!(
                "{} (excepted until {} by {}: {})",
                f.message, exception.expires, exception.owner, exception.reason
            );
        }
    }
    verdict.failures.extend(expired);
}

/// Opens the image at `location` (the platform's image of an index), finds where its signatures
/// are, and evaluates `policy` over it: the call `pare policy check` and admission make.
pub fn check_location(
    policy: &Policy,
    reference: &str,
    location: &pare_oci::Location,
    options: &pare_oci::OpenOptions,
    platform: Option<&pare_oci::Platform>,
    namespace: Option<&str>,
    cx: &Context<'_>,
) -> Result<Evaluation> {
    let opened = location.open(options)?;
    let root = pare_oci::Root::open(opened.source)?;
    let digest = root.descriptor().digest().clone();
    let image = root.image(platform)?;
    let referrers = location.referrer_store(options)?;
    let subject = Subject { reference, digest: &digest, image: &image, referrers: referrers.as_ref(), namespace };
    let mut evaluation = evaluate(policy, &subject, cx)?;
    let mut warnings = opened.warnings;
    warnings.append(&mut evaluation.warnings);
    evaluation.warnings = warnings;
    Ok(evaluation)
}

/// Resolves a base image name to its current digest and creation time through `options`'
/// registry client (`base-staleness`).
pub fn resolve_base(options: &pare_oci::OpenOptions, name: &str) -> std::result::Result<BaseNow, String> {
    let location = pare_oci::Location::parse_source(name).map_err(|e| e.to_string())?;
    let opened = location.open(options).map_err(|e| e.to_string())?;
    let root = pare_oci::Root::open(opened.source).map_err(|e| e.to_string())?;
    let digest = root.descriptor().digest().to_string();
    let image = root.image(None).map_err(|e| e.to_string())?;
    let created = created(&image).map_err(|e| e.to_string())?;
    Ok(BaseNow { digest, created })
}
