-- Outgoing webhooks (issue 12): Standard Webhooks deliveries of a studio's public events.
-- Never edit this file once landed: add a new migration.
--
--   webhook_endpoint_view   the endpoint read model (GETs)
--   webhook_endpoint        the directory: written with the endpoint's events (TxHook),
--                           read by the projector (fan-out) and the delivery worker
--   webhook_delivery        one row per (event, endpoint), written in the projector's
--                           transaction; the worker's queue (state, lease, next attempt)
--   webhook_attempt         one row per HTTP attempt: the delivery log

CREATE TABLE webhook_endpoint_view (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    version     bigint      NOT NULL,
    doc         jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted     boolean     GENERATED ALWAYS AS ((doc->>'deleted')::boolean) STORED,
    created_at  timestamptz GENERATED ALWAYS AS (repstream_utc(doc->>'created_at')) STORED
);
CREATE INDEX webhook_endpoint_view_list ON webhook_endpoint_view (tenant_id, created_at, id);
SELECT repstream_secure_table('webhook_endpoint_view');

-- No secret here either: the worker derives it from the key and `secret_version`.
CREATE TABLE webhook_endpoint (
    tenant_id             uuid        NOT NULL,
    endpoint_id           uuid        NOT NULL,
    url                   text        NOT NULL,
    -- Catalogue types, or {'*'}.
    event_types           text[]      NOT NULL,
    active                boolean     NOT NULL DEFAULT true,
    secret_version        integer     NOT NULL DEFAULT 1,
    -- After a rotation, the previous version (secret_version - 1) signs too until then.
    previous_secret_until timestamptz,
    registered_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, endpoint_id)
);

CREATE TABLE webhook_delivery (
    -- Derived from (event id, endpoint id): a redelivered or re-projected event never
    -- makes a second row (ON CONFLICT DO NOTHING). Sent as `webhook-id`, the same on
    -- every attempt, so receivers can deduplicate.
    id              uuid        PRIMARY KEY,
    tenant_id       uuid        NOT NULL,
    endpoint_id     uuid        NOT NULL,
    -- The domain event it announces (NULL for a `webhook.test`).
    event_id        uuid,
    event_type      text        NOT NULL,
    -- The exact bytes that are signed and POSTed.
    body            text        NOT NULL,
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts        integer     NOT NULL DEFAULT 0,
    -- Attempts made before the last manual redelivery (the retry budget restarts there).
    attempts_before integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker's claim: nobody else attempts it until then (a crashed worker's claim
    -- expires and the delivery is attempted again, with the same id).
    lease_until     timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_delivery_log ON webhook_delivery (tenant_id, endpoint_id, created_at DESC, id DESC);

CREATE TABLE webhook_attempt (
    delivery_id   uuid        NOT NULL REFERENCES webhook_delivery (id),
    attempt       integer     NOT NULL,
    tenant_id     uuid        NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    status_code   integer,
    duration_ms   integer     NOT NULL,
    error         text,
    -- The first KiB of the receiver's answer.
    response_body text,
    PRIMARY KEY (delivery_id, attempt)
);

-- Grants: the API reads and manages its tenant's rows; the endpoint's command path
-- (API, and the worker reporting a 410) writes the directory; the projector reads the
-- directory of every tenant and inserts deliveries; the worker finds due deliveries
-- across tenants and claims, attempts and records each bound to its tenant.
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoint TO repstream_api, repstream_worker;
GRANT SELECT ON webhook_endpoint TO repstream_projector;
GRANT SELECT, INSERT, UPDATE ON webhook_delivery TO repstream_api, repstream_worker;
GRANT SELECT, INSERT ON webhook_delivery TO repstream_projector;
GRANT SELECT ON webhook_attempt TO repstream_api;
GRANT SELECT, INSERT ON webhook_attempt TO repstream_worker;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['webhook_endpoint', 'webhook_delivery', 'webhook_attempt'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I TO repstream_api, repstream_worker '
            'USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant())', t);
    END LOOP;
END
$$;
CREATE POLICY projector_reads_all ON webhook_endpoint FOR SELECT TO repstream_projector USING (true);
CREATE POLICY projector_fans_out ON webhook_delivery FOR INSERT TO repstream_projector WITH CHECK (true);
-- ON CONFLICT DO NOTHING needs to see the conflicting row.
CREATE POLICY projector_reads_all ON webhook_delivery FOR SELECT TO repstream_projector USING (true);
-- Finding due deliveries spans tenants (that is the sweep's job, ranked per tenant);
-- claiming and recording stay bound to the delivery's tenant.
CREATE POLICY worker_sweeps ON webhook_delivery FOR SELECT TO repstream_worker USING (true);
