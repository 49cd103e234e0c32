-- 1:1 appointments (issue 4, item 8).
-- Read model: each trainer's bookable calendar in a studio (availability rules, time off,
-- active appointments), one row per trainer-calendar stream. The slot computation runs in
-- the API on this document, with the same pure function the aggregate uses to validate.
CREATE TABLE trainer_calendar_view (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    trainer_id  uuid        NOT NULL,
    version     bigint      NOT NULL,
    doc         jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX trainer_calendar_view_trainer ON trainer_calendar_view (tenant_id, trainer_id);

SELECT repstream_secure_table('trainer_calendar_view');

-- `projector rebuild` re-secures a swapped-in table with this function, so every right on a
-- read model must come from here: the no-show sweeper's read of class_view (migration 3
-- granted it by hand, and a rebuild of class_view dropped it).
CREATE OR REPLACE FUNCTION repstream_secure_table(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COMMENT ON TABLE %I IS %L', tbl, 'read model; rebuildable from events');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', tbl);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I FOR SELECT TO repstream_api USING (tenant_id = repstream_tenant())', tbl);
    EXECUTE format('DROP POLICY IF EXISTS projector_all ON %I', tbl);
    EXECUTE format('CREATE POLICY projector_all ON %I TO repstream_projector USING (true)', tbl);
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
