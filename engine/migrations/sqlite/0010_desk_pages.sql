-- What the desk's pages read with 100,000 requests in the store (docs/console.md), each
-- answered from an index instead of by reading every row.
-- The manager's open incidents, newest request first, a page at a time.
CREATE INDEX instances_with_incidents ON instances (agency, started_at DESC, instance DESC)
    WHERE incidents > 0;
-- The manager's figures per service and state over a period, counted from the index alone and
-- in its order (by service and state first, so that grouping needs no sort: with the period
-- first, 100,000 rows of a month were sorted on every page, 35 ms of SQLite's time).
CREATE INDEX instances_counts
    ON instances (agency, workflow, state, started_at, sla_breached, incidents);
-- The officers' load (open tasks by officer and role, and how many are past due), counted from
-- the index alone, and an officer's own tasks by deadline.
CREATE INDEX tasks_load ON tasks (agency, open, officer, role, due_at);
