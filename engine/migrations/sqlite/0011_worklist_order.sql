-- A worklist page in the order it is shown (deadline, then request and task id), so that the
-- open tasks are walked in order and the walk stops at the page's end instead of sorting every
-- open task of the deadline (see the PostgreSQL migration of the same name).
CREATE INDEX tasks_page ON tasks (agency, due_at, instance, id) WHERE open;
