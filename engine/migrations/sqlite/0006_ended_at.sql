-- When each request ended (completed with an outcome, or cancelled), for the service report:
-- time to decision is ended_at - started_at. Set once, by the commit that ends the request.
ALTER TABLE instances ADD COLUMN ended_at TEXT;
-- Requests that ended before: the time of the event that ended them.
UPDATE instances SET ended_at = (
  SELECT min(e.recorded_at) FROM events e
  WHERE e.agency = instances.agency AND e.instance = instances.instance
    AND e.type IN ('InstanceCompleted', 'InstanceCancelled')
) WHERE state <> 'running';
