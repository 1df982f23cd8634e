-- A subscription is delivered by one node at a time: the node that holds its lease, until the
-- lease runs out (a node that stops leaves it to the others then). Without it, every node of
-- a shared store sent every event once per node.
ALTER TABLE subscriptions ADD COLUMN lease_owner TEXT;
ALTER TABLE subscriptions ADD COLUMN lease_until TEXT;
