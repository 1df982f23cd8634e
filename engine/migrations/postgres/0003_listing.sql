-- Listing an agency's requests, newest first, optionally of one workflow.
CREATE INDEX instances_listing ON instances (agency, started_at DESC, instance DESC);
CREATE INDEX instances_by_workflow ON instances (agency, workflow, started_at DESC);
