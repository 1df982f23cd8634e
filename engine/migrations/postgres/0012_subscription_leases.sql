-- A subscription is delivered by one node at a time: the node that holds its lease, until the
-- lease runs out (a node that stops leaves it to the others then). Without it, every node of
-- a shared store sent every event once per node.
ALTER TABLE subscriptions ADD COLUMN lease_owner TEXT, ADD COLUMN lease_until TIMESTAMPTZ;

-- Its lists are JSON, as every JSON column of the store: the store reads them as the text it
-- wrote, which JSONB's binary form is not (listing the subscriptions failed on PostgreSQL, so
-- no node delivered any).
ALTER TABLE subscriptions
    ALTER COLUMN types TYPE JSON USING types::json,
    ALTER COLUMN services TYPE JSON USING services::json;
