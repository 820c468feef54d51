-- PostgreSQL migration 2: the nodes that follow the primary, by their replication slot, and
-- when each last said it was alive. A slot whose node has not been seen for longer than its
-- setting (store.postgres.drop_idle_slot_s) is dropped by the other nodes, so that a node that
-- is gone for good stops holding the primary's WAL. Not published: nodes do not copy it.
CREATE TABLE nodes (
    slot text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
