-- Scheduling: classes (calendar + roster), a client's bookings, and strikes.

-- Read model: one document per class occurrence (domain::scheduling::view::ClassView).
CREATE TABLE class_view (
    id            uuid        PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    status        text        NOT NULL,
    location_id   uuid,
    instructor_id uuid,
    class_type_id uuid,
    version       bigint      NOT NULL,
    doc           jsonb       NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX class_view_calendar ON class_view (tenant_id, starts_at);
-- The no-show sweeper looks for ended classes still open, across tenants.
CREATE INDEX class_view_unsettled ON class_view (ends_at) WHERE status = 'scheduled';

-- Read model: one row per booking, for a client's upcoming bookings and history.
CREATE TABLE booking_view (
    booking_id  uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    class_id    uuid        NOT NULL,
    client_id   uuid        NOT NULL,
    status      text        NOT NULL,
    starts_at   timestamptz NOT NULL,
    title       text        NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX booking_view_client ON booking_view (tenant_id, client_id, starts_at);

-- Strikes (late cancels, no-shows), written with the class events that cause them:
-- booking checks them, so they must never lag.
CREATE TABLE client_strike (
    booking_id  uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    client_id   uuid        NOT NULL,
    class_id    uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('late_cancel', 'no_show')),
    at          timestamptz NOT NULL
);
CREATE INDEX client_strike_client ON client_strike (tenant_id, client_id, at);

SELECT repstream_secure_table('class_view');
SELECT repstream_secure_table('booking_view');

GRANT SELECT, INSERT ON client_strike TO repstream_api, repstream_worker;
ALTER TABLE client_strike ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON client_strike TO repstream_api, repstream_worker
    USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant());

-- Workers report back as commands (the no-show sweeper closes ended classes), bound to
-- the tenant of each command like the API.
GRANT SELECT, INSERT ON events TO repstream_worker;
GRANT INSERT ON outbox TO repstream_worker;
CREATE POLICY worker_tenant ON events TO repstream_worker
    USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant());
CREATE POLICY worker_tenant ON outbox TO repstream_worker
    USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant());
-- The sweeper finds ended classes of every tenant.
GRANT SELECT ON class_view TO repstream_worker;
CREATE POLICY worker_sweeps ON class_view FOR SELECT TO repstream_worker USING (true);
