-- Notification preferences and unsubscribing (issue 12).
-- Never edit this file once landed: add a new migration.

-- A person's preferences (types muted per channel, quiet hours), written with their
-- account's `NotificationPreferencesChanged` event; the notification worker reads them
-- before it sends.
CREATE TABLE notification_preference (
    account_id   uuid        PRIMARY KEY REFERENCES account (id),
    preferences  jsonb       NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE notification_preference ENABLE ROW LEVEL SECURITY;
-- A person reads their own; the row is written with the account's events, and account
-- commands run bound to the platform tenant (nil), never a studio's.
CREATE POLICY own_preferences ON notification_preference FOR SELECT TO repstream_api
    USING (account_id = repstream_account());
CREATE POLICY account_commands ON notification_preference TO repstream_api
    USING (repstream_tenant() = '00000000-0000-0000-0000-000000000000'::uuid)
    WITH CHECK (repstream_tenant() = '00000000-0000-0000-0000-000000000000'::uuid);
CREATE POLICY worker_reads ON notification_preference FOR SELECT TO repstream_worker USING (true);
GRANT SELECT, INSERT, UPDATE ON notification_preference TO repstream_api;
GRANT SELECT ON notification_preference TO repstream_worker;

-- One-click unsubscribe links (RFC 8058) of optional mails: the worker derives each
-- token from the job id with its link key and stores only its SHA-256 here, as for
-- account links; whoever holds the token may stop that kind of mail from that studio
-- to that address (mail to addresses without an account too).
CREATE TABLE unsubscribe_link (
    token_hash  text        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    email       text        NOT NULL,
    kind        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE unsubscribe_link ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON unsubscribe_link FOR SELECT TO repstream_api
    USING (tenant_id = repstream_tenant());
CREATE POLICY worker_all ON unsubscribe_link TO repstream_worker USING (true);
GRANT SELECT, INSERT ON unsubscribe_link TO repstream_worker;
GRANT SELECT ON unsubscribe_link TO repstream_api;
-- Which studio an unsubscribe token belongs to: the one cross-tenant lookup the API
-- needs (as for invitations), a narrow function instead of a policy hole.
CREATE FUNCTION repstream_unsubscribe_tenant(hash text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT tenant_id FROM unsubscribe_link WHERE token_hash = hash
$$;
REVOKE ALL ON FUNCTION repstream_unsubscribe_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repstream_unsubscribe_tenant(text) TO repstream_api;

-- Addresses that unsubscribed from a kind of a studio's mail.
CREATE TABLE email_suppression (
    tenant_id   uuid        NOT NULL,
    email       text        NOT NULL CHECK (email = lower(email)),
    kind        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email, kind)
);
ALTER TABLE email_suppression ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON email_suppression TO repstream_api
    USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant());
CREATE POLICY worker_reads ON email_suppression FOR SELECT TO repstream_worker USING (true);
GRANT SELECT, INSERT ON email_suppression TO repstream_api;
GRANT SELECT ON email_suppression TO repstream_worker;

-- Optional email that fell into its recipient's quiet hours waits here (not on the
-- queue: a message held back there would hold back its whole FIFO group, the studio's
-- other notifications). The workers' sweep enqueues it again, same job id, once due.
CREATE TABLE deferred_job (
    job_id      uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    due_at      timestamptz NOT NULL,
    job         jsonb       NOT NULL,
    enqueued_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deferred_job_due ON deferred_job (due_at) WHERE enqueued_at IS NULL;
ALTER TABLE deferred_job ENABLE ROW LEVEL SECURITY;
CREATE POLICY worker_all ON deferred_job TO repstream_worker USING (true);
GRANT SELECT, INSERT, UPDATE ON deferred_job TO repstream_worker;
