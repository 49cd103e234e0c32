-- Identity hardening (issue 11). Never edit this file once landed: add a new migration.

-- Failed sign-ins per (email, source network): a source is an IPv4 address or an IPv6
-- /64. Someone guessing from elsewhere locks out only their own network, never the
-- account's owner. `failures` is capped where it is written (no overflow), and `refused`
-- tells the upsert's caller whether this attempt met an active lock (one statement:
-- parallel attempts cannot all pass the check).
DROP TABLE login_attempt;
CREATE TABLE login_attempt (
    email        text        NOT NULL,
    source       text        NOT NULL,
    failures     integer     NOT NULL CHECK (failures BETWEEN 0 AND 1000),
    locked_until timestamptz,
    last_failure timestamptz NOT NULL,
    refused      boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (email, source)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON login_attempt TO repstream_api;

-- Sessions end absolutely: the API sets `expires_at` when it opens one (SESSION_MAX_AGE,
-- default 30 days); sessions open before this migration get 30 days from now.
ALTER TABLE auth_session ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '30 days';

-- The nil tenant holds the platform's own streams (accounts): nobody is ever a member of
-- it or invited to it. Enforced here as well as in the API. NOT VALID: checked for every
-- new row without scanning the old ones.
ALTER TABLE studio_membership ADD CONSTRAINT studio_membership_not_platform
    CHECK (tenant_id <> '00000000-0000-0000-0000-000000000000') NOT VALID;
ALTER TABLE studio_invitation ADD CONSTRAINT studio_invitation_not_platform
    CHECK (tenant_id <> '00000000-0000-0000-0000-000000000000') NOT VALID;

-- Service roles are bound by row-level security even if they existed before the first
-- migration with more rights. Only roles that need it are altered: role rows are shared
-- by every database of the cluster, and concurrent ALTER ROLEs collide.
DO $$
DECLARE r text;
BEGIN
    FOR r IN SELECT rolname FROM pg_roles
             WHERE rolname IN ('repstream_api', 'repstream_projector', 'repstream_relay', 'repstream_worker')
               AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb) LOOP
        EXECUTE format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', r);
    END LOOP;
END
$$;
