-- pare monitor schema, version 3: rebuild advice. TEXT and BIGINT only, as version 1.

-- Per image: where it comes from (as its upload said) and what the last advice check found. A failed
-- check sets `error` and keeps the last advice (`updates`, `checked_at`): it is never dropped silently.
CREATE TABLE advice (
    digest TEXT PRIMARY KEY,
    -- 1 when the upload said pare built the image (its history says `created_by: pare`).
    pare_built BIGINT NOT NULL,
    -- The base image it was built on (`org.opencontainers.image.base.name` / `.digest`), '' = none.
    base_name TEXT NOT NULL,
    base_digest TEXT NOT NULL,
    -- The last successful comparison with the Debian archive: when, the release, the pockets read (JSON
    -- list of suite, url, Release date), 1 if a rebuild is advised, the updates (JSON).
    checked_at BIGINT,
    release TEXT NOT NULL,
    pockets TEXT NOT NULL,
    rebuild_advised BIGINT NOT NULL,
    updates TEXT NOT NULL,
    -- The last check's failure ('' = it succeeded) and when.
    error TEXT NOT NULL,
    error_at BIGINT,
    -- The base's tag resolved in its registry: its digest when it moved from base_digest ('' = not moved),
    -- when it was resolved, and the failure of the last resolution ('' = none).
    newer_base_digest TEXT NOT NULL,
    base_checked_at BIGINT,
    base_error TEXT NOT NULL
);
CREATE INDEX advice_advised ON advice (rebuild_advised);
