-- Migration 4: the meta key that says what the records were built for is named for what it
-- holds (the lookback in milliseconds times 256, plus the record format's version), not
-- only the lookback.
UPDATE meta SET key = 'records_built_for' WHERE key = 'facts_lookback_ms';
