-- daftar's SQLite store. Times are TEXT in RFC 3339 UTC with exactly six fractional digits
-- ('2026-01-02T03:04:05.123456Z'), so that text order is time order and what is stored reads
-- back exactly (event hashes cover `recorded_at`). JSON is TEXT as serialized by the engine.
-- The agency is part of every key.

-- Every event of every instance; `position` orders them across streams.
CREATE TABLE events (
    position         INTEGER PRIMARY KEY AUTOINCREMENT,
    agency           TEXT    NOT NULL,
    instance         TEXT    NOT NULL,
    version          INTEGER NOT NULL CHECK (version >= 1),
    recorded_at      TEXT    NOT NULL,
    workflow         TEXT    NOT NULL,
    workflow_version INTEGER NOT NULL,
    definition_hash  TEXT    NOT NULL,
    actor            TEXT    NOT NULL,
    command_id       TEXT    NOT NULL,
    type             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    prev_hash        TEXT    NOT NULL,
    hash             TEXT    NOT NULL,
    UNIQUE (agency, instance, version)
) STRICT;

-- The command ids each stream has committed, with the version they left it at: a retried
-- command appends nothing.
CREATE TABLE commands (
    agency     TEXT    NOT NULL,
    instance   TEXT    NOT NULL,
    command_id TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (agency, instance, command_id)
) STRICT;

-- Side effects to perform, leased by workers. Leased oldest first (created_at, then rowid).
CREATE TABLE jobs (
    id          TEXT    PRIMARY KEY,
    agency      TEXT    NOT NULL,
    instance    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    leases      INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until TEXT,
    created_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX jobs_created_at ON jobs (created_at);

-- Durable timers.
CREATE TABLE timers (
    agency   TEXT NOT NULL,
    instance TEXT NOT NULL,
    id       TEXT NOT NULL,
    due_at   TEXT NOT NULL,
    PRIMARY KEY (agency, instance, id)
) STRICT;
CREATE INDEX timers_due_at ON timers (due_at);

-- The read model of instances: lists, filters, tracking.
CREATE TABLE instances (
    agency           TEXT    NOT NULL,
    instance         TEXT    NOT NULL,
    workflow         TEXT    NOT NULL,
    workflow_version INTEGER NOT NULL,
    tracking_code    TEXT    NOT NULL,
    status           TEXT,
    state            TEXT    NOT NULL,
    incidents        INTEGER NOT NULL,
    sla_breached     INTEGER NOT NULL,
    started_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    PRIMARY KEY (agency, instance),
    UNIQUE (agency, tracking_code)
) STRICT;
CREATE INDEX instances_tracking_code ON instances (tracking_code);

-- The worklist.
CREATE TABLE tasks (
    agency   TEXT    NOT NULL,
    instance TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    step     TEXT    NOT NULL,
    role     TEXT,
    officer  TEXT,
    due_at   TEXT    NOT NULL,
    open     INTEGER NOT NULL,
    PRIMARY KEY (agency, instance, id)
) STRICT;
CREATE INDEX tasks_open ON tasks (agency, open, due_at);

-- Scheduled starts that happened, so each occurrence starts once.
CREATE TABLE schedule_runs (
    agency     TEXT NOT NULL,
    workflow   TEXT NOT NULL,
    schedule   TEXT NOT NULL,
    occurrence TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (agency, workflow, schedule, occurrence)
) STRICT;

-- Messages no instance was waiting for.
CREATE TABLE unmatched_messages (
    agency      TEXT NOT NULL,
    name        TEXT NOT NULL,
    correlation TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (agency, message_id)
) STRICT;

-- Deployed definition versions; a version never changes once deployed.
CREATE TABLE definitions (
    agency        TEXT    NOT NULL,
    workflow      TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    hash          TEXT    NOT NULL,
    in_force_from TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    deployed_at   TEXT    NOT NULL,
    PRIMARY KEY (agency, workflow, version)
) STRICT;
