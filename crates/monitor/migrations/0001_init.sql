-- pare monitor schema, version 1. One set of statements for SQLite and PostgreSQL: only TEXT and
-- BIGINT columns (times are Unix seconds, flags 0/1), no auto-increment (ids are made by pare), so the
-- same SQL and the same queries run on both.

-- An image by digest, with what describes it: its inventory (pare's JSON), where it runs, who owns it.
CREATE TABLE images (
    digest TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    environment TEXT NOT NULL,
    team TEXT NOT NULL,
    -- The VEX product whose statements apply to this image (default: the repository).
    product TEXT NOT NULL,
    inventory TEXT NOT NULL,
    packages BIGINT NOT NULL,
    -- When the image was made (its SBOM's creation time), if known: image age.
    created_at BIGINT,
    registered_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- 1 while a tag of its repository and environment points at it (a deploy of another digest clears it).
    current BIGINT NOT NULL,
    -- SHA-256 of the vulnerability database it was last scanned with ('' = never, or VEX changed).
    scanned_db TEXT NOT NULL,
    scanned_at BIGINT,
    -- How many scans were recorded, and by which worker last (two workers never scan one image for one
    -- database: the tests count).
    scan_count BIGINT NOT NULL,
    scanned_by TEXT NOT NULL,
    -- Work claim: the worker holding it and until when (a dead worker's lease expires).
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX images_scanned_db ON images (scanned_db);

-- Which digest a tag points at per environment, and each move as a deploy.
CREATE TABLE tags (
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    environment TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repository, tag, environment)
);
CREATE TABLE deploys (
    id TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    environment TEXT NOT NULL,
    old_digest TEXT,
    new_digest TEXT NOT NULL,
    deployed_at BIGINT NOT NULL
);

-- A vulnerability found in an image: open while fixed_at is NULL.
CREATE TABLE findings (
    image_digest TEXT NOT NULL,
    advisory TEXT NOT NULL,
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    severity TEXT NOT NULL,
    fixed_version TEXT NOT NULL,
    -- 1 when a VEX statement suppresses it (not_affected, fixed); vex_status is the statement's status.
    suppressed BIGINT NOT NULL,
    vex_status TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    fixed_at BIGINT,
    PRIMARY KEY (image_digest, advisory, package)
);
CREATE INDEX findings_open ON findings (fixed_at, severity);

-- VEX documents per product (the latest upload replaces the previous one).
CREATE TABLE vex (
    product TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    statements BIGINT NOT NULL,
    uploaded_at BIGINT NOT NULL
);

-- API tokens: only the SHA-256 of the secret is kept.
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Alerts to deliver, written in the transaction that recorded the finding.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    -- Not before this time: the backoff after a failure, or the lease of the worker delivering it.
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, next_attempt_at);

-- The vulnerability databases the monitor has scanned with, in order.
CREATE TABLE databases (
    sha256 TEXT PRIMARY KEY,
    built_at TEXT NOT NULL,
    first_seen BIGINT NOT NULL
);
