-- Receivers of an agency's status changes (national follow-up systems). The events table is
-- the outbox; `position` is how far in it each subscription has been delivered.
CREATE TABLE subscriptions (
    agency     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    types      TEXT    NOT NULL,
    services   TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (agency, id)
) STRICT;

-- Every attempt to deliver an event to a subscription.
CREATE TABLE deliveries (
    agency       TEXT    NOT NULL,
    subscription TEXT    NOT NULL,
    position     INTEGER NOT NULL,
    event_id     TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    status       INTEGER NOT NULL, -- 0: no answer
    error        TEXT
) STRICT;
CREATE INDEX deliveries_by_subscription ON deliveries (agency, subscription, at DESC);
