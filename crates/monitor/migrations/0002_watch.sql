-- pare monitor schema, version 2: registry watches. Same rules as 0001 (TEXT and BIGINT only, ids made
-- by pare, one SQL for SQLite and PostgreSQL).

-- A registry repository checked on a schedule: its tags (all, or those matching `tags`) are resolved to
-- digests; a digest not seen before is pulled, cataloged and registered, a tag that moved is a deploy.
CREATE TABLE watches (
    id TEXT PRIMARY KEY,
    -- `registry/repository`, normalised as pare parses references (`docker.io/library/debian`).
    repository TEXT NOT NULL,
    -- JSON array of tags or wildcard patterns (`*`, `?`); `[]` = every tag of the repository.
    tags TEXT NOT NULL,
    environment TEXT NOT NULL,
    team TEXT NOT NULL,
    interval_seconds BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The last check: when it ended, what failed ('' when nothing did), the tags it resolved (JSON object
    -- tag -> {digest of the tag, digest of the registered image}).
    last_checked_at BIGINT,
    last_error TEXT NOT NULL,
    tags_seen TEXT NOT NULL,
    -- Not before this time (Unix seconds).
    next_check_at BIGINT NOT NULL,
    -- Work claim: the server checking it and until when (a dead server's lease expires).
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX watches_due ON watches (next_check_at);
