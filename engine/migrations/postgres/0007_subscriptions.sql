-- Receivers of an agency's status changes (national follow-up systems). The events table is
-- the outbox; `position` is how far in it each subscription has been delivered.
CREATE TABLE subscriptions (
    agency     TEXT        NOT NULL,
    id         TEXT        NOT NULL,
    url        TEXT        NOT NULL,
    types      JSONB       NOT NULL,
    services   JSONB       NOT NULL,
    secret     TEXT        NOT NULL,
    position   BIGINT      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agency, id)
);

-- Every attempt to deliver an event to a subscription.
CREATE TABLE deliveries (
    agency       TEXT        NOT NULL,
    subscription TEXT        NOT NULL,
    position     BIGINT      NOT NULL,
    event_id     TEXT        NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    status       BIGINT  NOT NULL, -- 0: no answer
    error        TEXT
);
CREATE INDEX deliveries_by_subscription ON deliveries (agency, subscription, at DESC);
