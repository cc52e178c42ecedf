//! The Kubernetes validating admission webhook (`pare admission serve`).
//!
//! The API server posts an `admission.k8s.io/v1` AdmissionReview to `/validate` for each Pod,
//! Deployment, StatefulSet, DaemonSet, Job, CronJob or ReplicaSet created or updated (`review`).
//! Every container, init container and ephemeral container image is resolved to a digest through
//! its registry and judged by the policy (`evaluate::check_location`, the call `pare policy check`
//! makes), in the review's namespace. Verdicts are cached by digest, name and namespace, allowed and
//! denied alike, bounded in number and kept for a TTL (`cache`). Checks run on blocking threads
//! raced against a deadline; what is not checked by then, or cannot be checked, is answered by the
//! failure policy: denied (`fail`) or allowed with a warning (`ignore`) (`check`). Denials name the
//! container and each rule as `rule: message (fix)`; warn rules become the response's `warnings`,
//! which `kubectl` prints. The server (`server`) holds no state but caches, so it scales as
//! replicas behind a Service.

mod cache;
mod check;
mod metrics;
pub mod review;
mod server;

pub use check::FailurePolicy;
pub use server::{DEFAULT_MAX_BODY, ServeOptions, serve};
