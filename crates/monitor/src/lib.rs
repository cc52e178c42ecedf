//! pare's fleet monitor: a store of image inventories (SQLite by default, PostgreSQL for fleets),
//! rescans when the vulnerability database changes, alerts through an outbox, an HTTP API.
//!
//! # Brief overview
//! - [`Store`] holds images (digest, repository, tag, environment, team, inventory), deploys,
//!   findings with first-seen and fixed times, VEX per product, hashed tokens, the alert outbox and
//!   work claims, through one set of migrations and queries for both databases.
//! - [`VulnDb`] watches the vulnerability database file `pare db update` writes; the [`Worker`]
//!   rescans every stored inventory when it changes (`pare_vuln::scan`, no image is pulled), claiming
//!   images so that several servers on one PostgreSQL never scan one image twice, and delivers alerts
//!   (HMAC-signed JSON POSTs, retried with backoff, at least once).
//! - [`advice`] compares every current Debian image with Debian's archive on a schedule (each release's
//!   pockets read once per check, `pare_vuln::outdated`) and resolves pare-built images' bases: rebuild
//!   advice with the packages and the CVEs a rebuild fixes.
//! - [`serve`] runs the store, the workers and the API ([`api::router`], [`api::ApiDoc`] for the
//!   OpenAPI 3.1 document) and the dashboard ([`dashboard`]: HTML and SVG rendered on the server, no
//!   script) in one process; [`push`] uploads an inventory to a server.
//! - Watches ([`Watch`]) check registry repositories on a schedule: a tag that points at a digest not
//!   seen before is pulled, cataloged and registered; a tag that moved is recorded as a deploy.

pub mod advice;
pub mod api;
mod client;
pub mod dashboard;
mod error;
mod metrics;
mod scan;
mod server;
mod store;
mod watch;
mod worker;

pub use advice::{AdviceOptions, Origin};
pub use client::{PushOptions, add_watch, list_watches, origin_of, push, remove_watch};
pub use error::{Error, Result};
pub use scan::{CachedDb, VulnDb, read_vex, scan_inventory};
pub use server::{ServeOptions, create_token, serve};
pub use store::{
    Backend, Claimed, Counts, Deploy, ImageDetail, ImageSummary, NewFinding, PRODUCTION, Recorded, Registered,
    Registration, Scope, Stats, Store, StoredFinding, default_data_dir, default_url, now, token_hash,
};
pub use watch::{NewWatch, TagSeen, Watch, format_interval, parse_interval, parse_watch_flag};
pub use worker::{AlertTarget, DELIVERY_HEADER, SIGNATURE_HEADER, Worker, sign};
