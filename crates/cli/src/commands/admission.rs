//! `pare admission serve`: the webhook server of `pare_policy::admission`.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use pare_policy::admission::{FailurePolicy, ServeOptions};

use crate::ExitStatus;
use crate::args::AdmissionServeArgs;

pub(crate) fn serve(args: &AdmissionServeArgs) -> Result<ExitStatus> {
    let failure_policy: FailurePolicy = args.failure_policy.parse().map_err(anyhow::Error::msg)?;
    let options = ServeOptions {
        policy: args.policy.clone(),
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        listen: args.listen,
        db: args.db.clone(),
        timeout: Duration::from_secs_f64(args.timeout),
        failure_policy,
        cache_size: args.cache_size,
        cache_ttl: Duration::from_secs(args.cache_ttl),
        insecure_registries: args.insecure_registries.clone(),
        trust_vsa: args.trust_vsa.clone(),
        ..ServeOptions::default()
    };
    pare_policy::admission::serve(&options, |addr| {
        // On stderr, where a log collector or a test reads it.
        let _ = writeln!(std::io::stderr(), "pare admission: listening on https://{addr}");
    })?;
    Ok(ExitStatus::Success)
}
