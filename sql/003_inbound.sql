-- Changes from Stripe applied to the catalogue.

-- Stripe events already applied. The write that applies an event records its id here in the same
-- transaction, so a redelivered event (after JetStream's duplicate window, or a replay) is a no-op.
CREATE TABLE inbox (
  source       text NOT NULL,
  event_id     text NOT NULL,
  customer_id  uuid NOT NULL,
  applied_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, event_id)
);
CREATE INDEX inbox_age ON inbox (applied_at);

-- Fields changed on both sides at once, and how the merge policy settled each.
CREATE TABLE conflicts (
  id               bigserial PRIMARY KEY,
  customer_id      uuid NOT NULL,
  field            text NOT NULL,
  postgres_value   jsonb,
  stripe_value     jsonb,
  winner           text NOT NULL CHECK (winner IN ('stripe', 'postgres')),
  reason           text NOT NULL,
  stripe_event_id  text NOT NULL,
  detected_at      timestamptz NOT NULL,
  UNIQUE (customer_id, stripe_event_id, field)
);
CREATE INDEX conflicts_customer ON conflicts (customer_id, id);
