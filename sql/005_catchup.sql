-- Catch-up from Stripe's events API, and the times of each side's change in a conflict.

-- Per source, the `created` second of the newest event that catch-up listed and stored in
-- INBOUND. The next catch-up lists from there, minus a margin for events Stripe lists late.
CREATE TABLE catchup_watermarks (
  source      text PRIMARY KEY,
  watermark   bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- When each side changed the field: Postgres from the fact that carried its change, Stripe from
-- the event's `created`. Null on conflicts recorded before these columns existed.
ALTER TABLE conflicts
  ADD COLUMN postgres_changed_at timestamptz,
  ADD COLUMN stripe_changed_at timestamptz;
