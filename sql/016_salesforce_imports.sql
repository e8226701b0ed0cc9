-- Records created in Salesforce without our external id, and what their import decided
-- (RTWS_SALESFORCE_IMPORT_NEW). The decision is made once per record, so a record read again
-- (the overlap, a restart, another worker) is never imported twice, nor matched differently.
CREATE TABLE salesforce_imports (
  record_id    text PRIMARY KEY,
  org_id       text NOT NULL,
  decision     text NOT NULL
    CHECK (decision IN ('insert', 'match', 'ambiguous', 'email_in_catalogue', 'duplicate')),
  -- The customer it became or was matched with; none when nothing was imported.
  customer_id  uuid,
  decided_at   timestamptz NOT NULL DEFAULT now(),
  CHECK ((decision IN ('insert', 'match')) = (customer_id IS NOT NULL))
);
-- One record per matched customer: a second record of the same email is not matched to it.
CREATE UNIQUE INDEX salesforce_imports_customer ON salesforce_imports (customer_id)
  WHERE customer_id IS NOT NULL;
