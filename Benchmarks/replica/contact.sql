-- One contact recorded, as POST /v1/contacts writes it, for pgbench -f: the load that
-- `replica-bench follow` measures a node's lag under, without hush's own write path.
\set c random(1, 10000)
INSERT INTO contacts (customer_id, channel, purpose, at, campaign_id)
VALUES ('P' || :c, 'email', 'marketing', (extract(epoch from clock_timestamp()) * 1000)::bigint, NULL);
