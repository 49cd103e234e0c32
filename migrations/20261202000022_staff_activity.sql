-- Staff activity and daily digests (issue 12).
-- Never edit this file once landed: add a new migration.

-- What happened in a staff member's classes and calendar: written by the projector in
-- the transaction that projects the event (one row per event and staff member, so a
-- redelivered event writes nothing new); the digest sweep folds the rows of a day into
-- one email and marks them with that digest's id.
CREATE TABLE staff_activity (
    id           uuid        PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    account_id   uuid        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    -- What the digest lists (class title, client, start, what happened).
    data         jsonb       NOT NULL,
    digest_id    uuid,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_activity_undigested ON staff_activity (account_id, occurred_at)
    WHERE digest_id IS NULL;
CREATE INDEX staff_activity_age ON staff_activity (occurred_at);
ALTER TABLE staff_activity ENABLE ROW LEVEL SECURITY;
CREATE POLICY projector_all ON staff_activity TO repstream_projector USING (true);
CREATE POLICY worker_all ON staff_activity TO repstream_worker USING (true);
GRANT SELECT, INSERT ON staff_activity TO repstream_projector;
GRANT SELECT, UPDATE, DELETE ON staff_activity TO repstream_worker;

-- The address of a studio's staff member (not of a client, not of anyone outside the
-- studio): the projector addresses staff notifications with it. A narrow function
-- instead of the projector reading `account`.
CREATE FUNCTION repstream_staff_email(tenant uuid, staff uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT a.email FROM account a
    JOIN studio_membership m ON m.account_id = a.id AND m.tenant_id = tenant
    WHERE a.id = staff AND m.role <> 'client'
$$;
REVOKE ALL ON FUNCTION repstream_staff_email(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repstream_staff_email(uuid, uuid) TO repstream_projector;
