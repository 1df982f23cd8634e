-- The worklist by role: an agency's open tasks for one role, by deadline.
CREATE INDEX tasks_worklist ON tasks (agency, role, open, due_at);
