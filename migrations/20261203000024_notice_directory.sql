-- Notifications are addressed from the directory written with the events (issue 12):
-- a booking projected before its client's record reached `client_view` (other streams,
-- other queue groups) must still reach the client by name, and a class projected before
-- its studio's view must still carry the studio's name.
-- Never edit this file once landed: add a new migration.

ALTER TABLE client_record ADD COLUMN full_name text;
UPDATE client_record r SET full_name = v.doc->>'full_name'
    FROM client_view v WHERE v.id = r.client_id AND v.tenant_id = r.tenant_id;

ALTER TABLE studio_profile ADD COLUMN name text;
UPDATE studio_profile p SET name = v.doc->>'name' FROM studio_view v WHERE v.id = p.tenant_id;

GRANT SELECT ON client_record TO repstream_projector;
CREATE POLICY projector_reads_all ON client_record FOR SELECT TO repstream_projector USING (true);
