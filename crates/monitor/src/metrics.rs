//! `/metrics` in the Prometheus text format.

use std::fmt::Write as _;

use crate::error::Result;
use crate::worker::Worker;

use crate::store::AGE_BUCKETS;

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The metrics text.
pub async fn render(worker: &Worker) -> Result<String> {
    let stats = worker.stats().await?;
    let (pending, delivered) = worker.store.outbox_counts().await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP pare_monitor_open_findings Open findings (not fixed, not suppressed by VEX) on current images."
    );
    let _ = writeln!(out, "# TYPE pare_monitor_open_findings gauge");
    for ((env, team), counts) in &stats.open {
        for (severity, n) in [
            ("critical", counts.critical),
            ("high", counts.high),
            ("medium", counts.medium),
            ("low", counts.low),
            ("other", counts.other),
        ] {
            let _ = writeln!(
                out,
                "pare_monitor_open_findings{{environment=\"{}\",team=\"{}\",severity=\"{severity}\"}} {n}",
                label(env),
                label(team)
            );
        }
    }
    let _ = writeln!(out, "# HELP pare_monitor_images Current images (a tag points at them).");
    let _ = writeln!(out, "# TYPE pare_monitor_images gauge");
    for ((env, team), n) in &stats.images {
        let _ = writeln!(out, "pare_monitor_images{{environment=\"{}\",team=\"{}\"}} {n}", label(env), label(team));
    }
    let _ = writeln!(
        out,
        "# HELP pare_monitor_mean_time_to_remediate_seconds Mean time from first seen to fixed of fixed findings."
    );
    let _ = writeln!(out, "# TYPE pare_monitor_mean_time_to_remediate_seconds gauge");
    for ((env, team), (n, total)) in &stats.remediated {
        if *n > 0 {
            let _ = writeln!(
                out,
                "pare_monitor_mean_time_to_remediate_seconds{{environment=\"{}\",team=\"{}\"}} {}",
                label(env),
                label(team),
                total / n
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP pare_monitor_image_age_days Age of current images (since built, else registered): the freshness \
         distribution per environment and team."
    );
    let _ = writeln!(out, "# TYPE pare_monitor_image_age_days histogram");
    for ((env, team), ages) in &stats.ages {
        let labels = format!("environment=\"{}\",team=\"{}\"", label(env), label(team));
        for (le, n) in AGE_BUCKETS.iter().zip(ages.at_most) {
            let _ = writeln!(out, "pare_monitor_image_age_days_bucket{{{labels},le=\"{le}\"}} {n}");
        }
        let _ = writeln!(out, "pare_monitor_image_age_days_bucket{{{labels},le=\"+Inf\"}} {}", ages.count);
        let _ = writeln!(out, "pare_monitor_image_age_days_sum{{{labels}}} {}", ages.sum_days);
        let _ = writeln!(out, "pare_monitor_image_age_days_count{{{labels}}} {}", ages.count);
    }
    rebuild_advised(&mut out, &stats.advised);
    let _ = writeln!(out, "# HELP pare_monitor_alerts Alerts in the outbox, by state.");
    let _ = writeln!(out, "# TYPE pare_monitor_alerts gauge");
    let _ = writeln!(out, "pare_monitor_alerts{{state=\"pending\"}} {pending}");
    let _ = writeln!(out, "pare_monitor_alerts{{state=\"delivered\"}} {delivered}");
    if let Some((_, sha, _)) = worker.database() {
        let unscanned = worker.store.unscanned(&sha).await?;
        let _ = writeln!(out, "# HELP pare_monitor_unscanned_images Images not yet scanned with the database in use.");
        let _ = writeln!(out, "# TYPE pare_monitor_unscanned_images gauge");
        let _ = writeln!(out, "pare_monitor_unscanned_images {unscanned}");
        let _ = writeln!(out, "# HELP pare_monitor_vuln_db_info The vulnerability database in use.");
        let _ = writeln!(out, "# TYPE pare_monitor_vuln_db_info gauge");
        let _ = writeln!(out, "pare_monitor_vuln_db_info{{sha256=\"{}\"}} 1", label(&sha));
    }
    Ok(out)
}

/// Current images with a rebuild advised per environment and team (and whether pare built them).
fn rebuild_advised(out: &mut String, counts: &std::collections::BTreeMap<(String, String, bool), i64>) {
    let _ = writeln!(
        out,
        "# HELP pare_monitor_rebuild_advised_images Current images the Debian archive has security updates for."
    );
    let _ = writeln!(out, "# TYPE pare_monitor_rebuild_advised_images gauge");
    for ((env, team, pare_built), n) in counts {
        let _ = writeln!(
            out,
            "pare_monitor_rebuild_advised_images{{environment=\"{}\",team=\"{}\",pare_built=\"{pare_built}\"}} {n}",
            label(env),
            label(team)
        );
    }
}
