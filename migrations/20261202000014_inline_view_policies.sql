-- Read-model policies Postgres can inline (issue 8, view GETs). Two costs per view read
-- go away:
-- * `not_in_commands` called a plpgsql function on every row; it is now a SQL
--   expression the planner inlines, and plpgsql runs only to raise the error.
-- * `member_access` on studio_view was a permissive policy whose hashed subplan over
--   studio_membership was initialised by every statement (policies are OR-ed in name
--   order, so it even ran first). Members' cross-studio reads (GET /studios, GET /me)
--   now go through one policy, `tenant_id = bound tenant OR a member of it`, whose
--   second arm is a function called only when the first is false.
-- Never edit this file once landed: add a new migration.

-- Raises; never returns. Only reached inside a command transaction.
CREATE FUNCTION repstream_refuse_view_read() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RAISE EXCEPTION 'a read model was read inside a command transaction'
        USING ERRCODE = 'insufficient_privilege', HINT = 'commands read their stream and the studio directory, never *_view';
END
$$;

-- STABLE like everything it calls, and a single expression: inlined into the policy.
CREATE OR REPLACE FUNCTION repstream_outside_command() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT current_setting('app.command', true) IS DISTINCT FROM 'on' OR repstream_refuse_view_read()
$$;

-- Is the bound account a member of `p_tenant`? Not inlinable (a sub-select): as an OR
-- arm it runs only for rows the bound tenant does not already admit.
CREATE FUNCTION repstream_member_of(p_tenant uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM studio_membership m
                    WHERE m.tenant_id = p_tenant AND m.account_id = repstream_account())
$$;

CREATE OR REPLACE FUNCTION repstream_secure_table(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COMMENT ON TABLE %I IS %L', tbl, 'read model; rebuildable from events');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', tbl);
    IF tbl = 'studio_view' THEN
        -- Members see the studios they belong to (GET /studios, GET /me).
        EXECUTE 'DROP POLICY IF EXISTS member_access ON studio_view';
        EXECUTE 'CREATE POLICY tenant_isolation ON studio_view FOR SELECT TO repstream_api '
                'USING (tenant_id = repstream_tenant() OR repstream_member_of(tenant_id))';
    ELSE
        EXECUTE format('CREATE POLICY tenant_isolation ON %I FOR SELECT TO repstream_api USING (tenant_id = repstream_tenant())', tbl);
    END IF;
    EXECUTE format('DROP POLICY IF EXISTS projector_all ON %I', tbl);
    EXECUTE format('CREATE POLICY projector_all ON %I TO repstream_projector USING (true)', tbl);
    EXECUTE format('DROP POLICY IF EXISTS not_in_commands ON %I', tbl);
    EXECUTE format('CREATE POLICY not_in_commands ON %I AS RESTRICTIVE FOR SELECT TO repstream_api USING (repstream_outside_command())', tbl);
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
SELECT repstream_secure_table('studio_view');
