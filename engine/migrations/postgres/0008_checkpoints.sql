-- Signed checkpoints (docs/audit.md): a Merkle tree per agency over its events in the order
-- they were appended (RFC 6962), kept so that a new checkpoint hashes only the events added
-- since the last one and a proof reads a few stored nodes instead of rehashing the log.

-- Each agency's tree: how many leaves it has, and the position of the last event it holds.
CREATE TABLE audit_trees (
    agency        TEXT   NOT NULL PRIMARY KEY,
    size          BIGINT NOT NULL,
    last_position BIGINT NOT NULL
);

-- The leaves: the agency's events in order, each the event's hash (hex); `leaf` counts from 0.
CREATE TABLE audit_leaves (
    agency   TEXT   NOT NULL,
    leaf     BIGINT NOT NULL,
    position BIGINT NOT NULL UNIQUE,
    hash     TEXT   NOT NULL,
    PRIMARY KEY (agency, leaf)
);

-- The hashes of the complete subtrees above the leaves: level L, index I covers the leaves
-- I * 2^L to (I + 1) * 2^L - 1. Hex.
CREATE TABLE audit_nodes (
    agency TEXT   NOT NULL,
    level  BIGINT NOT NULL,
    idx    BIGINT NOT NULL,
    hash   TEXT   NOT NULL,
    PRIMARY KEY (agency, level, idx)
);

-- The signed checkpoints: the tree's size and root at a time, signed with the agency's key.
CREATE TABLE checkpoints (
    agency        TEXT   NOT NULL,
    size          BIGINT NOT NULL,
    root          TEXT   NOT NULL,
    time          TEXT   NOT NULL,
    last_position BIGINT NOT NULL,
    key_id        TEXT   NOT NULL,
    signature     TEXT   NOT NULL,
    PRIMARY KEY (agency, size)
);
