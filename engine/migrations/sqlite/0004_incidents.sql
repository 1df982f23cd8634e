-- Counting open incidents for the metrics endpoint without scanning every request.
CREATE INDEX instances_open_incidents ON instances (agency, workflow) WHERE incidents > 0;
