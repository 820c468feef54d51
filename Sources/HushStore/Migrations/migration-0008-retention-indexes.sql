-- Migration 8: indexes for retention. A prune looks for suppressions that expired and holds that
-- ended before a time, oldest first; without these it read the whole table and sorted it, at
-- every prune and again for every further job while one filled its limit (at 10,000,000
-- customers, 2,000,000 suppressions scanned for each 1,000 contacts aged out). Partial: most
-- suppressions never expire and most holds have no end.
CREATE INDEX suppressions_expires ON suppressions (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX holds_ends ON holds (ends_at) WHERE ends_at IS NOT NULL;
