-- How often an AI job failed (issue 13): the AI worker counts failures per job itself
-- (SQS's receive count is not handed to handlers), and after the last one it records a
-- `RecommendationFailed` event, so the trainer sees what happened, before the message
-- moves to the DLQ. Outages are not counted: they pause the consumer instead.
-- Never edit this file once landed: add a new migration.
CREATE TABLE ai_job_failure (
    job_id      uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    failures    integer     NOT NULL,
    last_error  text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE ai_job_failure ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ai_job_failure TO repstream_worker
    USING (tenant_id = repstream_tenant()) WITH CHECK (tenant_id = repstream_tenant());
GRANT SELECT, INSERT, UPDATE ON ai_job_failure TO repstream_worker;
