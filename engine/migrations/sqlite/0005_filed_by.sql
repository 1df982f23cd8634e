-- Who filed each request (the citizen's token subject; none when an officer filed it), so that
-- a citizen can list the requests they filed, newest first.
ALTER TABLE instances ADD COLUMN filed_by TEXT;
CREATE INDEX instances_filed_by ON instances (agency, filed_by, started_at DESC);
-- Requests filed before: their filer, from the event that started them.
UPDATE instances SET filed_by = (
  SELECT json_extract(e.payload, '$.filed_by') FROM events e
  WHERE e.agency = instances.agency AND e.instance = instances.instance AND e.version = 1
);
