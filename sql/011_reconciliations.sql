-- Reconciliations are backfills of source 'reconcile': they walk a target's records and hand each
-- difference with the catalogue to the customer's actor. What a run met, so that the links it did
-- not meet can be checked afterwards, and every difference it found, for the operator to read.
CREATE TABLE reconcile_seen (
  backfill_id  bigint NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
  target       text NOT NULL,
  external_id  text NOT NULL,
  PRIMARY KEY (backfill_id, target, external_id)
);

CREATE TABLE reconcile_differences (
  id           bigserial PRIMARY KEY,
  backfill_id  bigint NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
  target       text NOT NULL,
  customer_id  uuid,
  external_id  text,
  -- What was found: 'differs' (handed to the actor), or a case left standing and reported.
  kind         text NOT NULL,
  -- The fields that differ ('name', …, 'metadata.<key>'), for 'differs'.
  fields       text[] NOT NULL DEFAULT '{}',
  detail       text NOT NULL,
  found_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX reconcile_differences_run ON reconcile_differences (backfill_id, id);
