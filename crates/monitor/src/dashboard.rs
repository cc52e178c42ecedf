//! The dashboard at `/`: server-rendered HTML (askama) with the trend chart as SVG drawn here, the
//! images with their findings and freshness, teams, stale images, and an image page. No script; the
//! one stylesheet is served by pare. Reading needs a token as the API does: `--allow-anonymous-read`,
//! or a token given once in the sign-in form and kept in an `HttpOnly` cookie (read-only: the cookie is
//! never accepted for writes, so a page cannot be made to write on the user's behalf).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::api::{AppState, Trend, compute_trend};
use crate::store::{Counts, ImageDetail, ImageOrder, ImageQuery, PRODUCTION, Scope, StoredFinding};

/// Images older than this many days are listed as stale.
const STALE_DAYS: i64 = 90;
/// Days in the trend chart.
const TREND_DAYS: i64 = 30;
/// The cookie that carries a read token for the dashboard.
pub(crate) const COOKIE: &str = "pare_monitor_token";

pub(crate) const STYLE: &str = include_str!("../templates/style.css");

struct ImageRow {
    digest: String,
    short: String,
    repository: String,
    tag: String,
    environment: String,
    team: String,
    current: bool,
    age_days: i64,
    open: Counts,
    total: i64,
    scanned: String,
}

struct TeamRow {
    environment: String,
    team: String,
    images: i64,
    open: Counts,
    /// Current images by age: up to 7 days, 30, 90, older.
    fresh: [i64; 4],
    /// Mean time to remediate, in days, when something was fixed.
    mttr_days: String,
}

impl TeamRow {
    /// Some current image is older than 90 days.
    fn has_old(&self) -> bool {
        self.fresh[3] > 0
    }
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    environment: String,
    days: i64,
    database: String,
    chart: String,
    teams: Vec<TeamRow>,
    images: Vec<ImageRow>,
    /// Images in all, the first one shown (1-based), the last, and the next page's offset.
    total: i64,
    first: i64,
    last: i64,
    next: Option<i64>,
    previous: Option<i64>,
    stale: Vec<ImageRow>,
    stale_days: i64,
    /// Rebuild advised / stale bases: the first `ADVISED_SHOWN`, and how many there are.
    advised: Vec<crate::advice::Advised>,
    advised_total: i64,
    watches: Vec<WatchRow>,
}

/// A registry watch as the dashboard shows it.
struct WatchRow {
    repository: String,
    tags: String,
    environment: String,
    team: String,
    every: String,
    last_checked: String,
    next_check: String,
    last_error: Option<String>,
}

fn watch_row(w: &crate::watch::Watch) -> WatchRow {
    WatchRow {
        repository: w.repository.clone(),
        tags: if w.tags.is_empty() { "every tag".into() } else { w.tags.join(", ") },
        environment: w.environment.clone(),
        team: w.team.clone(),
        every: crate::watch::format_interval(w.interval_seconds),
        last_checked: w.last_checked_at.map(date).unwrap_or_else(|| "not yet".into()),
        next_check: date(w.next_check_at),
        last_error: w.last_error.clone(),
    }
}

/// Images per dashboard page.
const PAGE: i64 = 100;
/// Images shown under "Rebuild advised / stale bases" (the API pages through them all).
const ADVISED_SHOWN: i64 = 100;

#[derive(Deserialize)]
pub(crate) struct IndexParams {
    offset: Option<i64>,
}

struct FindingRow {
    advisory: String,
    package: String,
    version: String,
    severity: String,
    fixed_version: String,
    state: &'static str,
    first_seen: String,
}

#[derive(Template)]
#[template(path = "image.html")]
struct ImagePage {
    image: ImageDetail,
    findings: Vec<FindingRow>,
    advice: Option<crate::advice::Advice>,
    /// The advice's last successful check and last failure, as dates.
    advice_dates: (String, String),
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    failed: bool,
}

fn date(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

/// The trend as an SVG line chart: one polyline and one circle per point for each of critical and high.
pub fn chart(trend: &Trend) -> String {
    let (width, height, pad) = (720.0_f64, 240.0_f64, 36.0_f64);
    let max = trend.points.iter().map(|p| p.critical.max(p.high)).max().unwrap_or(0).max(1);
    let n = trend.points.len().max(2) - 1;
    let x = |i: usize| pad + (width - 2.0 * pad) * (i as f64) / (n as f64);
    let y = |v: i64| height - pad - (height - 2.0 * pad) * (v as f64) / (max as f64);
    let mut svg = format!(
        "<svg id=\"trend\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Open critical and high findings per day\">"
    );
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#8a939c\"/>\
         <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{b}\" stroke=\"#8a939c\"/>\
         <text x=\"4\" y=\"{t}\" font-size=\"11\">{max}</text><text x=\"4\" y=\"{b}\" font-size=\"11\">0</text>",
        b = height - pad,
        r = width - pad,
        t = pad + 4.0
    );
    for (class, value) in [("critical", 0usize), ("high", 1usize)] {
        let pick = |p: &crate::api::TrendPoint| if value == 0 { p.critical } else { p.high };
        let points: Vec<String> =
            trend.points.iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", x(i), y(pick(p)))).collect();
        let _ = write!(
            svg,
            "<polyline class=\"line {class}\" fill=\"none\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        for (i, p) in trend.points.iter().enumerate() {
            let _ = write!(
                svg,
                "<circle class=\"point {class}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{} {}: {}</title></circle>",
                x(i),
                y(pick(p)),
                date(p.at),
                class,
                pick(p)
            );
        }
    }
    let _ = write!(
        svg,
        "<text x=\"{pad}\" y=\"{h}\" font-size=\"11\">{}</text><text x=\"{r}\" y=\"{h}\" font-size=\"11\" \
         text-anchor=\"end\">now</text><text x=\"{r}\" y=\"14\" font-size=\"11\" text-anchor=\"end\" \
         fill=\"#b3261e\">critical</text><text x=\"{r2}\" y=\"14\" font-size=\"11\" text-anchor=\"end\" \
         fill=\"#c25e00\">high</text></svg>",
        trend.points.first().map(|p| date(p.at)).unwrap_or_default(),
        h = height - 10.0,
        r = width - pad,
        r2 = width - pad - 60.0
    );
    svg
}

/// `Ok` when the request may read: a bearer token, the dashboard cookie, or anonymous reads allowed.
async fn may_read(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    match crate::api::authorize(state, headers, Scope::Read).await {
        Ok(()) => Ok(()),
        Err(r) if r.status() == StatusCode::UNAUTHORIZED => Err(Redirect::to("/login").into_response()),
        Err(r) => Err(r),
    }
}

fn html(page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(body) => Html(body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("rendering the page: {e}")).into_response(),
    }
}

fn image_row(i: &crate::store::ImageSummary) -> ImageRow {
    ImageRow {
        digest: i.digest.clone(),
        short: i.digest.chars().take(19).collect(),
        repository: i.repository.clone(),
        tag: i.tag.clone(),
        environment: i.environment.clone(),
        team: i.team.clone(),
        current: i.current,
        age_days: i.age_days,
        open: i.open.clone(),
        total: i.open.total(),
        scanned: i.scanned_at.map(date).unwrap_or_else(|| "not yet".into()),
    }
}

/// `/`: trend, teams with their freshness, images (most at risk first, a page at a time), stale images.
pub(crate) async fn index(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<IndexParams>,
) -> Response {
    if let Err(r) = may_read(&state, &headers).await {
        return r;
    }
    let store = &state.worker.store;
    let offset = params.offset.unwrap_or(0).max(0);
    let page = ImageQuery { order: ImageOrder::Risk, limit: PAGE, offset, ..ImageQuery::default() };
    let oldest = ImageQuery { current: Some(true), order: ImageOrder::Age, limit: 50, ..ImageQuery::default() };
    let (images, oldest, trend, stats, advised, watches) = match tokio::try_join!(
        store.images(&page),
        store.images(&oldest),
        compute_trend(&state.worker, PRODUCTION, None, TREND_DAYS),
        state.worker.stats(),
        store.advised(ADVISED_SHOWN, 0),
        store.watches()
    ) {
        Ok(all) => all,
        Err(e) => return e.into_response(),
    };
    let (images, total) = images;
    let mut teams: BTreeMap<(String, String), TeamRow> = BTreeMap::new();
    for (key, open) in &stats.open {
        let remediated = stats.remediated.get(key);
        teams.insert(
            key.clone(),
            TeamRow {
                environment: key.0.clone(),
                team: key.1.clone(),
                images: stats.images.get(key).copied().unwrap_or(0),
                open: open.clone(),
                fresh: [0; 4],
                mttr_days: remediated
                    .filter(|(n, _)| *n > 0)
                    .map(|(n, total)| format!("{:.1}", *total as f64 / *n as f64 / 86_400.0))
                    .unwrap_or_else(|| "-".into()),
            },
        );
    }
    // Current images up to 7, 30 and 90 days old, and older (the first three of the store's buckets).
    for (key, ages) in &stats.ages {
        if let Some(t) = teams.get_mut(key) {
            let [d7, d30, d90, ..] = ages.at_most;
            t.fresh = [d7, d30 - d7, d90 - d30, ages.count - d90];
        }
    }
    let shown = i64::try_from(images.len()).unwrap_or(0);
    let page = IndexPage {
        environment: PRODUCTION.into(),
        days: TREND_DAYS,
        database: state.worker.database().map(|(_, sha, built)| format!("{sha} (built {built})")).unwrap_or_default(),
        chart: chart(&trend),
        teams: teams.into_values().collect(),
        images: images.iter().map(image_row).collect(),
        total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        next: Some(offset + shown).filter(|n| *n < total),
        previous: (offset > 0).then(|| (offset - PAGE).max(0)),
        stale: oldest.0.iter().filter(|i| i.age_days > STALE_DAYS).map(image_row).collect(),
        stale_days: STALE_DAYS,
        advised: advised.0,
        advised_total: advised.1,
        watches: watches.iter().map(watch_row).collect(),
    };
    html(page.render())
}

fn finding_row(f: &StoredFinding) -> FindingRow {
    FindingRow {
        advisory: f.advisory.clone(),
        package: f.package.clone(),
        version: f.version.clone(),
        severity: f.severity.clone(),
        fixed_version: f.fixed_version.clone(),
        state: if f.fixed_at.is_some() {
            "fixed"
        } else if f.suppressed {
            "suppressed"
        } else {
            "open"
        },
        first_seen: date(f.first_seen),
    }
}

/// `/images/{digest}`: packages and findings (VEX applied).
pub(crate) async fn image(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(digest): Path<String>,
) -> Response {
    if let Err(r) = may_read(&state, &headers).await {
        return r;
    }
    match state.worker.store.image(&digest).await {
        Ok(Some(image)) => {
            let findings = image.findings.iter().map(finding_row).collect();
            let advice = match state.worker.store.advice(&digest).await {
                Ok(a) => a,
                Err(e) => return e.into_response(),
            };
            let at = |t: Option<i64>| t.map(date).unwrap_or_default();
            let advice_dates = advice.as_ref().map(|a| (at(a.checked_at), at(a.error_at))).unwrap_or_default();
            html(ImagePage { image, findings, advice, advice_dates }.render())
        }
        Ok(None) => (StatusCode::NOT_FOUND, Html("<!DOCTYPE html><title>Not found</title><p>No such image.</p>"))
            .into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

pub(crate) async fn login_form() -> Response {
    html(LoginPage { failed: false }.render())
}

#[derive(Deserialize)]
pub(crate) struct Login {
    token: String,
}

/// Checks the token and keeps it in a cookie (`HttpOnly`, `SameSite=Strict`).
pub(crate) async fn login(State(state): State<Arc<AppState>>, Form(form): Form<Login>) -> Response {
    let token = form.token.trim();
    let valid = token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    match state.worker.store.token_scope(token).await {
        Ok(Some(_)) if valid => {
            ([(header::SET_COOKIE, format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"))], Redirect::to("/"))
                .into_response()
        }
        Ok(_) => (StatusCode::UNAUTHORIZED, html(LoginPage { failed: true }.render())).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The token in the dashboard cookie, if the request carries one.
pub(crate) fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').find_map(|part| part.trim().strip_prefix(COOKIE)?.strip_prefix('=').map(str::to_string))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TrendPoint;

    #[test]
    fn chart_has_a_circle_per_point_and_series() {
        let trend = Trend {
            environment: "production".into(),
            team: None,
            points: (0..5).map(|i| TrendPoint { at: i * 86_400, critical: i, high: 4 - i, recorded: true }).collect(),
        };
        let svg = chart(&trend);
        assert_eq!(svg.matches("<circle class=\"point critical\"").count(), 5);
        assert_eq!(svg.matches("<circle class=\"point high\"").count(), 5);
        assert!(svg.starts_with("<svg id=\"trend\"") && svg.ends_with("</svg>"));
    }
}
