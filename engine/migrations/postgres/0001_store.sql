-- daftar's PostgreSQL store. Identifiers that streams are ordered by use the "C" collation, so
-- that the database orders them byte by byte, as the engine does. Event payloads and actors
-- are JSON (not JSONB): the text the engine wrote is kept exactly, as it was hashed. The
-- agency is part of every key.

-- Every event of every instance. `position` orders them across streams; two nodes may
-- interleave (a position is taken when inserted, visible when committed).
CREATE TABLE events (
    position         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency           TEXT COLLATE "C" NOT NULL,
    instance         TEXT COLLATE "C" NOT NULL,
    version          BIGINT      NOT NULL CHECK (version >= 1),
    recorded_at      TIMESTAMPTZ NOT NULL,
    workflow         TEXT        NOT NULL,
    workflow_version BIGINT      NOT NULL,
    definition_hash  TEXT        NOT NULL,
    actor            JSON        NOT NULL,
    command_id       TEXT        NOT NULL,
    type             TEXT        NOT NULL,
    payload          JSON        NOT NULL,
    prev_hash        TEXT        NOT NULL,
    hash             TEXT        NOT NULL,
    -- Fences appends: two nodes appending the same version, one fails (a conflict).
    CONSTRAINT events_stream_version UNIQUE (agency, instance, version)
);

-- The command ids each stream has committed, with the version they left it at.
CREATE TABLE commands (
    agency     TEXT   NOT NULL,
    instance   TEXT   NOT NULL,
    command_id TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    CONSTRAINT commands_pkey PRIMARY KEY (agency, instance, command_id)
);

-- Side effects to perform, leased by workers (FOR UPDATE SKIP LOCKED), oldest first.
CREATE TABLE jobs (
    id          TEXT        PRIMARY KEY,
    seq         BIGINT      GENERATED ALWAYS AS IDENTITY,
    agency      TEXT        NOT NULL,
    instance    TEXT        NOT NULL,
    kind        TEXT        NOT NULL,
    payload     JSON        NOT NULL,
    leases      BIGINT      NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_created_at ON jobs (created_at, seq);

-- Durable timers.
CREATE TABLE timers (
    agency   TEXT        NOT NULL,
    instance TEXT        NOT NULL,
    id       TEXT        NOT NULL,
    due_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agency, instance, id)
);
CREATE INDEX timers_due_at ON timers (due_at);

-- The read model of instances: lists, filters, tracking.
CREATE TABLE instances (
    agency           TEXT COLLATE "C" NOT NULL,
    instance         TEXT COLLATE "C" NOT NULL,
    workflow         TEXT        NOT NULL,
    workflow_version BIGINT      NOT NULL,
    tracking_code    TEXT        NOT NULL,
    status           TEXT,
    state            TEXT        NOT NULL,
    incidents        BIGINT      NOT NULL,
    sla_breached     BOOLEAN     NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agency, instance),
    UNIQUE (agency, tracking_code)
);
CREATE INDEX instances_tracking_code ON instances (tracking_code);

-- The worklist.
CREATE TABLE tasks (
    agency   TEXT        NOT NULL,
    instance TEXT        NOT NULL,
    id       TEXT        NOT NULL,
    step     TEXT        NOT NULL,
    role     TEXT,
    officer  TEXT,
    due_at   TIMESTAMPTZ NOT NULL,
    open     BOOLEAN     NOT NULL,
    PRIMARY KEY (agency, instance, id)
);
CREATE INDEX tasks_open ON tasks (agency, open, due_at);

-- Scheduled starts that happened, so each occurrence starts once across nodes.
CREATE TABLE schedule_runs (
    agency     TEXT        NOT NULL,
    workflow   TEXT        NOT NULL,
    schedule   TEXT        NOT NULL,
    occurrence TIMESTAMPTZ NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (agency, workflow, schedule, occurrence)
);

-- Messages no instance was waiting for.
CREATE TABLE unmatched_messages (
    agency      TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    correlation TEXT        NOT NULL,
    message_id  TEXT        NOT NULL,
    payload     JSON        NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (agency, message_id)
);

-- Deployed definition versions; a version never changes once deployed.
CREATE TABLE definitions (
    agency        TEXT COLLATE "C" NOT NULL,
    workflow      TEXT COLLATE "C" NOT NULL,
    version       BIGINT      NOT NULL,
    hash          TEXT        NOT NULL,
    in_force_from DATE        NOT NULL,
    source        TEXT        NOT NULL,
    deployed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (agency, workflow, version)
);
