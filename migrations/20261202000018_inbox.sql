-- In-app inbox (issue 12): one row per in-app notification job, written by the
-- notification worker; the row is the side effect and its record at once (the job id is
-- unique), so a redelivered job adds nothing. Each person reads only their own rows,
-- across every studio they belong to.
-- Never edit this file once landed: add a new migration.
CREATE TABLE inbox_notification (
    -- Orders a person's inbox and resumes the live stream (SSE `Last-Event-ID`). The
    -- worker inserts one person's rows under that person's advisory lock, so their rows
    -- commit in `seq` order: a stream that has seen n never misses a later-committed m < n.
    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           uuid        NOT NULL UNIQUE,
    tenant_id    uuid        NOT NULL,
    account_id   uuid        NOT NULL REFERENCES account (id),
    kind         text        NOT NULL,
    title        text        NOT NULL,
    body         text        NOT NULL,
    data         jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz,
    archived_at  timestamptz
);
CREATE INDEX inbox_by_account ON inbox_notification (account_id, seq DESC);
CREATE INDEX inbox_unread ON inbox_notification (account_id)
    WHERE read_at IS NULL AND archived_at IS NULL;

ALTER TABLE inbox_notification ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_inbox ON inbox_notification TO repstream_api
    USING (account_id = repstream_account()) WITH CHECK (account_id = repstream_account());
CREATE POLICY worker_writes ON inbox_notification TO repstream_worker USING (true);
GRANT SELECT, UPDATE (read_at, archived_at) ON inbox_notification TO repstream_api;
GRANT SELECT, INSERT ON inbox_notification TO repstream_worker;
