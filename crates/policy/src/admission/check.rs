//! From a review to an answer: each image resolved to a digest, its verdict from the cache or
//! from the policy, the answers of all containers put together; the failure policy for what was
//! not checked in time or could not be checked.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use pare_oci::{Digest, Location, OpenOptions, Reference};

use super::cache::TtlCache;
use super::metrics::Metrics;
use super::review::{AdmissionRequest, AdmissionResponse, ContainerImage, Status};
use crate::evaluate::Context;
use crate::file::Policy;
use crate::verdict::Verdict;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What to answer for an image that could not be checked (an error, or no verdict by the deadline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Deny (fail closed), as Kubernetes' `failurePolicy: Fail`.
    Fail,
    /// Allow with a warning (fail open), as `failurePolicy: Ignore`.
    Ignore,
}

impl std::str::FromStr for FailurePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fail" | "Fail" => Ok(FailurePolicy::Fail),
            "ignore" | "Ignore" => Ok(FailurePolicy::Ignore),
            _ => Err(format!("unknown failure policy `{s}` (fail or ignore)")),
        }
    }
}

/// A verdict is about one digest, as the pod names it (the `digest-pinned` rule and scopes read
/// the name) and in one namespace (scopes read it).
type VerdictKey = (Digest, String, String);

/// An image as the pod names it, and the namespace.
type ImageKey = (String, String);

/// What the server checks images with; shared by every request.
pub struct Checker {
    pub policy: Policy,
    pub open: OpenOptions,
    pub lookup: Option<Arc<pare_vuln::Database>>,
    pub scan: pare_vuln::report::ScanOptions,
    pub limits: pare_oci::fs::Limits,
    pub layer_cache: Option<pare_sbom::LayerCache>,
    pub timeout: Duration,
    pub failure_policy: FailurePolicy,
    /// Keys whose verification summaries (VSA) of this very policy, `PASSED`, are trusted in place
    /// of evaluating it again; only the rules that read the pod's image name are evaluated then.
    pub vsa_keys: Vec<pare_sign::PublicKey>,
    pub metrics: Metrics,
    verdicts: TtlCache<VerdictKey, Arc<Verdict>>,
    tags: TtlCache<String, Digest>,
    /// One evaluation at a time per image and namespace: the pods of a new ReplicaSet arrive
    /// together, and the first check fills the cache for the others, which wait for it.
    inflight: Mutex<HashMap<ImageKey, Arc<Mutex<()>>>>,
}

/// The result of checking one image.
enum Checked {
    Verdict(Arc<Verdict>),
    /// Could not be checked: why.
    Error(String),
    TimedOut,
}

impl Checker {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        policy: Policy,
        open: OpenOptions,
        lookup: Option<Arc<pare_vuln::Database>>,
        layer_cache: Option<pare_sbom::LayerCache>,
        timeout: Duration,
        failure_policy: FailurePolicy,
        cache_size: usize,
        cache_ttl: Duration,
    ) -> Checker {
        Checker {
            policy,
            open,
            lookup,
            scan: pare_vuln::report::ScanOptions::default(),
            limits: pare_oci::fs::Limits::default(),
            layer_cache,
            timeout,
            failure_policy,
            vsa_keys: Vec::new(),
            metrics: Metrics::default(),
            verdicts: TtlCache::new(cache_size, cache_ttl),
            tags: TtlCache::new(cache_size, cache_ttl),
            inflight: Mutex::new(HashMap::new()),
        }
    }

    pub fn cached_verdicts(&self) -> usize {
        self.verdicts.len()
    }

    /// The digest an image names, from the name itself or the tag cache (no I/O).
    fn known_digest(&self, reference: &Reference) -> Option<Digest> {
        reference.digest().cloned().or_else(|| self.tags.get(&reference.to_string()))
    }

    /// The cached verdict of `image` in `namespace`, if any (no I/O).
    fn cached(&self, namespace: &str, image: &str) -> Option<Arc<Verdict>> {
        let reference = Reference::parse(image).ok()?;
        let digest = self.known_digest(&reference)?;
        self.verdicts.get(&(digest, image.to_string(), namespace.to_string()))
    }

    /// [`Checker::evaluate`], once at a time per image and namespace; a check that waited for
    /// another takes its verdict from the cache.
    fn evaluate_once(&self, namespace: &str, image: &str) -> crate::Result<Arc<Verdict>> {
        let key = (image.to_string(), namespace.to_string());
        let gate = Arc::clone(lock(&self.inflight).entry(key.clone()).or_default());
        let result = {
            let _turn = lock(&gate);
            match self.cached(namespace, image) {
                Some(verdict) => Ok(verdict),
                None => self.evaluate(namespace, image),
            }
        };
        let mut inflight = lock(&self.inflight);
        if inflight.get(&key).is_some_and(|g| Arc::ptr_eq(g, &gate)) && Arc::strong_count(&gate) == 2 {
            inflight.remove(&key);
        }
        result
    }

    /// Resolves `image` to a digest and evaluates the policy over it (blocking: registry reads).
    fn evaluate(&self, namespace: &str, image: &str) -> crate::Result<Arc<Verdict>> {
        let reference = Reference::parse(image)?;
        let digest = match self.known_digest(&reference) {
            Some(d) => d,
            None => {
                let client = self
                    .open
                    .registry
                    .as_ref()
                    .ok_or_else(|| crate::Error::Admission { message: "no registry client".into(), hint: None })?;
                let desc = client.head_manifest(&reference)?.ok_or_else(|| crate::Error::Admission {
                    message: format!("`{}` is not in its registry", pare_oci::escape_control(image)),
                    hint: Some("push the image, or fix the name in the pod spec".into()),
                })?;
                let digest = desc.digest().clone();
                self.tags.insert(reference.to_string(), digest.clone());
                digest
            }
        };
        let key = (digest.clone(), image.to_string(), namespace.to_string());
        if let Some(verdict) = self.verdicts.get(&key) {
            return Ok(verdict);
        }
        let location = Location::Registry(reference.with_digest(digest));
        let resolve = |name: &str| crate::evaluate::resolve_base(&self.open, name);
        let cx = Context {
            lookup: self.lookup.as_deref().map(|d| d as &dyn pare_vuln::Lookup),
            scan: self.scan.clone(),
            now: jiff::Timestamp::now(),
            limits: self.limits.clone(),
            cache: self.layer_cache.as_ref(),
            resolve_base: Some(&resolve),
        };
        self.metrics.evaluations.fetch_add(1, Relaxed);
        let trusted = self.trusted_summary(&location, key.0.clone())?;
        let policy = match &trusted {
            Some(name_rules) => name_rules,
            None => &self.policy,
        };
        let mut evaluation =
            crate::evaluate::check_location(policy, image, &location, &self.open, None, Some(namespace), &cx)?;
        if trusted.is_some() {
            self.metrics.vsa_trusted.fetch_add(1, Relaxed);
            evaluation.verdict.passed.push("verification-summary".into());
        }
        let verdict = Arc::new(evaluation.verdict);
        self.verdicts.insert(key, verdict.clone());
        Ok(verdict)
    }

    /// When a trusted key signed a `PASSED` verification summary of this policy (its digest) for
    /// `digest`: the policy reduced to the rules the summary cannot have judged for this pod, those
    /// that read the image's name as the pod writes it (`digest-pinned`). `None`: evaluate it all.
    fn trusted_summary(&self, location: &Location, digest: Digest) -> crate::Result<Option<crate::Policy>> {
        if self.vsa_keys.is_empty() {
            return Ok(None);
        }
        let Some(store) = location.referrer_store(&self.open)? else { return Ok(None) };
        let expect = pare_sign::image::Expect::Attestation(crate::vsa::PREDICATE_TYPE.to_string());
        for key in &self.vsa_keys {
            let found = pare_sign::image::verify(&store, &digest, &pare_sign::Trust::Key(key.clone()), &expect)?;
            let passed = found.verified.iter().any(|v| {
                v.annotations.get(crate::vsa::ANNOTATION_POLICY_DIGEST) == Some(&self.policy.digest)
                    && v.annotations.get(crate::vsa::ANNOTATION_RESULT).map(String::as_str) == Some("PASSED")
            });
            if passed {
                let mut rest = self.policy.clone();
                rest.rules.retain(|r| matches!(r.check, crate::file::Check::DigestPinned));
                return Ok(Some(rest));
            }
        }
        Ok(None)
    }

    /// Checks every image of the request and answers it by `start + timeout` (`start`: when the
    /// request arrived).
    pub async fn review(
        self: &Arc<Self>,
        request: &AdmissionRequest,
        images: Vec<ContainerImage>,
        start: tokio::time::Instant,
        timeout: Duration,
    ) -> AdmissionResponse {
        let deadline = start + timeout;
        let namespace = request.namespace.clone().unwrap_or_default();
        let mut unique: Vec<&str> = images.iter().map(|c| c.image.as_str()).collect();
        unique.sort_unstable();
        unique.dedup();
        // Cached verdicts answer at once; the others are evaluated on blocking threads, together.
        let mut results: Vec<(String, Option<Checked>)> = Vec::new();
        let mut pending = Vec::new();
        for image in unique {
            if let Some(verdict) = self.cached(&namespace, image) {
                self.metrics.cache_hits.fetch_add(1, Relaxed);
                results.push((image.to_string(), Some(Checked::Verdict(verdict))));
                continue;
            }
            self.metrics.cache_misses.fetch_add(1, Relaxed);
            let (me, ns, img) = (Arc::clone(self), namespace.clone(), image.to_string());
            // The task goes on after the deadline and fills the cache for the next review.
            pending.push((results.len(), tokio::task::spawn_blocking(move || me.evaluate_once(&ns, &img))));
            results.push((image.to_string(), None));
        }
        for (index, task) in pending {
            let checked = match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(Ok(verdict))) => Checked::Verdict(verdict),
                Ok(Ok(Err(e))) => {
                    self.metrics.errors.fetch_add(1, Relaxed);
                    let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
                    Checked::Error(format!("{e}{hint}"))
                }
                Ok(Err(join)) => {
                    self.metrics.errors.fetch_add(1, Relaxed);
                    tracing::error!("the check of {} stopped: {join}", results[index].0);
                    Checked::Error("the check stopped on an internal error".into())
                }
                Err(_) => {
                    self.metrics.timeouts.fetch_add(1, Relaxed);
                    Checked::TimedOut
                }
            };
            results[index].1 = Some(checked);
        }
        self.answer(&request.uid, &images, &results, timeout)
    }

    fn answer(
        &self,
        uid: &str,
        images: &[ContainerImage],
        results: &[(String, Option<Checked>)],
        timeout: Duration,
    ) -> AdmissionResponse {
        let esc = pare_oci::escape_control;
        let mut denials = Vec::new();
        let mut warnings = Vec::new();
        for container in images {
            let Some((_, Some(checked))) = results.iter().find(|(i, _)| *i == container.image) else { continue };
            let who = format!("{container} ({})", esc(&container.image));
            let unchecked = match checked {
                Checked::Verdict(verdict) => {
                    for f in &verdict.failures {
                        let line = format!("{who}: {}: {} ({})", f.rule, f.message, f.fix);
                        if f.action == crate::Action::Deny { denials.push(line) } else { warnings.push(line) }
                    }
                    continue;
                }
                Checked::Error(why) => format!("cannot check the image: {why}"),
                Checked::TimedOut => format!("no verdict within the {}s deadline", timeout.as_secs_f64()),
            };
            match self.failure_policy {
                FailurePolicy::Fail => denials.push(format!("{who}: {unchecked} (failure policy: fail)")),
                FailurePolicy::Ignore => {
                    warnings.push(format!("{who}: {unchecked}; allowed unchecked (failure policy: ignore)"))
                }
            }
        }
        let status = (!denials.is_empty()).then(|| Status { code: 403, message: denials.join("\n") });
        AdmissionResponse { uid: uid.to_string(), allowed: status.is_none(), status, warnings }
    }
}
