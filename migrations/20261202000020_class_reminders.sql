-- Class reminders (issue 12): the projector schedules one row per (booking, minutes
-- before the class, class start) when a spot is booked or a waitlisted client promoted,
-- holding the notification jobs to send; the workers' reminder sweep enqueues the due
-- ones. A cancelled booking, a left waitlist, a no-show or a cancelled class marks its
-- rows `cancelled`, and the notification worker checks that mark again before it
-- sends. A moved class gets new rows for its new time (the start is part of the id).
-- Never edit this file once landed: add a new migration.
CREATE TABLE class_reminder (
    -- Derived from booking, minutes and start: a redelivered event schedules nothing new.
    id              uuid        PRIMARY KEY,
    tenant_id       uuid        NOT NULL,
    booking_id      uuid        NOT NULL,
    class_id        uuid        NOT NULL,
    minutes_before  integer     NOT NULL,
    starts_at       timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    -- The notification jobs (infra::jobs::NotificationJob, one per channel).
    jobs            jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'enqueued', 'cancelled', 'missed')),
    enqueued_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX class_reminder_due ON class_reminder (due_at) WHERE state = 'pending';
CREATE INDEX class_reminder_booking ON class_reminder (booking_id);
CREATE INDEX class_reminder_class ON class_reminder (class_id);

ALTER TABLE class_reminder ENABLE ROW LEVEL SECURITY;
CREATE POLICY projector_all ON class_reminder TO repstream_projector USING (true);
CREATE POLICY worker_all ON class_reminder TO repstream_worker USING (true);
GRANT SELECT, INSERT, UPDATE ON class_reminder TO repstream_projector;
GRANT SELECT, UPDATE ON class_reminder TO repstream_worker;
