-- The API binds a request to its tenant and caller and reads session, role, studio
-- profile and idempotent reply with one plain SQL statement (api::tenancy::ENTER_SQL,
-- half the database time of the plpgsql function); the Idempotency-Key lock moved
-- into the command's BEGIN round trip. The function is unused.
DROP FUNCTION repstream_enter(uuid, uuid, uuid, boolean, text);
