-- Identity, memberships, client records, and tenant isolation by row-level security.
--
-- Service roles: each process connects with its own role holding only what it needs.
--   repstream_api        commands (events + outbox + inline state) and reads; bound by RLS
--   repstream_projector  reads events, writes views and checkpoints
--   repstream_relay      reads and marks the outbox
--   repstream_worker     records processed jobs
-- Passwords are set by operators (ALTER ROLE ... PASSWORD); local clusters use trust auth.
-- Roles are cluster-wide: tolerate a concurrent migration of another database creating them.
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['repstream_api', 'repstream_projector', 'repstream_relay', 'repstream_worker'] LOOP
        -- Only the migration that creates a role configures it: role rows are shared
        -- by every database of the cluster, and concurrent ALTER ROLEs collide.
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', r);
            EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', r, '60s');
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', r);
    END LOOP;
END
$$;

-- The tenant bound to the current transaction (NULL when none).
CREATE FUNCTION repstream_tenant() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
$$;
-- The signed-in account bound to the current transaction (NULL when none).
CREATE FUNCTION repstream_account() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.account_id', true), '')::uuid
$$;

-- Accounts: identity state written in the same transaction as the account's events.
-- The unique index on the email makes concurrent sign-ups with one address yield one
-- account. The password hash lives in its own table, never in events or views.
CREATE TABLE account (
    id         uuid        PRIMARY KEY,
    email      text        NOT NULL,
    full_name  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX account_email_key ON account (lower(email));

CREATE TABLE account_credential (
    account_id    uuid        PRIMARY KEY REFERENCES account (id),
    password_hash text        NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now()
);

-- A signed-in session: one refresh-token family.
CREATE TABLE auth_session (
    id          uuid        PRIMARY KEY,
    account_id  uuid        NOT NULL REFERENCES account (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    revoke_reason text,
    ip          text,
    user_agent  text
);
CREATE INDEX auth_session_account ON auth_session (account_id) WHERE revoked_at IS NULL;

-- Opaque rotating refresh tokens, stored as SHA-256 hashes. A used token presented
-- again revokes its whole session (reuse detection).
CREATE TABLE refresh_token (
    token_hash  text        PRIMARY KEY,
    session_id  uuid        NOT NULL REFERENCES auth_session (id),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_token_session ON refresh_token (session_id);

-- Failed sign-ins per email, for progressive lock-out.
CREATE TABLE login_attempt (
    email        text        PRIMARY KEY,
    failures     integer     NOT NULL,
    locked_until timestamptz,
    last_failure timestamptz NOT NULL
);

-- Who belongs to which studio with which role: written with the studio's events (so
-- authorization never reads a lagging view).
CREATE TABLE studio_membership (
    tenant_id  uuid        NOT NULL,
    account_id uuid        NOT NULL REFERENCES account (id),
    role       text        NOT NULL CHECK (role IN ('owner', 'admin', 'trainer', 'front_desk', 'client')),
    joined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, account_id)
);
CREATE INDEX studio_membership_account ON studio_membership (account_id);

-- Pending and past invitations, found by the hash of their token.
CREATE TABLE studio_invitation (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    email       text        NOT NULL,
    role        text        NOT NULL,
    token_hash  text        NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    state       text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'revoked')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX studio_invitation_tenant ON studio_invitation (tenant_id, state);

-- Which studio an invitation token belongs to: the one cross-tenant lookup the API
-- needs, exposed as a narrow function instead of a policy hole.
CREATE FUNCTION repstream_invitation_tenant(hash text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT tenant_id FROM studio_invitation WHERE token_hash = hash
$$;
REVOKE ALL ON FUNCTION repstream_invitation_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repstream_invitation_tenant(text) TO repstream_api;

-- Read model: client records (domain::client::view::ClientView).
CREATE TABLE client_view (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    account_id  uuid,
    full_name   text        NOT NULL,
    version     bigint      NOT NULL,
    doc         jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX client_view_tenant_name ON client_view (tenant_id, lower(full_name), id);

-- Grants.
GRANT SELECT, INSERT ON events TO repstream_api;
GRANT INSERT ON outbox TO repstream_api;
GRANT SELECT, INSERT, UPDATE ON account, account_credential, auth_session, refresh_token, login_attempt TO repstream_api;
GRANT DELETE ON login_attempt TO repstream_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON studio_membership, studio_invitation TO repstream_api;
GRANT SELECT ON studio_view, client_view TO repstream_api;

GRANT SELECT ON events TO repstream_projector;
GRANT SELECT, INSERT, UPDATE, DELETE ON projection_checkpoint TO repstream_projector;
GRANT SELECT, INSERT, UPDATE, DELETE ON studio_view, client_view TO repstream_projector;

GRANT SELECT, UPDATE, DELETE ON outbox TO repstream_relay;

GRANT SELECT, INSERT ON processed_message TO repstream_worker;

-- Row-level security. The API sees only rows of the tenant bound to its transaction;
-- internal components that serve every tenant get explicit all-tenant policies.
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events TO repstream_api
    USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant());
CREATE POLICY projector_reads_all ON events FOR SELECT TO repstream_projector USING (true);

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox TO repstream_api
    USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant());
CREATE POLICY relay_all ON outbox TO repstream_relay USING (true);

ALTER TABLE projection_checkpoint ENABLE ROW LEVEL SECURITY;
CREATE POLICY projector_all ON projection_checkpoint TO repstream_projector USING (true);

ALTER TABLE processed_message ENABLE ROW LEVEL SECURITY;
CREATE POLICY worker_all ON processed_message TO repstream_worker USING (true);

ALTER TABLE studio_membership ENABLE ROW LEVEL SECURITY;
-- A studio's members are visible inside that studio; a person sees their own
-- memberships everywhere (GET /me).
CREATE POLICY tenant_isolation ON studio_membership TO repstream_api
    USING (tenant_id = repstream_tenant() OR account_id = repstream_account())
    WITH CHECK (tenant_id = repstream_tenant());

ALTER TABLE studio_invitation ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON studio_invitation TO repstream_api
    USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant());

-- Views: the API reads one tenant; the projector writes all.
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
    EXECUTE format('GRANT SELECT ON %I TO repstream_api', tbl);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO repstream_projector', tbl);
END
$$;
SELECT repstream_secure_table('studio_view');
SELECT repstream_secure_table('client_view');
