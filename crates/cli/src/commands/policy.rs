//! `pare policy init` and `pare policy check`: one call to `pare_policy::check_location`, printed.

use std::path::Path;

use anyhow::{Context, Result};
use pare_policy::{Action, Check, Evaluation, Policy, RuleInfo, Verdict};

use crate::ExitStatus;
use crate::args::{DbArg, GlobalArgs, LimitArgs, PlatformArg, PolicyCheckArgs, PolicyFormat};
use crate::context::{image_location, open_db, open_options, parse_platform, read_vex, to_limits};
use crate::output::Printer;

pub(crate) fn init(printer: &Printer, output: Option<&Path>) -> Result<ExitStatus> {
    match output {
        None => printer.out_bytes(pare_policy::STARTER.as_bytes())?,
        Some(path) => {
            if path.exists() {
                return Err(crate::status::hinted(
                    format!("{} exists", path.display()),
                    "remove it first, or print the starter with `pare policy init` and merge by hand",
                ));
            }
            pare_oci::write_atomic(path, pare_policy::STARTER.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            printer.status(&format!("Wrote the starter policy to {}", path.display()));
        }
    }
    Ok(ExitStatus::Success)
}

/// What a check needs besides the image: the policy, the database and VEX when a rule needs them.
pub(crate) struct Loaded {
    pub policy: Policy,
    db: Option<pare_vuln::Database>,
    vex: Vec<pare_vuln::vex::Statement>,
}

/// Reads the policy, and the vulnerability database and VEX documents when a rule needs them.
pub(crate) fn load(printer: &Printer, policy: &Path, db: &DbArg, vex: &[std::path::PathBuf]) -> Result<Loaded> {
    let policy = Policy::load(policy)?;
    let needs_db = policy.rules.iter().any(|r| matches!(r.check, Check::Vulnerabilities { .. }));
    let db = if needs_db { Some(open_db(printer, db)?.0) } else { None };
    Ok(Loaded { policy, db, vex: read_vex(vex, printer)? })
}

/// The evaluation of a loaded policy over the image `src` names.
pub(crate) fn evaluate(
    global: &GlobalArgs,
    printer: &Printer,
    loaded: &Loaded,
    src: &str,
    namespace: Option<&str>,
    platform: &PlatformArg,
    limits: &LimitArgs,
) -> Result<Evaluation> {
    let location = image_location(src)?;
    let options = open_options(global, &location)?;
    let registry = crate::context::registry_options(global)?;
    let resolve = |name: &str| pare_policy::resolve_base(&registry, name);
    let cache = pare_sbom::LayerCache::from_env();
    let cx = context(loaded, Some(&resolve), cache.as_ref(), to_limits(limits))?;
    let platform = parse_platform(platform)?;
    let evaluation =
        pare_policy::check_location(&loaded.policy, src, &location, &options, platform.as_ref(), namespace, &cx)
            .with_context(|| format!("Cannot check `{location}` against {}", loaded.policy.file))?;
    for w in &evaluation.warnings {
        printer.warn(w);
    }
    Ok(evaluation)
}

/// The context of an evaluation: the loaded database and VEX, the time, base resolution, the size
/// limits of what is read from images.
pub(crate) fn context<'a>(
    loaded: &'a Loaded,
    resolve_base: Option<&'a pare_policy::evaluate::ResolveBase<'a>>,
    cache: Option<&'a pare_sbom::LayerCache>,
    limits: pare_oci::fs::Limits,
) -> Result<pare_policy::Context<'a>> {
    Ok(pare_policy::Context {
        lookup: loaded.db.as_ref().map(|d| d as &dyn pare_vuln::Lookup),
        scan: pare_vuln::report::ScanOptions { vex: loaded.vex.clone(), ..Default::default() },
        now: now()?,
        limits,
        cache,
        resolve_base,
    })
}

/// The time rules are evaluated at: SOURCE_DATE_EPOCH, else now (as signatures are dated).
fn now() -> Result<jiff::Timestamp> {
    Ok(jiff::Timestamp::from_second(super::sign::now_seconds()?).unwrap_or(jiff::Timestamp::MAX))
}

pub(crate) fn check(global: &GlobalArgs, printer: &Printer, args: &PolicyCheckArgs) -> Result<ExitStatus> {
    let loaded = load(printer, &args.policy, &args.db, &args.vex)?;
    let evaluation =
        evaluate(global, printer, &loaded, &args.src, args.namespace.as_deref(), &args.platform, &args.limits)?;
    let bytes = render(&loaded.policy, &evaluation.verdict, args.format)?;
    match &args.output {
        Some(path) => {
            pare_oci::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            printer.status(&format!("Wrote the verdict to {}", path.display()));
        }
        None => printer.out_bytes(&bytes)?,
    }
    if args.attest
        && let Some(key) = &args.key
    {
        attest(global, printer, &loaded.policy, &evaluation, &args.src, key)?;
    }
    printer.status(&summary(&loaded.policy, &evaluation.verdict));
    Ok(if evaluation.verdict.denied() { ExitStatus::Failure } else { ExitStatus::Success })
}

/// "policy `starter` (sha256:…): FAILED, 2 denied, 1 warned, 3 passed".
pub(crate) fn summary(policy: &Policy, verdict: &Verdict) -> String {
    format!(
        "policy {} ({}): {}, {} denied, {} warned, {} passed",
        policy.name.as_deref().map_or_else(|| policy.file.clone(), |n| format!("`{n}`")),
        policy.digest,
        if verdict.denied() { "FAILED" } else { "PASSED" },
        verdict.denials().count(),
        verdict.warnings().count(),
        verdict.passed.len()
    )
}

/// One line per failure: action, rule, image, what is wrong, the fix.
pub(crate) fn table(verdict: &Verdict) -> String {
    let esc = pare_oci::escape_control;
    let mut out = String::new();
    for f in verdict.denials().chain(verdict.warnings()) {
        let action = if f.action == Action::Deny { "DENY" } else { "WARN" };
        out.push_str(&format!("{action} {}: {}: {}; fix: {}\n", esc(&f.rule), esc(&f.subject), f.message, f.fix));
    }
    out
}

fn render(policy: &Policy, verdict: &Verdict, format: PolicyFormat) -> Result<Vec<u8>> {
    Ok(match format {
        PolicyFormat::Table => table(verdict).into_bytes(),
        PolicyFormat::Json => {
            let value = serde_json::json!({
                "policy": {"file": policy.file, "name": policy.name, "digest": policy.digest},
                "result": if verdict.denied() { "FAILED" } else { "PASSED" },
                "verdict": verdict,
            });
            let mut bytes = serde_json::to_vec_pretty(&value)?;
            bytes.push(b'\n');
            bytes
        }
        PolicyFormat::Sarif => {
            let rules: Vec<RuleInfo> = policy
                .rules
                .iter()
                .map(|r| RuleInfo { id: r.id.clone(), description: r.check.name().into(), action: r.action })
                .collect();
            let value = pare_policy::verdict::sarif(
                std::slice::from_ref(verdict),
                &rules,
                &policy.file,
                "https://example.invalid/pare/docs/policy.md",
            );
            let mut bytes = serde_json::to_vec_pretty(&value)?;
            bytes.push(b'\n');
            bytes
        }
    })
}

/// Signs the verdict as a VSA and attaches it to the image.
fn attest(
    global: &GlobalArgs,
    printer: &Printer,
    policy: &Policy,
    evaluation: &Evaluation,
    src: &str,
    key: &Path,
) -> Result<()> {
    let (location, subject) = super::sign::resolve(global, printer, src)?;
    let key = super::key::load_signing_key(key)?;
    let resource = match &location {
        pare_oci::Location::Registry(r) => format!("{}/{}@{}", r.registry(), r.repository(), subject.digest()),
        other => format!("{other}@{}", subject.digest()),
    };
    let time = pare_oci::rfc3339(u64::try_from(now()?.as_second()).unwrap_or(0));
    let predicate = pare_policy::vsa::predicate(policy, evaluation, &resource, &time);
    let digest = subject.digest().clone();
    let target = super::sign::target(global, &location, subject)?;
    let mut options = super::sign::sign_options(crate::args::SignatureFormat::Both, &[])?;
    options.annotations.insert(pare_policy::vsa::ANNOTATION_POLICY_DIGEST.into(), policy.digest.clone());
    options.annotations.insert(pare_policy::vsa::ANNOTATION_RESULT.into(), pare_policy::vsa::result(evaluation).into());
    let written = pare_sign::image::attest(&target, &key, pare_policy::vsa::PREDICATE_TYPE, &predicate, &options)
        .with_context(|| format!("Cannot attach the verification summary to `{location}`"))?;
    for w in &written {
        printer.status(&format!(
            "{} the verification summary ({}) as {} {} for {digest}",
            if w.new { "Attached" } else { "Already present:" },
            pare_policy::vsa::result(evaluation),
            w.format,
            w.location
        ));
    }
    Ok(())
}
