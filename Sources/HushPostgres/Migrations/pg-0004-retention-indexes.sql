-- PostgreSQL migration 4: indexes for retention, as SQLite's migration 8. A prune looks for
-- suppressions that expired and holds that ended before a time, oldest first; without these it
-- read the whole table at every prune. Partial: most suppressions never expire and most holds
-- have no end.
CREATE INDEX suppressions_expires ON suppressions (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX holds_ends ON holds (ends_at) WHERE ends_at IS NOT NULL;
