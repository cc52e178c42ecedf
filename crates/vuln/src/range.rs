//! OSV range evaluation (the schema's "Evaluation" section): is an installed version inside an
//! [`Affected`] entry, and which fixed versions apply.

use std::cmp::Ordering;

use crate::error::Result;
use crate::model::{Affected, Event, RangeKind, Status};
use crate::version::{self, Version};

/// What [`check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeMatch {
    pub affected: bool,
    /// The fixed versions of the ranges that contain the installed version (to print "fixed in X").
    pub fixed: Vec<String>,
    /// Why something could not be evaluated (GIT ranges, invalid event versions): skipped, never dropped silently.
    pub notes: Vec<String>,
}

/// One event with its version parsed; `None` is `introduced: "0"` (before every version) or `limit: "*"`.
struct Parsed<'a> {
    event: &'a Event,
    version: Option<Version>,
}

fn event_text(e: &Event) -> (&'static str, &str) {
    match e {
        Event::Introduced(v) => ("introduced", v),
        Event::Fixed(v) => ("fixed", v),
        Event::LastAffected(v) => ("last_affected", v),
        Event::Limit(v) => ("limit", v),
    }
}

/// Evaluates `installed` against `affected` as OSV says. `Err` only when `installed` is not a valid version
/// of the entry's ecosystem.
pub fn check(affected: &Affected, installed: &str) -> Result<RangeMatch> {
    let ecosystem = affected.ecosystem;
    let v = version::parse(ecosystem, installed)?;
    let mut out = RangeMatch::default();
    if affected.status == Status::NotAffected {
        return Ok(out);
    }
    if affected.ranges.is_empty() && affected.versions.is_empty() {
        out.affected = true;
        return Ok(out);
    }

    // `versions`: exact matches, in the ecosystem's order (so `1.0` matches `1.0.0` in Maven).
    let mut unparsable = Vec::new();
    for listed in &affected.versions {
        let hit = if listed == installed {
            true
        } else {
            match version::parse(ecosystem, listed) {
                Ok(l) => l.compare(&v) == Some(Ordering::Equal),
                Err(_) => {
                    unparsable.push(listed.as_str());
                    false
                }
            }
        };
        out.affected |= hit;
    }
    if !unparsable.is_empty() {
        let shown: Vec<_> = unparsable.iter().take(5).map(|s| format!("`{s}`")).collect();
        out.notes.push(format!(
            "{} listed version(s) are not valid {ecosystem} versions and were compared as text: {}{}",
            unparsable.len(),
            shown.join(", "),
            if unparsable.len() > 5 { ", …" } else { "" }
        ));
    }

    for (index, range) in affected.ranges.iter().enumerate() {
        let installed_here = match range.kind {
            RangeKind::Git => {
                out.notes.push("GIT range ignored: commits are not versions".to_string());
                continue;
            }
            RangeKind::Ecosystem => v.clone(),
            RangeKind::Semver => match &v {
                Version::Semver(_) => v.clone(),
                _ => match version::parse_semver(installed) {
                    Ok(s) => s,
                    Err(_) => {
                        out.notes.push(format!(
                            "SEMVER range {index} skipped: the installed version `{installed}` is not SemVer"
                        ));
                        continue;
                    }
                },
            },
        };
        let mut events = Vec::with_capacity(range.events.len());
        for event in &range.events {
            let (kind, text) = event_text(event);
            let special =
                matches!(event, Event::Introduced(t) if t == "0") || matches!(event, Event::Limit(t) if t == "*");
            if special {
                events.push(Parsed { event, version: None });
                continue;
            }
            let parsed = match range.kind {
                RangeKind::Semver => version::parse_semver(text),
                _ => version::parse(ecosystem, text),
            };
            match parsed {
                Ok(p) => events.push(Parsed { event, version: Some(p) }),
                Err(e) => out.notes.push(format!("range {index}: event `{kind}: {text}` skipped: {e}")),
            }
        }
        let (hit, fixed) = evaluate(&installed_here, &events);
        if hit {
            out.affected = true;
            if let Some(f) = fixed
                && !out.fixed.contains(&f)
            {
                out.fixed.push(f);
            }
        }
    }
    Ok(out)
}

/// `a < b` with `None` as "before everything" (introduced 0). Other schemes never meet here: every
/// version of one range was parsed by the same parser.
fn order(a: &Option<Version>, b: &Option<Version>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.compare(y).unwrap_or(Ordering::Equal),
    }
}

fn ge(v: &Version, bound: &Option<Version>) -> bool {
    match bound {
        None => true,
        Some(b) => v.compare(b).is_some_and(|o| o != Ordering::Less),
    }
}

/// One range: the schema's `BeforeLimits` then the walk over sorted events. Returns whether `v` is inside
/// and the `fixed` event that closes the interval holding it.
fn evaluate(v: &Version, events: &[Parsed<'_>]) -> (bool, Option<String>) {
    let limits: Vec<_> = events.iter().filter(|e| matches!(e.event, Event::Limit(_))).collect();
    // `limit: "*"` (version None) is infinity here, not "before everything".
    let before_limits = limits.is_empty()
        || limits.iter().any(|l| match &l.version {
            None => true,
            Some(lv) => v.compare(lv) == Some(Ordering::Less),
        });
    if !before_limits {
        return (false, None);
    }
    let mut sorted: Vec<&Parsed<'_>> = events.iter().filter(|e| !matches!(e.event, Event::Limit(_))).collect();
    // Stable: events at the same version keep the record's order.
    sorted.sort_by(|a, b| order(&a.version, &b.version));
    let mut vulnerable = false;
    for e in &sorted {
        match e.event {
            Event::Introduced(_) if ge(v, &e.version) => vulnerable = true,
            Event::Fixed(_) if e.version.is_some() && ge(v, &e.version) => vulnerable = false,
            Event::LastAffected(_) => {
                if let Some(b) = &e.version
                    && v.compare(b) == Some(Ordering::Greater)
                {
                    vulnerable = false;
                }
            }
            _ => {}
        }
    }
    if !vulnerable {
        return (false, None);
    }
    // The first closing event above `v` says how the interval ends.
    let fixed = sorted.iter().find_map(|e| match (e.event, &e.version) {
        (Event::Fixed(text), Some(b)) if v.compare(b) == Some(Ordering::Less) => Some(Some(text.clone())),
        (Event::LastAffected(_), Some(b)) if v.compare(b) != Some(Ordering::Greater) => Some(None),
        _ => None,
    });
    (true, fixed.flatten())
}
