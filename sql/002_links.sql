-- Which external object each customer is linked to, per target. Kept apart from `customers`, so
-- that recording a link never bumps a customer's version or captures a change.
CREATE TABLE customer_links (
  customer_id  uuid NOT NULL REFERENCES customers (id),
  target       text NOT NULL,
  external_id  text NOT NULL,
  linked_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (customer_id, target),
  -- One external object is one customer: the inbound mapping relies on it.
  UNIQUE (target, external_id)
);
