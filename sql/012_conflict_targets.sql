-- Conflicts with a target other than Stripe: a reconciliation that finds a field edited in
-- Salesforce while it is only a target records the catalogue's win over the record's value.
ALTER TABLE conflicts
  ADD COLUMN target        text NOT NULL DEFAULT 'stripe',
  ADD COLUMN target_value  jsonb;
