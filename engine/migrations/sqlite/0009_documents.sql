-- The national document ID each request issued, indexed, so that public verification
-- (GET /api/v1/documents/{id}) finds its request without a scan. Unique: the IDs' layout
-- makes two equal IDs impossible (docs/national.md), and the index makes the store say so too.
ALTER TABLE instances ADD COLUMN document_id TEXT;
-- Requests that issued a document before: the ID their InstanceCompleted recorded.
UPDATE instances SET document_id = (
  SELECT json_extract(e.payload, '$.document_id') FROM events e
  WHERE e.agency = instances.agency AND e.instance = instances.instance
    AND e.type = 'InstanceCompleted'
) WHERE state NOT IN ('running', 'cancelled');
CREATE UNIQUE INDEX instances_document_id ON instances (document_id);
