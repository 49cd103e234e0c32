-- The events of a stream after `p_after`, for a caller that already holds the stream's
-- committed state at that version (the API's aggregate cache): under the same writer
-- lock as repstream_load_stream, but without reading the snapshot. When the stream has
-- no event `p_after` (the cached state is not of this stream), one marker row
-- (sequence NULL, is_snapshot true) tells the caller to load the stream in full.
CREATE FUNCTION repstream_load_tail(p_tenant uuid, p_type text, p_id text, p_lock boolean, p_after bigint)
RETURNS TABLE (sequence bigint, event_type text, event_version text, payload jsonb, is_snapshot boolean)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_lock THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text || '/' || p_type || '/' || p_id, 0));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = p_tenant AND e.aggregate_type = p_type
                   AND e.aggregate_id = p_id AND e.sequence = p_after) THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::text, NULL::jsonb, true;
        RETURN;
    END IF;
    RETURN QUERY SELECT e.sequence, e.event_type, e.event_version, e.payload, false FROM events e
        WHERE e.tenant_id = p_tenant AND e.aggregate_type = p_type AND e.aggregate_id = p_id
          AND e.sequence > p_after
        ORDER BY e.sequence;
END
$$;
