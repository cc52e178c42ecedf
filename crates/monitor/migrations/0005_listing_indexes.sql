-- pare monitor schema, version 5: indexes for the dashboard's lists at fleet size.
-- The oldest current images: read in order from the index (was: every current image sorted).
CREATE INDEX images_current_age ON images (current, (COALESCE(created_at, registered_at)), digest);
-- Images with a rebuild advised or a newer base: found from the few flagged rows (was: a probe per current
-- image).
CREATE INDEX advice_flagged ON advice (digest) WHERE rebuild_advised = 1 OR newer_base_digest <> '';
