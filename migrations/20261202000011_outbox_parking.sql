-- Poison isolation in the outbox (issue 10): a row SQS keeps refusing is parked after a
-- few attempts (parked_at, with last_error as the reason) instead of being retried
-- forever. The relay skips parked rows and the rows of their aggregates after them, so
-- only that aggregate waits; `repstream-outbox-relay parked` lists, retries or discards
-- them. Never edit this file once landed: add a new migration.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz;
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked ON outbox (aggregate_id, id) WHERE published_at IS NULL AND parked_at IS NOT NULL;
