-- PostgreSQL migration 3: what an erasure made unreachable in the decision logs. Each node keeps
-- its own decision log; an erasure through one node names here, in its own transaction, the
-- keyed hashes (under the decision log's key, never the id or an address) of the subjects it
-- erased, and every node erases them from its log when the stream brings the row.
CREATE TABLE log_erasures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subjects text NOT NULL CHECK (subjects ~ '^[0-9a-f]{32}(,[0-9a-f]{32})*$'),
    at bigint NOT NULL
);
ALTER PUBLICATION hush ADD TABLE log_erasures;
