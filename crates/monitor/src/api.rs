//! The HTTP API (axum): uploads, images, VEX, trends, `/metrics`, `/openapi.json` (generated from
//! these handlers by utoipa), `/healthz`. Every route but `/healthz` and `/openapi.json` needs a token
//! (`Authorization: Bearer`), read or write scope; reads may be opened to anyone with
//! `allow_anonymous_read`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::advice::{Advice, Advised, AdvisedUpdate, ArchivePocket, FixedCve, Origin};
use crate::error::Error;
pub use crate::store::TrendPoint;
use crate::store::{
    Counts, Deploy, ImageDetail, ImageOrder, ImageQuery, ImageSummary, PRODUCTION, Recorded, Registered, Registration,
    Scope,
};
use crate::watch::{NewWatch, TagSeen, Watch};
use crate::worker::Worker;

/// What every handler sees.
pub struct AppState {
    pub worker: Arc<Worker>,
    pub allow_anonymous_read: bool,
}

type Shared = Arc<AppState>;

/// The error body of every failed request.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// What went wrong.
    pub error: String,
    /// What to do about it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn fail(status: StatusCode, error: impl Into<String>, hint: Option<String>) -> Response {
    (status, Json(ApiError { error: error.into(), hint })).into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::BadUpload { .. } | Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("{self}");
        }
        fail(status, pare_oci::error_chain(&self), self.hint())
    }
}

/// Checks the bearer token (or, for reads only, the dashboard's cookie) against what the route needs.
pub(crate) async fn authorize(state: &AppState, headers: &HeaderMap, needed: Scope) -> Result<(), Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_string());
    // A cookie is sent by the browser on its own: it may read, never write (no cross-site writes).
    let token = bearer.or_else(|| if needed == Scope::Read { crate::dashboard::cookie_value(headers) } else { None });
    let Some(token) = token.as_deref() else {
        if needed == Scope::Read && state.allow_anonymous_read {
            return Ok(());
        }
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            "A token is required (Authorization: Bearer TOKEN)",
            Some("make one with `pare monitor token create --scope read|write`".into()),
        ));
    };
    match state.worker.store.token_scope(token).await {
        Ok(Some(scope)) if scope.allows(needed) => Ok(()),
        Ok(Some(_)) => Err(fail(
            StatusCode::FORBIDDEN,
            "This token may only read",
            Some("writing needs a token made with `--scope write`".into()),
        )),
        Ok(None) => Err(fail(StatusCode::UNAUTHORIZED, "Unknown token", None)),
        Err(e) => Err(e.into_response()),
    }
}

/// The API router.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(crate::dashboard::index))
        .route("/images/{digest}", get(crate::dashboard::image))
        .route("/assets/style.css", get(crate::dashboard::style))
        .route("/login", get(crate::dashboard::login_form).post(crate::dashboard::login))
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics))
        .route("/api/v1/images", post(upload).get(list_images))
        .route("/api/v1/images/{digest}", get(show_image))
        .route("/api/v1/images/{digest}/sbom", get(image_sbom))
        .route("/api/v1/vex/{product}", put(upload_vex))
        .route("/api/v1/trend", get(trend))
        .route("/api/v1/deploys", get(deploys))
        .route("/api/v1/status", get(status))
        .route("/api/v1/watches", post(add_watch).get(list_watches))
        .route("/api/v1/watches/{id}", delete(remove_watch))
        .route("/api/v1/advice", get(list_advice))
        .layer(DefaultBodyLimit::max(pare_sbom::MAX_SBOM_BYTES + 1))
        .with_state(state)
}

/// The OpenAPI 3.1 document of this API.
#[derive(OpenApi)]
#[openapi(
    info(title = "pare monitor", description = "Images, their findings as the vulnerability data changes, VEX, trends."),
    paths(healthz, metrics, upload, list_images, show_image, image_sbom, upload_vex, trend, deploys, status, add_watch,
        list_watches, remove_watch, list_advice),
    components(schemas(ApiError, Uploaded, ImageSummary, ImageDetail, Counts, Recorded, Registered, VexUploaded,
        Trend, TrendPoint, Deploy, Status, NewWatch, Watch, TagSeen, ImageWithAdvice, Advice, Advised, AdvisedUpdate,
        FixedCve, ArchivePocket)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document as JSON.
pub fn openapi() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive", body = String)))]
async fn healthz() -> &'static str {
    "ok\n"
}

async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi()).into_response()
}

/// Where an upload's image runs and what it is.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The image digest (`sha256:…`); default: the digest the SBOM names.
    digest: Option<String>,
    /// The repository (`registry/name`); default: the SBOM's subject name.
    repository: Option<String>,
    /// The tag deployed; a tag that moves to a new digest is recorded as a deploy.
    tag: Option<String>,
    /// `production`, `staging`, …
    environment: String,
    /// The owning team.
    team: String,
    /// The VEX product whose statements apply; default: the repository.
    product: Option<String>,
    /// `true` when pare built the image (rebuild advice then says to re-lock and rebuild).
    pare_built: Option<bool>,
    /// The base image it was built on (`org.opencontainers.image.base.name`): its tag is resolved
    /// on the advice schedule and a newer digest reported.
    base_name: Option<String>,
    /// The base's digest it was built on (`org.opencontainers.image.base.digest`).
    base_digest: Option<String>,
}

/// What an upload did.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Uploaded {
    pub digest: String,
    pub registered: Registered,
    /// The scan of the new image (absent when no vulnerability database is loaded yet, or the digest
    /// was already scanned).
    pub scan: Option<Recorded>,
    /// What pare could not read in the SBOM.
    pub warnings: Vec<String>,
}

fn valid_digest(d: &str) -> bool {
    d.split_once(':').is_some_and(|(alg, hex)| {
        !alg.is_empty()
            && alg.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
            && hex.len() >= 32
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

pub(crate) fn label_ok(name: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
        return Err(Error::BadRequest {
            message: format!("`{name}` must be 1 to 256 characters, no control characters"),
        });
    }
    Ok(())
}

/// Registers an image from its SBOM (any SBOM pare reads) and scans it.
#[utoipa::path(post, path = "/api/v1/images", params(UploadParams),
    request_body(content = String, description = "The SBOM: pare's JSON, SPDX 2.x (JSON, tag-value) or CycloneDX JSON",
        content_type = "application/json"),
    responses((status = 201, body = Uploaded), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn upload(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<UploadParams>,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Write).await {
        return r;
    }
    match register(&state, params, &body).await {
        Ok(up) => (StatusCode::CREATED, Json(up)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn register(state: &AppState, params: UploadParams, body: &[u8]) -> Result<Uploaded, Error> {
    label_ok("environment", &params.environment)?;
    label_ok("team", &params.team)?;
    let read = pare_sbom::read(body, "the uploaded SBOM")
        .map_err(|e| Error::BadUpload { message: format!("The upload is not an SBOM pare reads: {e}") })?;
    let mut inventory = read.inventory;
    crate::store::check_storable(&inventory)?;
    let digest = params.digest.clone().or_else(|| inventory.subject.digest.clone()).ok_or_else(|| {
        Error::BadRequest { message: "The SBOM names no image digest: pass `?digest=sha256:…`".into() }
    })?;
    if !valid_digest(&digest) {
        return Err(Error::BadRequest { message: format!("`{digest}` is not a digest (`sha256:HEX`)") });
    }
    if let (Some(given), Some(named)) = (&params.digest, &inventory.subject.digest)
        && given != named
    {
        return Err(Error::BadRequest { message: format!("`digest` {given} differs from the SBOM's subject {named}") });
    }
    inventory.subject.digest = Some(digest.clone());
    let repository = params.repository.clone().unwrap_or_else(|| inventory.subject.name.clone());
    label_ok("repository", &repository)?;
    let product = params.product.clone().unwrap_or_else(|| repository.clone());
    label_ok("product", &product)?;
    let created_at = crate::store::created_at(&inventory);
    let json = serde_json::to_string(&inventory).map_err(|e| Error::BadUpload { message: e.to_string() })?;
    let registration = Registration {
        digest: digest.clone(),
        repository,
        tag: params.tag.clone().unwrap_or_default(),
        environment: params.environment.clone(),
        team: params.team.clone(),
        product,
        inventory: json,
        packages: i64::try_from(inventory.packages.len()).unwrap_or(i64::MAX),
        created_at,
    };
    let origin = Origin {
        pare_built: params.pare_built.unwrap_or(false),
        base_name: params.base_name.clone(),
        base_digest: params.base_digest.clone(),
    };
    if let Some(name) = &origin.base_name {
        label_ok("base_name", name)?;
    }
    if let Some(d) = origin.base_digest.as_deref().filter(|d| !valid_digest(d)) {
        return Err(Error::BadRequest { message: format!("`base_digest` {d} is not a digest (`sha256:HEX`)") });
    }
    let owner = state.worker.upload_owner();
    let change = state.worker.change();
    let registered = state.worker.store.register(&registration, (&owner, state.worker.lease_seconds())).await?;
    drop(change);
    if origin != Origin::default() {
        state.worker.store.set_origin(&digest, &origin).await?;
    }
    let scan = if state.worker.database().is_some() {
        let r = state.worker.scan_upload(&owner, &digest).await?;
        Some(r)
    } else {
        // No database yet: the claim is given back, and the rescan loop scans it once one opens.
        state.worker.store.release(&owner, &digest).await?;
        None
    };
    Ok(Uploaded { digest, registered, scan, warnings: read.warnings })
}

/// Which images, in which order, which page.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    environment: Option<String>,
    team: Option<String>,
    repository: Option<String>,
    /// `true`: only images a tag points at; `false`: only replaced ones.
    current: Option<bool>,
    /// `registered` (newest first, the default), `risk` (most critical findings first) or `age`.
    order: Option<ImageOrder>,
    /// Images per page: 1 to 1000, default 500.
    limit: Option<i64>,
    /// Images skipped.
    offset: Option<i64>,
}

/// Images with their open findings by severity, age and last scan, a page at a time: the response's
/// `X-Total-Count` says how many match, and a `Link` header with `rel="next"` gives the next page.
#[utoipa::path(get, path = "/api/v1/images", params(ListParams), responses((status = 200, body = [ImageSummary],
    headers(("x-total-count" = i64, description = "Images that match"),
    ("link" = String, description = "The next page (`rel=\"next\"`), when there is one"))),
    (status = 401, body = ApiError)), security(("bearer" = [])))]
async fn list_images(State(state): State<Shared>, headers: HeaderMap, Query(params): Query<ListParams>) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Read).await {
        return r;
    }
    let query = ImageQuery {
        environment: params.environment.clone(),
        team: params.team.clone(),
        repository: params.repository.clone(),
        current: params.current,
        order: params.order.unwrap_or_default(),
        limit: params.limit.unwrap_or(crate::store::DEFAULT_PAGE).clamp(1, crate::store::MAX_PAGE),
        offset: params.offset.unwrap_or(0).max(0),
    };
    match state.worker.store.images(&query).await {
        Ok((images, total)) => {
            let filters = [
                ("environment", params.environment),
                ("team", params.team),
                ("repository", params.repository),
                ("current", params.current.map(|c| c.to_string())),
                ("order", params.order.map(|o| o.as_str().to_string())),
            ];
            let page = Page { path: "/api/v1/images", limit: query.limit, offset: query.offset, total };
            page.headers(Json(&images).into_response(), images.len(), &filters)
        }
        Err(e) => e.into_response(),
    }
}

/// A page of a list: the response says how many there are (`X-Total-Count`) and, when more follow,
/// where the next page is (`Link: <…>; rel="next"`, with the request's filters).
struct Page {
    path: &'static str,
    limit: i64,
    offset: i64,
    total: i64,
}

impl Page {
    fn headers(&self, mut response: Response, shown: usize, filters: &[(&str, Option<String>)]) -> Response {
        if let Ok(v) = header::HeaderValue::from_str(&self.total.to_string()) {
            response.headers_mut().insert("x-total-count", v);
        }
        let next = self.offset + i64::try_from(shown).unwrap_or(0);
        if next < self.total {
            let mut url = form_urlencoded::Serializer::new(String::new());
            for (key, value) in filters {
                if let Some(value) = value {
                    url.append_pair(key, value);
                }
            }
            url.append_pair("limit", &self.limit.to_string()).append_pair("offset", &next.to_string());
            let link = format!("<{}?{}>; rel=\"next\"", self.path, url.finish());
            if let Ok(v) = header::HeaderValue::from_str(&link) {
                response.headers_mut().insert(header::LINK, v);
            }
        }
        response
    }
}

/// Which page of advised images.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Entries per page: 1 to 1000, default 500.
    limit: Option<i64>,
    /// Entries skipped.
    offset: Option<i64>,
}

/// One image with its rebuild advice.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ImageWithAdvice {
    #[serde(flatten)]
    pub image: ImageDetail,
    /// The rebuild advice (absent until a check compared it, or for images that are not Debian).
    pub advice: Option<Advice>,
}

/// One image: its packages, its findings (VEX applied: suppressed ones are marked), its rebuild advice.
#[utoipa::path(get, path = "/api/v1/images/{digest}", params(("digest" = String, Path, description = "sha256:…")),
    responses((status = 200, body = ImageWithAdvice), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn show_image(State(state): State<Shared>, headers: HeaderMap, Path(digest): Path<String>) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Read).await {
        return r;
    }
    let found = match state.worker.store.image(&digest).await {
        Ok(Some(image)) => image,
        Ok(None) => return fail(StatusCode::NOT_FOUND, format!("No image `{digest}`"), None),
        Err(e) => return e.into_response(),
    };
    match state.worker.store.advice(&digest).await {
        Ok(advice) => Json(ImageWithAdvice { image: found, advice }).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Current images with a rebuild advised or a newer base: packages to update, vulnerabilities a
/// rebuild fixes, the newer base digest.
/// A page at a time, as `/api/v1/images` (`X-Total-Count`, `Link` with `rel="next"`).
#[utoipa::path(get, path = "/api/v1/advice", params(PageParams), responses((status = 200, body = [Advised],
    headers(("x-total-count" = i64, description = "Advised images"),
    ("link" = String, description = "The next page (`rel=\"next\"`), when there is one"))),
    (status = 401, body = ApiError)), security(("bearer" = [])))]
async fn list_advice(State(state): State<Shared>, headers: HeaderMap, Query(params): Query<PageParams>) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Read).await {
        return r;
    }
    let limit = params.limit.unwrap_or(crate::store::DEFAULT_PAGE).clamp(1, crate::store::MAX_PAGE);
    let offset = params.offset.unwrap_or(0).max(0);
    match state.worker.store.advised(limit, offset).await {
        Ok((list, total)) => {
            let page = Page { path: "/api/v1/advice", limit, offset, total };
            page.headers(Json(&list).into_response(), list.len(), &[])
        }
        Err(e) => e.into_response(),
    }
}

/// What a VEX upload did.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct VexUploaded {
    pub product: String,
    pub statements: usize,
    /// Images of the product marked for a rescan with the new statements.
    pub images: u64,
    pub warnings: Vec<String>,
}

/// Which SBOM format.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SbomParams {
    /// `spdx-json` (SPDX 2.3, the default), `cyclonedx-json` (CycloneDX 1.6) or `json` (pare's inventory).
    format: Option<String>,
}

/// The SBOM the monitor holds for an image (what every scan of it reads), in a standard format: the
/// evidence of what was scanned.
#[utoipa::path(get, path = "/api/v1/images/{digest}/sbom", params(("digest" = String, Path, description = "sha256:…"),
    SbomParams), responses((status = 200, description = "The SBOM", body = String), (status = 400, body = ApiError),
    (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn image_sbom(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(digest): Path<String>,
    Query(params): Query<SbomParams>,
) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Read).await {
        return r;
    }
    let (format, media_type, suffix) = match params.format.as_deref().unwrap_or("spdx-json") {
        "spdx-json" => (pare_sbom::OutputFormat::SpdxJson, "application/spdx+json", "spdx.json"),
        "cyclonedx-json" => (pare_sbom::OutputFormat::CycloneDxJson, "application/vnd.cyclonedx+json", "cdx.json"),
        "json" => (pare_sbom::OutputFormat::Json, "application/json", "pare.json"),
        other => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("Unknown SBOM format `{other}`"),
                Some("format=spdx-json, cyclonedx-json or json".into()),
            );
        }
    };
    let inventory = match state.worker.store.inventory(&digest).await {
        Ok(Some(i)) => i,
        Ok(None) => return fail(StatusCode::NOT_FOUND, format!("No image `{digest}`"), None),
        Err(e) => return e.into_response(),
    };
    match pare_sbom::write(&inventory, format) {
        Ok(bytes) => {
            let name = format!("{}.{suffix}", digest.replace(':', "-"));
            (
                [
                    (header::CONTENT_TYPE, media_type.to_string()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, format!("Writing the SBOM of `{digest}`: {e}"), None),
    }
}

/// Replaces a product's VEX document (OpenVEX or CycloneDX VEX); its images are rescanned with it.
#[utoipa::path(put, path = "/api/v1/vex/{product}", params(("product" = String, Path)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = VexUploaded), (status = 400, body = ApiError)), security(("bearer" = [])))]
async fn upload_vex(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(product): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Write).await {
        return r;
    }
    let doc = match pare_vuln::vex::read(&body, &format!("VEX of {product}")) {
        Ok(doc) => doc,
        Err(e) => {
            return Error::BadUpload { message: format!("The upload is not a VEX document pare reads: {e}") }
                .into_response();
        }
    };
    let text = String::from_utf8_lossy(&body).into_owned();
    let count = i64::try_from(doc.statements.len()).unwrap_or(i64::MAX);
    match state.worker.store.put_vex(&product, &text, count).await {
        Ok(images) => {
            state.worker.wake.notify_one();
            Json(VexUploaded { product, statements: doc.statements.len(), images, warnings: doc.warnings })
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Which trend.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendParams {
    /// Default `production`.
    environment: Option<String>,
    /// One team's trend (default: every team of the environment).
    team: Option<String>,
    /// Days back (1 to 365, default 30): the trend has one point per day and one for now.
    days: Option<i64>,
}

/// Open critical and high findings on the environment's current images over time.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Trend {
    pub environment: String,
    /// The team, when the trend is of one team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub points: Vec<TrendPoint>,
}

/// The trend of `environment` (one team's, or all) over `days` days ending now (`days + 1` points); the
/// point for now comes from the worker's figures.
pub async fn compute_trend(worker: &Worker, environment: &str, team: Option<&str>, days: i64) -> Result<Trend, Error> {
    let current = worker.stats().await?.risk(environment, team);
    let points = worker.store.trend(environment, team, days, crate::store::now(), current).await?;
    Ok(Trend { environment: environment.to_string(), team: team.map(str::to_string), points })
}

/// Open critical and high findings over time.
#[utoipa::path(get, path = "/api/v1/trend", params(TrendParams), responses((status = 200, body = Trend)),
    security(("bearer" = [])))]
async fn trend(State(state): State<Shared>, headers: HeaderMap, Query(params): Query<TrendParams>) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Read).await {
        return r;
    }
    let environment = params.environment.unwrap_or_else(|| PRODUCTION.to_string());
    match compute_trend(&state.worker, &environment, params.team.as_deref(), params.days.unwrap_or(30)).await {
        Ok(t) => Json(t).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Tags that moved to a new digest, newest first.
#[utoipa::path(get, path = "/api/v1/deploys", responses((status = 200, body = [Deploy])), security(("bearer" = [])))]
async fn deploys(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Read).await {
        return r;
    }
    match state.worker.store.deploys().await {
        Ok(d) => Json(d).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The server's state: the vulnerability database in use and what is left to scan with it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Status {
    pub vuln_db: String,
    /// SHA-256 of the database in use; absent until one opened.
    pub database_sha256: Option<String>,
    pub database_built_at: Option<String>,
    /// Images not yet scanned with it.
    pub unscanned: i64,
    pub worker: String,
}

/// The vulnerability database in use and the rescan backlog.
#[utoipa::path(get, path = "/api/v1/status", responses((status = 200, body = Status)), security(("bearer" = [])))]
async fn status(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Read).await {
        return r;
    }
    let db = state.worker.database();
    let sha = db.as_ref().map(|(_, s, _)| s.clone());
    let unscanned = match state.worker.store.unscanned(sha.as_deref().unwrap_or("-")).await {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    Json(Status {
        vuln_db: state.worker.vuln_path(),
        database_sha256: sha,
        database_built_at: db.map(|(_, _, b)| b),
        unscanned,
        worker: state.worker.id.clone(),
    })
    .into_response()
}

/// Prometheus text: open findings on current images per environment, team and severity, images,
/// image age, mean time to remediate, the outbox.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format 0.0.4",
    body = String)), security(("bearer" = [])))]
async fn metrics(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Read).await {
        return r;
    }
    match crate::metrics::render(&state.worker).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Watches a registry repository: its tags (all, or those given; `*` and `?` match) are checked every
/// `interval_seconds`; a new digest is pulled, cataloged, registered and scanned, a tag that moved is a
/// deploy. The first check runs at once.
#[utoipa::path(post, path = "/api/v1/watches", request_body = NewWatch,
    responses((status = 201, body = Watch), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn add_watch(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Write).await {
        return r;
    }
    let added = async {
        let watch: NewWatch = serde_json::from_slice(&body)
            .map_err(|e| Error::BadRequest { message: format!("The body is not a watch: {e}") })?;
        let watch = watch.validated()?;
        let id = crate::store::Store::new_watch_id();
        state.worker.store.add_watch(&id, &watch).await?;
        state.worker.store.watch(&id).await
    };
    match added.await {
        Ok(Some(watch)) => {
            state.worker.wake_watches.notify_one();
            (StatusCode::CREATED, Json(watch)).into_response()
        }
        Ok(None) => fail(StatusCode::INTERNAL_SERVER_ERROR, "The watch was not stored", None),
        Err(e) => e.into_response(),
    }
}

/// Every watch with its last check: when, what failed, the tags it resolved.
#[utoipa::path(get, path = "/api/v1/watches", responses((status = 200, body = [Watch]), (status = 401, body = ApiError)),
    security(("bearer" = [])))]
async fn list_watches(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Read).await {
        return r;
    }
    match state.worker.store.watches().await {
        Ok(w) => Json(w).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Stops watching; what the watch registered stays.
#[utoipa::path(delete, path = "/api/v1/watches/{id}", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = ApiError), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn remove_watch(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = authorize(&state, &headers, Scope::Write).await {
        return r;
    }
    match state.worker.store.remove_watch(&id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => fail(StatusCode::NOT_FOUND, format!("No watch `{id}`"), None),
        Err(e) => e.into_response(),
    }
}
