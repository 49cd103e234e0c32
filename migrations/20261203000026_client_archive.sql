-- Archived client records (issue 13): no new bookings or appointments, their history
-- kept. Written with the record's events, so a booking made right after an archive is
-- refused.
-- Never edit this file once landed: add a new migration.
ALTER TABLE client_record ADD COLUMN archived boolean NOT NULL DEFAULT false;
