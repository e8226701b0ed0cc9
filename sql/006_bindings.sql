-- The external account each target of this database is bound to. A start with another account
-- (or the other mode) refuses to run until an operator rebinds on purpose: a key of another
-- account would see every linked customer as missing.
CREATE TABLE target_bindings (
  target      text PRIMARY KEY,
  account_id  text NOT NULL,
  livemode    boolean NOT NULL,
  bound_at    timestamptz NOT NULL DEFAULT now()
);

-- Links of an earlier binding, kept when an operator rebinds (never dropped).
CREATE TABLE customer_links_archive (
  customer_id  uuid NOT NULL,
  target       text NOT NULL,
  external_id  text NOT NULL,
  linked_at    timestamptz NOT NULL,
  account_id   text NOT NULL,
  archived_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_links_archive_customer ON customer_links_archive (customer_id);
