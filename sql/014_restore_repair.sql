-- What a database restore needs to be repaired without losing an edit made since.
--
-- After a restore, a row can be older than the content rtws last synced from it, and its version
-- lower than the one its actor knows. Its next edits then carry versions the actor has seen, and
-- the actor needs to know which fields each edit changed: those are newer than anything it knows,
-- the others are what the restore took back. The repair writes the newer content back with a
-- version above the one the actor knows (`rtws.version_floor`), so later edits count again.

-- The fields an update changed, as the actor names them: `name`, `email`, `phone`, `address`,
-- `metadata.<key>`. Null for a creation or a deletion.
ALTER TABLE outbox ADD COLUMN changed text[];

CREATE FUNCTION customers_changed(a customers, b customers) RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  out_ text[] := '{}';
BEGIN
  IF a.address IS DISTINCT FROM b.address THEN out_ := out_ || 'address'::text; END IF;
  IF a.email IS DISTINCT FROM b.email THEN out_ := out_ || 'email'::text; END IF;
  -- Key by key only when the map changed: most updates leave it alone.
  IF a.metadata IS DISTINCT FROM b.metadata THEN
    out_ := out_ || ARRAY(
      SELECT 'metadata.' || k
      FROM (SELECT jsonb_object_keys(a.metadata) UNION SELECT jsonb_object_keys(b.metadata)) ks(k)
      WHERE a.metadata -> k IS DISTINCT FROM b.metadata -> k
      ORDER BY k);
  END IF;
  IF a.name IS DISTINCT FROM b.name THEN out_ := out_ || 'name'::text; END IF;
  IF a.phone IS DISTINCT FROM b.phone THEN out_ := out_ || 'phone'::text; END IF;
  RETURN out_;
END
$$;

-- The version a write must pass, set for one transaction by the restore repair; 0 when unset.
CREATE FUNCTION rtws_version_floor() RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('rtws.version_floor', true), '')::bigint, 0)
$$;

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
    RETURN NEW;
  END IF;
  -- A tombstone is final: delete beats edit, so nothing brings a deleted customer back.
  IF OLD.deleted_at IS NOT NULL THEN
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
  RETURN NEW;
END
$$;

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
  ELSIF NEW.version = OLD.version THEN
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
