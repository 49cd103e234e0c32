-- The event store, the transactional outbox, projector checkpoints and the first read
-- model. Never edit this file once landed: add a new migration.

-- One row per event: the source of truth and the audit log. Written only by
-- common::event_store::PgEventRepository, in the same transaction as the outbox rows.
CREATE TABLE events (
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    -- 1-based position in the aggregate's stream; the primary key makes a concurrent
    -- writer of the same sequence lose (optimistic concurrency).
    sequence       bigint      NOT NULL CHECK (sequence > 0),
    event_type     text        NOT NULL,
    event_version  text        NOT NULL,
    payload        jsonb       NOT NULL,
    -- correlation_id, causation_id, actor, request_id (and tenant_id, duplicated below)
    metadata       jsonb       NOT NULL,
    event_id       uuid        NOT NULL,
    tenant_id      uuid        NOT NULL,
    -- Global insertion order. Identity values are taken at insert and commit out of
    -- order: never use this as a "last seen" cursor for live delivery (the relay reads
    -- the outbox by state instead). It is fine for ordered replay of committed history.
    position       bigint      GENERATED ALWAYS AS IDENTITY,
    occurred_at    timestamptz NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (aggregate_type, aggregate_id, sequence),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);
CREATE INDEX events_type_position ON events (aggregate_type, position);
CREATE INDEX events_tenant_position ON events (tenant_id, position);

-- Messages waiting for the relay. A row is inserted with its event, in the same
-- transaction, and marked published only after SQS accepted it.
CREATE TABLE outbox (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL,
    tenant_id    uuid        NOT NULL,
    -- SQS FIFO MessageGroupId: per-aggregate ordering.
    aggregate_id text        NOT NULL,
    -- The wire envelope, exactly as sent (see README, "Event envelope").
    message      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Wake the relay on commit (NOTIFY is delivered at commit, never for a rolled-back
-- insert). One notification per statement is enough: the relay drains in batches.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Per-stream, per-projection progress of the projector. Advanced in the same
-- transaction as the view rows it describes.
CREATE TABLE projection_checkpoint (
    projection     text        NOT NULL,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    tenant_id      uuid        NOT NULL,
    last_sequence  bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, aggregate_type, aggregate_id)
);

-- Read model: one document per studio (domain::studio::view::StudioView).
CREATE TABLE studio_view (
    id         uuid        PRIMARY KEY,
    tenant_id  uuid        NOT NULL,
    name       text        NOT NULL,
    version    bigint      NOT NULL,
    doc        jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX studio_view_tenant ON studio_view (tenant_id);

-- Consumers' idempotency ledger: a job or message id is processed once per consumer.
CREATE TABLE processed_message (
    consumer     text        NOT NULL,
    message_id   uuid        NOT NULL,
    tenant_id    uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

-- Applied to every read-model table, including a freshly rebuilt one (CREATE TABLE
-- ... LIKE copies neither grants nor policies). Later migrations redefine it as access
-- control grows; `rebuild` always calls the current definition.
CREATE FUNCTION repstream_secure_table(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COMMENT ON TABLE %I IS %L', tbl, 'read model; rebuildable from events');
END
$$;
SELECT repstream_secure_table('studio_view');
