-- Notices about an account, a client's booking block and a studio's webhooks (issue 12).
-- Never edit this file once landed: add a new migration.

-- The address of an account, for the notices about that account itself (its password
-- was changed). A narrow function instead of the projector reading `account`.
CREATE FUNCTION repstream_account_email(account_id uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT a.email FROM account a WHERE a.id = repstream_account_email.account_id
$$;
REVOKE ALL ON FUNCTION repstream_account_email(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repstream_account_email(uuid) TO repstream_projector;

-- Who runs a studio (owners and admins) and their addresses: they hear of what needs
-- them, e.g. a webhook endpoint that was disabled.
CREATE FUNCTION repstream_studio_managers(tenant uuid)
    RETURNS TABLE (account_id uuid, email text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT a.id, a.email FROM studio_membership m JOIN account a ON a.id = m.account_id
    WHERE m.tenant_id = repstream_studio_managers.tenant AND m.role IN ('owner', 'admin')
    ORDER BY a.id
$$;
REVOKE ALL ON FUNCTION repstream_studio_managers(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repstream_studio_managers(uuid) TO repstream_projector;

-- The projector tells a client when a strike starts a booking block: it counts the
-- client's strikes, which are written with the class events that cause them.
GRANT SELECT ON client_strike TO repstream_projector;
CREATE POLICY projector_reads_all ON client_strike FOR SELECT TO repstream_projector USING (true);

-- Notifications read a studio's time zone and policies (reminder times, strike limits)
-- from the directory its commands decide on, not from the lagging view.
GRANT SELECT ON studio_profile TO repstream_projector;
CREATE POLICY projector_reads_all ON studio_profile FOR SELECT TO repstream_projector USING (true);
