-- pare monitor schema, version 4: queries that stay fast at 10,000 images.
-- The inventories (tens of kilobytes each) move to a table of their own: in SQLite a row's later
-- columns are read through its large value's overflow pages, so every list and claim paid for them.
CREATE TABLE inventories (
    digest TEXT PRIMARY KEY,
    inventory TEXT NOT NULL
);
INSERT INTO inventories (digest, inventory) SELECT digest, inventory FROM images;
ALTER TABLE images DROP COLUMN inventory;

-- Open findings (not fixed, not suppressed) per image by severity, and what was remediated (findings
-- fixed, seconds from first seen to fixed summed): written with each scan, read by lists and metrics.
ALTER TABLE images ADD COLUMN open_critical BIGINT NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN open_high BIGINT NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN open_medium BIGINT NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN open_low BIGINT NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN open_other BIGINT NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN fixed_findings BIGINT NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN remediation_seconds BIGINT NOT NULL DEFAULT 0;
UPDATE images SET
    open_critical = (SELECT COUNT(*) FROM findings f WHERE f.image_digest = images.digest AND f.fixed_at IS NULL
                     AND f.suppressed = 0 AND f.severity = 'critical'),
    open_high = (SELECT COUNT(*) FROM findings f WHERE f.image_digest = images.digest AND f.fixed_at IS NULL
                 AND f.suppressed = 0 AND f.severity = 'high'),
    open_medium = (SELECT COUNT(*) FROM findings f WHERE f.image_digest = images.digest AND f.fixed_at IS NULL
                   AND f.suppressed = 0 AND f.severity = 'medium'),
    open_low = (SELECT COUNT(*) FROM findings f WHERE f.image_digest = images.digest AND f.fixed_at IS NULL
                AND f.suppressed = 0 AND f.severity = 'low'),
    open_other = (SELECT COUNT(*) FROM findings f WHERE f.image_digest = images.digest AND f.fixed_at IS NULL
                  AND f.suppressed = 0 AND f.severity NOT IN ('critical', 'high', 'medium', 'low')),
    fixed_findings = (SELECT COUNT(*) FROM findings f WHERE f.image_digest = images.digest
                      AND f.fixed_at IS NOT NULL),
    remediation_seconds = (SELECT COALESCE(SUM(f.fixed_at - f.first_seen), 0) FROM findings f
                           WHERE f.image_digest = images.digest AND f.fixed_at IS NOT NULL);
-- The orders an image list is read in (a page is read from the index, not sorted from every row).
CREATE INDEX images_current ON images (current, environment, team);
CREATE INDEX images_registered ON images (registered_at, digest);
CREATE INDEX images_risk ON images (open_critical, open_high, open_medium, registered_at, digest);
CREATE INDEX images_age ON images ((COALESCE(created_at, registered_at)), digest);

-- The trend: open critical and high findings on the current images of each environment and team, the
-- last value of each day (Unix day number). Written as things change, so a day shows what was deployed
-- then (a deploy of another digest changes the figures from that day on).
CREATE TABLE trend_samples (
    environment TEXT NOT NULL,
    team TEXT NOT NULL,
    day BIGINT NOT NULL,
    at BIGINT NOT NULL,
    critical BIGINT NOT NULL,
    high BIGINT NOT NULL,
    PRIMARY KEY (environment, team, day)
);
