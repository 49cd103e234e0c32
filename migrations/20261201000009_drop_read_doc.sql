-- The API reads a view document with static SQL per table after repstream_enter (one
-- statement, plan cached); the dynamic-EXECUTE reader it replaced is unused.
DROP FUNCTION repstream_read_doc(text, uuid, uuid, uuid, uuid);
