-- Erasure of a customer's personal data (POST /customers/:id/erase).

-- An erased row keeps its id, its tombstone (`deleted_at`) and when it was erased; every personal
-- field is cleared. The id stays taken, so a Stripe-born id derived from an erased customer's
-- Stripe id can never be inserted again.
ALTER TABLE customers ADD COLUMN erased_at timestamptz;

-- One erasure per customer: a second request answers with the first. The record holds no personal
-- data: ids, who asked (a token's name), what was removed where, and hashes of the external ids.
CREATE TABLE erasures (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id    uuid NOT NULL UNIQUE,
  requested_at   timestamptz NOT NULL DEFAULT now(),
  requested_by   text NOT NULL,
  -- Whether the targets' objects are deleted too (RTWS_ERASE_REMOTE when it was asked for).
  remote         boolean NOT NULL,
  finished_at    timestamptz,
  -- Per store: what was removed (counts), and per target what became of its object.
  removed        jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- While it runs: the customer's external ids per target, taken with its links when the erasure
  -- begins, so that a resumed erasure still finds their messages. Cleared when it finishes.
  external_ids   jsonb,
  last_error     text
);
CREATE INDEX erasures_open ON erasures (requested_at) WHERE finished_at IS NULL;

-- External objects of erased customers, by a hash of their id: an import, a catch-up, a
-- reconciliation or a late event about one of them never brings the customer back.
CREATE TABLE erased_externals (
  target      text NOT NULL,
  id_hash     text NOT NULL,
  erasure_id  uuid NOT NULL REFERENCES erasures (id),
  PRIMARY KEY (target, id_hash)
);

-- The tombstone stays final, with one exception: the erasure's own write, which clears the
-- personal fields of a deleted row (origin `erasure`) and is never captured. (014's function,
-- with that exception.)
CREATE OR REPLACE FUNCTION customers_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  floor_ bigint := rtws_version_floor();
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.version := floor_ + 1;
    NEW.origin := rtws_origin();
    NEW.created_at := now();
    NEW.updated_at := now();
    NEW.deleted_at := NULL;
    NEW.erased_at := NULL;
    RETURN NEW;
  END IF;
  -- A tombstone is final: delete beats edit, so nothing brings a deleted customer back.
  IF OLD.deleted_at IS NOT NULL THEN
    IF rtws_origin() = 'erasure' AND NEW.erased_at IS NOT NULL THEN
      NEW.id := OLD.id;
      NEW.version := OLD.version;
      NEW.origin := 'erasure';
      NEW.created_at := OLD.created_at;
      NEW.deleted_at := OLD.deleted_at;
      NEW.updated_at := now();
      RETURN NEW;
    END IF;
    RETURN NULL;
  END IF;
  -- A version below the floor is lifted past it, even with nothing else changed.
  IF customers_synced(NEW) IS DISTINCT FROM customers_synced(OLD)
     OR NEW.deleted_at IS NOT NULL OR OLD.version < floor_ THEN
    NEW.version := greatest(OLD.version, floor_) + 1;
    NEW.origin := rtws_origin();
    NEW.updated_at := now();
  ELSE
    -- Nothing synced changed: no new version, no capture.
    NEW.version := OLD.version;
    NEW.origin := OLD.origin;
    NEW.updated_at := OLD.updated_at;
  END IF;
  NEW.id := OLD.id;
  NEW.created_at := OLD.created_at;
  NEW.erased_at := NULL;
  RETURN NEW;
END
$$;

-- A deletion made by an erasure that leaves the targets alone (origin `erasure_local`) is not
-- captured: the actor is never told to delete anything remotely. (014's function, with that.)
CREATE OR REPLACE FUNCTION customers_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_ customers := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  op_ text;
  version_ bigint := row_.version;
  changed_ text[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    op_ := 'created';
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.deleted_at IS NOT NULL THEN RETURN NULL; END IF;
    op_ := 'deleted';
    version_ := OLD.version + 1;
  ELSIF NEW.version = OLD.version OR NEW.origin = 'erasure_local' THEN
    RETURN NULL;
  ELSIF NEW.deleted_at IS NOT NULL THEN
    op_ := 'deleted';
  ELSE
    op_ := 'updated';
    changed_ := customers_changed(OLD, NEW);
  END IF;
  INSERT INTO outbox (id, aggregate, aggregate_id, customer_id, op, version, origin, payload,
                      occurred_at, changed)
  VALUES (nextval('outbox_id_seq'), 'customer', row_.id, row_.id, op_, version_,
          CASE WHEN TG_OP = 'DELETE' THEN rtws_origin() ELSE row_.origin END,
          customers_synced(row_), clock_timestamp(), changed_);
  PERFORM rtws_wake_publisher();
  RETURN NULL;
END
$$;
