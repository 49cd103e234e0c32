-- The attendance sweep reads the committed class_slot directory instead of class_view
-- (issue 10): ended, unsettled classes are found through this index, ranked per tenant,
-- and each is claimed with FOR UPDATE SKIP LOCKED (tenant-bound) when it is closed.
-- Never edit this file once landed: add a new migration.
CREATE INDEX class_slot_due ON class_slot (ends_at) WHERE status = 'scheduled';
-- Finding the candidates spans tenants (that is the sweep's job); claiming and closing
-- a class stays bound to its tenant.
CREATE POLICY worker_sweeps ON class_slot FOR SELECT TO repstream_worker USING (true);
