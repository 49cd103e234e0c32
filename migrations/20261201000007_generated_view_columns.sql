-- Read models: the columns queries filter and sort on are generated from `doc`, so the
-- projector writes one row shape for every view, (id, tenant_id, version, doc, updated_at)
-- (projector::DocumentProjection), and a column can never disagree with its document.
-- Existing rows get their values computed from their documents (same values as before).
--
-- A column cannot become generated in place: each is dropped and added back with the same
-- name, type and nullability, in one statement per table. Dropping a column drops the
-- indexes on it; they are recreated below with their names and definitions unchanged.
-- Policies and grants are untouched (none names these columns). `rebuild`'s
-- `CREATE TABLE … (LIKE … INCLUDING ALL)` copies generation expressions.
--
-- Not generated: trainer_calendar_view.trainer_id. The document does not name its trainer
-- and the row id is a v5 hash of studio and trainer; the projector takes it from the
-- stream's first event (projector/src/trainer.rs).

-- Casting text to timestamptz is only STABLE (it reads TimeZone and DateStyle, and accepts
-- 'now'), which a generation expression refuses. The documents' instants are what chrono
-- writes for DateTime<Utc>: RFC 3339 in UTC with a `Z`. This parses exactly that shape with
-- immutable functions only; anything else is NULL (and NOT NULL columns then fail the write
-- loudly). Digits past microseconds are truncated, as sqlx truncates when it binds.
CREATE FUNCTION repstream_utc(t text) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT timezone('UTC', make_timestamp(m[1]::int, m[2]::int, m[3]::int, m[4]::int, m[5]::int,
        trunc(m[6]::numeric, 6)::float8))
    FROM regexp_match(t, '^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d(?:\.\d+)?)Z$') AS m
$$;

ALTER TABLE studio_view
    DROP COLUMN name,
    ADD COLUMN name text NOT NULL GENERATED ALWAYS AS (doc->>'name') STORED;

ALTER TABLE client_view
    DROP COLUMN account_id,
    DROP COLUMN full_name,
    ADD COLUMN account_id uuid GENERATED ALWAYS AS ((doc->>'account_id')::uuid) STORED,
    ADD COLUMN full_name text NOT NULL GENERATED ALWAYS AS (doc->>'full_name') STORED;
CREATE INDEX client_view_tenant_name ON client_view (tenant_id, lower(full_name), id);

ALTER TABLE class_type_view
    DROP COLUMN name,
    DROP COLUMN archived,
    ADD COLUMN name text NOT NULL GENERATED ALWAYS AS (doc->>'name') STORED,
    ADD COLUMN archived boolean NOT NULL GENERATED ALWAYS AS ((doc->'archived')::boolean) STORED;
CREATE INDEX class_type_view_list ON class_type_view (tenant_id, archived, name);

ALTER TABLE class_view
    DROP COLUMN starts_at,
    DROP COLUMN ends_at,
    DROP COLUMN status,
    DROP COLUMN location_id,
    DROP COLUMN instructor_id,
    DROP COLUMN class_type_id,
    ADD COLUMN starts_at timestamptz NOT NULL GENERATED ALWAYS AS (repstream_utc(doc->>'starts_at')) STORED,
    ADD COLUMN ends_at timestamptz NOT NULL GENERATED ALWAYS AS (repstream_utc(doc->>'ends_at')) STORED,
    ADD COLUMN status text NOT NULL GENERATED ALWAYS AS (doc->>'status') STORED,
    ADD COLUMN location_id uuid GENERATED ALWAYS AS ((doc->>'location_id')::uuid) STORED,
    ADD COLUMN instructor_id uuid GENERATED ALWAYS AS ((doc->>'instructor_id')::uuid) STORED,
    ADD COLUMN class_type_id uuid GENERATED ALWAYS AS ((doc->>'class_type_id')::uuid) STORED;
CREATE INDEX class_view_calendar ON class_view (tenant_id, starts_at);
-- The no-show sweeper looks for ended classes still open, across tenants.
CREATE INDEX class_view_unsettled ON class_view (ends_at) WHERE status = 'scheduled';
