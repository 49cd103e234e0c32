-- Verified identities (issue 11): email verification and password reset by mailed links.
-- Never edit this file once landed: add a new migration.

-- Set with the account's `EmailVerified` event (or a completed password reset, which
-- proves the same). Accounts that existed before are unverified until they verify.
ALTER TABLE account ADD COLUMN email_verified_at timestamptz;

-- The links the notification worker mails: the worker derives each token from the job
-- id with its key (HMAC), so a re-sent mail carries the same token, and stores only the
-- token's SHA-256 here. The API finds a link by that hash and spends it with the
-- account's event; the account aggregate refuses a link id it has seen before.
CREATE TABLE account_link (
    token_hash  text        PRIMARY KEY,
    id          uuid        NOT NULL UNIQUE,
    account_id  uuid        NOT NULL REFERENCES account (id),
    purpose     text        NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email       text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_link_open ON account_link (account_id) WHERE used_at IS NULL;
GRANT SELECT, INSERT ON account_link TO repstream_worker;
GRANT SELECT, UPDATE ON account_link TO repstream_api;

-- Budgets on side effects: a job may name a budget (e.g. contact-address confirmations
-- of one studio per hour); a claim over its budget is recorded as `suppressed` and the
-- side effect never happens.
ALTER TABLE side_effect ADD COLUMN budget_key text;
ALTER TABLE side_effect DROP CONSTRAINT side_effect_state_check;
ALTER TABLE side_effect ADD CONSTRAINT side_effect_state_check
    CHECK (state IN ('claimed', 'done', 'failed', 'suppressed'));
CREATE INDEX side_effect_budget ON side_effect (consumer, budget_key, claimed_at)
    WHERE budget_key IS NOT NULL;
