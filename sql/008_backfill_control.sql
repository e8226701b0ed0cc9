-- Backfills as a resource: imports from Stripe and exports from the catalogue, each with options,
-- an estimate of its size, a pause state, the time it has spent running (for its rate), its first
-- decisions, and the ambiguous cases an operator settles by hand.
ALTER TABLE backfills DROP CONSTRAINT backfills_state_check;
ALTER TABLE backfills ADD CONSTRAINT backfills_state_check
  CHECK (state IN ('running', 'paused', 'done', 'failed', 'cancelled'));
ALTER TABLE backfills
  ADD COLUMN options         jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN total_estimate  integer,
  ADD COLUMN errors          integer NOT NULL DEFAULT 0,
  ADD COLUMN running_ms      bigint NOT NULL DEFAULT 0,
  ADD COLUMN decisions       jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN updated_at      timestamptz NOT NULL DEFAULT now();
-- One active (running or paused) backfill per source.
DROP INDEX backfills_running;
CREATE UNIQUE INDEX backfills_active ON backfills (source) WHERE state IN ('running', 'paused');

CREATE TABLE backfill_ambiguities (
  backfill_id  bigint NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
  stripe_id    text NOT NULL,
  email        text,
  -- Catalogue customers and Stripe customers that could each be the other's twin.
  customers    uuid[] NOT NULL,
  stripe_ids   text[] NOT NULL,
  found_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (backfill_id, stripe_id)
);
