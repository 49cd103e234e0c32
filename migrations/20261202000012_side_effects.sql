-- Exactly once per side effect (issue 10): a worker claims a job with a lease before
-- the side effect and records the outcome after it (infra::side_effect). Replaces the
-- check-then-send-then-record `processed_message` ledger, whose rows carry over as done.
-- Never edit this file once landed: add a new migration.
CREATE TABLE side_effect (
    consumer    text        NOT NULL,
    job_id      uuid        NOT NULL,
    tenant_id   uuid        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('claimed', 'done', 'failed')),
    lease_until timestamptz,
    attempts    integer     NOT NULL DEFAULT 1,
    last_error  text,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz,
    PRIMARY KEY (consumer, job_id)
);
INSERT INTO side_effect (consumer, job_id, tenant_id, state, claimed_at, done_at)
    SELECT consumer, message_id, tenant_id, 'done', processed_at, processed_at FROM processed_message;
DROP TABLE processed_message;

GRANT SELECT, INSERT, UPDATE ON side_effect TO repstream_worker;
ALTER TABLE side_effect ENABLE ROW LEVEL SECURITY;
CREATE POLICY worker_all ON side_effect TO repstream_worker USING (true);
