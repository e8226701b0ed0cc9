-- The customer catalogue, and its change capture into the outbox.

CREATE TABLE customers (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  email       text,
  phone       text,
  address     jsonb,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  version     bigint NOT NULL DEFAULT 1,
  origin      text NOT NULL DEFAULT 'api',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  CONSTRAINT customers_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
  CONSTRAINT customers_address_object CHECK (address IS NULL OR jsonb_typeof(address) = 'object')
);

CREATE INDEX customers_page ON customers (created_at, id);
CREATE INDEX customers_email ON customers (email) WHERE deleted_at IS NULL;

-- The outbox row is the truth about a change. Ids are drawn inside the capture trigger, after the
-- row lock, so one customer's rows are in commit order.
CREATE SEQUENCE outbox_id_seq;

CREATE TABLE outbox (
  id            bigint PRIMARY KEY,
  aggregate     text NOT NULL,
  aggregate_id  uuid NOT NULL,
  -- The customer the change belongs to: it picks the subject's partition.
  customer_id   uuid NOT NULL,
  op            text NOT NULL CHECK (op IN ('created', 'updated', 'deleted')),
  version       bigint NOT NULL,
  origin        text NOT NULL,
  payload       jsonb NOT NULL,
  occurred_at   timestamptz NOT NULL
);

-- The publisher's wake-up flag. A sequence, not a table row: setval is immediate and
-- non-transactional, so a writer's trigger sees the flag flip even inside a REPEATABLE READ
-- transaction, and flipping it leaves no dead tuples behind. 1 = the publisher sleeps and wants
-- a NOTIFY; 0 = it is draining and needs none.
CREATE SEQUENCE outbox_armed MINVALUE 0 MAXVALUE 1 START 0 NO CYCLE;

CREATE FUNCTION rtws_origin() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('rtws.origin', true), ''), 'api')
$$;

CREATE FUNCTION rtws_wake_publisher() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- Only while the publisher sleeps: a NOTIFY takes a global lock through the commit's flush,
  -- which caps commits at about a third of the rate without it.
  IF (SELECT last_value FROM outbox_armed) = 1 THEN
    PERFORM pg_notify('rtws_outbox', '');
  END IF;
END
$$;

CREATE FUNCTION customers_synced(c customers) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'name', c.name, 'email', c.email, 'phone', c.phone,
    'address', c.address, 'metadata', c.metadata)
$$;

CREATE FUNCTION customers_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.version := 1;
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
  IF customers_synced(NEW) IS DISTINCT FROM customers_synced(OLD)
     OR NEW.deleted_at IS NOT NULL THEN
    NEW.version := OLD.version + 1;
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

CREATE TRIGGER customers_stamp BEFORE INSERT OR UPDATE ON customers
  FOR EACH ROW EXECUTE FUNCTION customers_stamp();

CREATE FUNCTION customers_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_ customers := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  op_ text;
  version_ bigint := row_.version;
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
  END IF;
  INSERT INTO outbox (id, aggregate, aggregate_id, customer_id, op, version, origin, payload, occurred_at)
  VALUES (nextval('outbox_id_seq'), 'customer', row_.id, row_.id, op_, version_,
          CASE WHEN TG_OP = 'DELETE' THEN rtws_origin() ELSE row_.origin END,
          customers_synced(row_), clock_timestamp());
  PERFORM rtws_wake_publisher();
  RETURN NULL;
END
$$;

CREATE TRIGGER customers_capture AFTER INSERT OR UPDATE OR DELETE ON customers
  FOR EACH ROW EXECUTE FUNCTION customers_capture();

-- Client retries of POST requests (Idempotency-Key): the first response, replayed.
CREATE TABLE idempotency_keys (
  scope         text NOT NULL,
  key           text NOT NULL,
  request_hash  text NOT NULL,
  status        integer,
  body          jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
