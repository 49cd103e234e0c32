-- The command path (issue 8): one transaction on committed state.
--
-- * Streams are keyed by tenant: `events` is keyed (tenant_id, aggregate_type,
--   aggregate_id, sequence), tenant first, the distribution key a sharded Postgres (Citus)
--   would use. A command loads `WHERE tenant_id = $1 AND ...`, so another studio's rows
--   are never read, locked or waited on.
-- * `stream_claim` keeps aggregate ids unique across tenants (views and SQS groups are
--   keyed by id): a studio that picks an id another studio uses gets `409 id_taken` at
--   once. On Citus it is a reference table, written once per stream.
-- * `snapshots`: our own (cqrs-es 0.5's snapshot mode applies events twice), written in
--   the command's transaction every N events, so a command costs the same on a stream
--   of 10 or 10,000 events.
-- * The studio directory: state a command reads about *other* aggregates (locations,
--   client records, class slots, appointments, the studio's zone and policy), written by
--   transaction hooks together with the events it derives from. Commands never read
--   `*_view` tables; a restrictive policy makes such a read fail loudly.
-- * `idempotency_key`: Stripe-style `Idempotency-Key` replay.
-- Never edit this file once landed: add a new migration.

-- Streams keyed by tenant.
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, aggregate_type, aggregate_id, sequence);
-- A unique key must include the distribution column.
ALTER TABLE events DROP CONSTRAINT events_event_id_key;
ALTER TABLE events ADD CONSTRAINT events_event_id_key UNIQUE (tenant_id, event_id);
-- Projector and rebuild read one stream by type and id (all tenants).
CREATE INDEX events_stream ON events (aggregate_type, aggregate_id, sequence);

CREATE TABLE stream_claim (
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    tenant_id      uuid        NOT NULL,
    claimed_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stream_claim_pkey PRIMARY KEY (aggregate_type, aggregate_id)
);
INSERT INTO stream_claim (aggregate_type, aggregate_id, tenant_id)
    SELECT aggregate_type, aggregate_id, min(tenant_id::text)::uuid FROM events
    WHERE sequence = 1 GROUP BY aggregate_type, aggregate_id;

-- One snapshot per stream, replaced as the stream grows. `format` names the aggregate
-- type and its snapshot version: a snapshot of another format is ignored (full replay).
CREATE TABLE snapshots (
    tenant_id      uuid        NOT NULL,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    sequence       bigint      NOT NULL CHECK (sequence > 0),
    format         text        NOT NULL,
    state          jsonb       NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, aggregate_type, aggregate_id)
);

-- Loads one stream for a command: optionally serialises writers of the stream (an
-- advisory lock held to the end of the transaction, so concurrent commands on one stream
-- queue instead of failing on the primary key), then returns the newest usable snapshot
-- (is_snapshot) and the events after it. Each statement of a plpgsql function takes a
-- fresh snapshot, so what is read after the lock includes the previous writer's commit.
CREATE FUNCTION repstream_load_stream(p_tenant uuid, p_type text, p_id text, p_lock boolean, p_format text)
RETURNS TABLE (sequence bigint, event_type text, event_version text, payload jsonb, is_snapshot boolean)
LANGUAGE plpgsql AS $$
DECLARE
    snap_seq bigint;
    snap_state jsonb;
BEGIN
    IF p_lock THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text || '/' || p_type || '/' || p_id, 0));
    END IF;
    SELECT s.sequence, s.state INTO snap_seq, snap_state FROM snapshots s
        WHERE s.tenant_id = p_tenant AND s.aggregate_type = p_type AND s.aggregate_id = p_id
          AND s.format = p_format;
    -- Never trust a snapshot ahead of the stream.
    IF snap_seq IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM events e WHERE e.tenant_id = p_tenant AND e.aggregate_type = p_type
            AND e.aggregate_id = p_id AND e.sequence = snap_seq) THEN
        snap_seq := NULL;
    END IF;
    IF snap_seq IS NOT NULL THEN
        RETURN QUERY SELECT snap_seq, NULL::text, NULL::text, snap_state, true;
    END IF;
    RETURN QUERY SELECT e.sequence, e.event_type, e.event_version, e.payload, false FROM events e
        WHERE e.tenant_id = p_tenant AND e.aggregate_type = p_type AND e.aggregate_id = p_id
          AND e.sequence > COALESCE(snap_seq, 0)
        ORDER BY e.sequence;
END
$$;

-- Binds a transaction (or a single statement) to a tenant and a caller, and answers in
-- the same round trip: is the caller's session open, their role in the studio, the
-- studio's zone and settings, and a stored idempotent reply for (caller, key).
-- p_command marks a command transaction: read models refuse to be read in it.
-- With a key, writers of the same (caller, key) are serialised first, so a retry that
-- races the original waits for it and then replays it.
CREATE FUNCTION repstream_enter(p_tenant uuid, p_account uuid, p_session uuid, p_command boolean, p_idem_key text)
RETURNS TABLE (session_open boolean, role text, timezone text, settings jsonb, idem_fingerprint text, idem_reply jsonb)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.tenant_id', COALESCE(p_tenant::text, ''), true),
            set_config('app.account_id', COALESCE(p_account::text, ''), true),
            set_config('app.command', CASE WHEN p_command THEN 'on' ELSE '' END, true);
    IF p_idem_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_account::text || '/' || p_idem_key, 1));
    END IF;
    RETURN QUERY SELECT
        EXISTS (SELECT 1 FROM auth_session s WHERE s.id = p_session AND s.account_id = p_account
                AND s.revoked_at IS NULL),
        (SELECT m.role FROM studio_membership m WHERE m.tenant_id = p_tenant AND m.account_id = p_account),
        (SELECT p.timezone FROM studio_profile p WHERE p.tenant_id = p_tenant),
        (SELECT p.settings FROM studio_profile p WHERE p.tenant_id = p_tenant),
        k.fingerprint, k.reply
    FROM (SELECT 1) AS one
    LEFT JOIN idempotency_key k ON p_idem_key IS NOT NULL AND k.account_id = p_account AND k.key = p_idem_key
        AND k.created_at > now() - interval '24 hours';
END
$$;

-- The studio directory (write side; inline, never lags its events).
CREATE TABLE studio_profile (
    tenant_id  uuid  PRIMARY KEY,
    timezone   text  NOT NULL,
    settings   jsonb NOT NULL
);
CREATE TABLE studio_location (
    tenant_id   uuid NOT NULL,
    location_id uuid NOT NULL,
    name        text NOT NULL,
    timezone    text,
    PRIMARY KEY (tenant_id, location_id)
);
CREATE TABLE client_record (
    tenant_id   uuid   NOT NULL,
    client_id   uuid   NOT NULL,
    account_id  uuid,
    email       text,
    trainers    uuid[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, client_id)
);
CREATE INDEX client_record_account ON client_record (tenant_id, account_id) WHERE account_id IS NOT NULL;
CREATE INDEX client_record_email ON client_record (tenant_id, lower(email)) WHERE email IS NOT NULL;
-- What each class occupies: instructor conflicts, series cancellation.
CREATE TABLE class_slot (
    tenant_id     uuid        NOT NULL,
    class_id      uuid        NOT NULL,
    schedule_id   uuid,
    instructor_id uuid,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    status        text        NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'closed')),
    PRIMARY KEY (tenant_id, class_id)
);
CREATE INDEX class_slot_instructor ON class_slot (tenant_id, instructor_id, starts_at) WHERE status <> 'cancelled';
CREATE INDEX class_slot_schedule ON class_slot (tenant_id, schedule_id, starts_at) WHERE schedule_id IS NOT NULL;
-- Booked 1:1 appointments: a trainer's classes must not overlap them.
CREATE TABLE appointment_slot (
    tenant_id      uuid        NOT NULL,
    appointment_id uuid        NOT NULL,
    trainer_id     uuid        NOT NULL,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, appointment_id)
);
CREATE INDEX appointment_slot_trainer ON appointment_slot (tenant_id, trainer_id, starts_at);

-- Backfill the directory from history (existing clusters).
INSERT INTO studio_profile (tenant_id, timezone, settings)
    SELECT tenant_id, payload->>'timezone', '{}'::jsonb FROM events
    WHERE aggregate_type = 'studio' AND event_type = 'StudioCreated'
    ON CONFLICT DO NOTHING;
UPDATE studio_profile p SET settings = s.settings FROM (
    SELECT DISTINCT ON (tenant_id) tenant_id, payload->'settings' AS settings FROM events
    WHERE aggregate_type = 'studio' AND event_type = 'StudioSettingsUpdated'
    ORDER BY tenant_id, sequence DESC) s
    WHERE s.tenant_id = p.tenant_id;
INSERT INTO studio_location (tenant_id, location_id, name, timezone)
    SELECT tenant_id, (payload->>'location_id')::uuid, payload->>'name', payload->>'timezone' FROM events
    WHERE aggregate_type = 'studio' AND event_type = 'LocationAdded'
    ON CONFLICT DO NOTHING;
UPDATE studio_location l SET name = r.name FROM (
    SELECT DISTINCT ON (tenant_id, payload->>'location_id') tenant_id, (payload->>'location_id')::uuid AS id,
        payload->>'name' AS name FROM events
    WHERE aggregate_type = 'studio' AND event_type = 'LocationRenamed'
    ORDER BY tenant_id, payload->>'location_id', sequence DESC) r
    WHERE r.tenant_id = l.tenant_id AND r.id = l.location_id;
INSERT INTO client_record (tenant_id, client_id, account_id, email, trainers)
    SELECT tenant_id, id, account_id, email, trainers FROM (
        SELECT c.tenant_id, c.id, c.account_id, c.doc->>'email' AS email,
            COALESCE(ARRAY(SELECT jsonb_array_elements_text(c.doc->'assigned_trainers')::uuid), '{}') AS trainers
        FROM client_view c) x
    ON CONFLICT DO NOTHING;
INSERT INTO class_slot (tenant_id, class_id, schedule_id, instructor_id, starts_at, ends_at, status)
    SELECT tenant_id, id, NULLIF(doc->>'schedule_id', '')::uuid, instructor_id, starts_at, ends_at,
        CASE WHEN status IN ('scheduled', 'cancelled', 'closed') THEN status ELSE 'scheduled' END
    FROM class_view
    ON CONFLICT DO NOTHING;

-- Idempotent replies, per caller and key, kept 24 hours.
CREATE TABLE idempotency_key (
    account_id  uuid        NOT NULL,
    key         text        NOT NULL,
    tenant_id   uuid,
    -- SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint text        NOT NULL,
    -- {status, body, headers} of the first successful response.
    reply       jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_key_created ON idempotency_key (created_at);

-- Grants and row-level security.
GRANT SELECT, INSERT, UPDATE ON snapshots TO repstream_api, repstream_worker;
GRANT SELECT, INSERT ON stream_claim TO repstream_api, repstream_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON studio_profile, studio_location, client_record, class_slot, appointment_slot
    TO repstream_api, repstream_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_key TO repstream_api;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['snapshots', 'studio_profile', 'studio_location', 'client_record', 'class_slot', 'appointment_slot'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I TO repstream_api, repstream_worker '
            'USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant())', t);
    END LOOP;
END
$$;
-- A claim is checked against every tenant's (that is its point) but reveals only that an
-- id is taken; rows are written for the bound tenant only.
ALTER TABLE stream_claim ENABLE ROW LEVEL SECURITY;
CREATE POLICY claim_insert ON stream_claim FOR INSERT TO repstream_api, repstream_worker
    WITH CHECK (tenant_id = repstream_tenant());
CREATE POLICY claim_read ON stream_claim FOR SELECT TO repstream_api, repstream_worker
    USING (tenant_id = repstream_tenant());
ALTER TABLE idempotency_key ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_keys ON idempotency_key TO repstream_api
    USING (account_id = repstream_account()) WITH CHECK (account_id = repstream_account());

-- Read models are for queries: reading one inside a command transaction is a design
-- error (rule 1 of the consistency rules) and fails loudly.
CREATE FUNCTION repstream_outside_command() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF current_setting('app.command', true) = 'on' THEN
        RAISE EXCEPTION 'a read model was read inside a command transaction'
            USING ERRCODE = 'insufficient_privilege', HINT = 'commands read their stream and the studio directory, never *_view';
    END IF;
    RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION repstream_secure_table(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COMMENT ON TABLE %I IS %L', tbl, 'read model; rebuildable from events');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', tbl);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I FOR SELECT TO repstream_api USING (tenant_id = repstream_tenant())', tbl);
    EXECUTE format('DROP POLICY IF EXISTS projector_all ON %I', tbl);
    EXECUTE format('CREATE POLICY projector_all ON %I TO repstream_projector USING (true)', tbl);
    EXECUTE format('DROP POLICY IF EXISTS not_in_commands ON %I', tbl);
    EXECUTE format('CREATE POLICY not_in_commands ON %I AS RESTRICTIVE FOR SELECT TO repstream_api USING (repstream_outside_command())', tbl);
    IF tbl = 'studio_view' THEN
        -- Members see the studios they belong to (GET /studios, GET /me).
        EXECUTE 'DROP POLICY IF EXISTS member_access ON studio_view';
        EXECUTE 'CREATE POLICY member_access ON studio_view FOR SELECT TO repstream_api USING (tenant_id IN (SELECT m.tenant_id FROM studio_membership m WHERE m.account_id = repstream_account()))';
    END IF;
    IF tbl = 'class_view' THEN
        -- The no-show sweeper finds ended classes of every tenant.
        EXECUTE 'GRANT SELECT ON class_view TO repstream_worker';
        EXECUTE 'DROP POLICY IF EXISTS worker_sweeps ON class_view';
        EXECUTE 'CREATE POLICY worker_sweeps ON class_view FOR SELECT TO repstream_worker USING (true)';
    END IF;
    EXECUTE format('GRANT SELECT ON %I TO repstream_api', tbl);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO repstream_projector', tbl);
END
$$;
SELECT repstream_secure_table(c.relname) FROM pg_class c
    WHERE c.relkind = 'r' AND c.relname LIKE '%\_view' AND c.relnamespace = 'public'::regnamespace;

-- One view document by id in one round trip, with the caller's session and role: a GET
-- needs no transaction of its own (set_config is local to this statement's transaction).
CREATE FUNCTION repstream_read_doc(p_table text, p_id uuid, p_tenant uuid, p_account uuid, p_session uuid)
RETURNS TABLE (session_open boolean, role text, doc jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    d jsonb;
    s boolean;
    r text;
BEGIN
    IF p_table !~ '^[a-z_]+_view$' THEN
        RAISE EXCEPTION 'not a read model: %', p_table;
    END IF;
    SELECT e.session_open, e.role INTO s, r FROM repstream_enter(p_tenant, p_account, p_session, false, NULL) e;
    IF s AND r IS NOT NULL THEN
        EXECUTE format('SELECT doc FROM %I WHERE id = $1', p_table) INTO d USING p_id;
    END IF;
    RETURN QUERY SELECT s, r, d;
END
$$;
