-- Write tags: a write the customer actor asked for (a change seen in Stripe or read from
-- Salesforce, a restore's repair) hands its tag to the outbox row of the change it captures, the
-- same way as the correlation id (sql/022_correlation.sql). The publisher puts it in the message's
-- `metadata.write`, and that change, which reaches the actor in any case, reports the write done.
-- The runtime then publishes no report of its own for it: a publish and an actor step fewer for
-- each such write. A write that captures nothing (done before, or changing nothing) is still
-- reported by a message of its own, so the insert from a target now says whether it captured.
CREATE FUNCTION rtws_write_id() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('rtws.write_id', true), '')
$$;

ALTER TABLE outbox ADD COLUMN write_id text DEFAULT rtws_write_id();

CREATE FUNCTION rtws_insert_from_target(
  p_write_key text,
  p_customer uuid,
  p_origin text,
  p_correlation text,
  p_version_floor bigint,
  p_side text,
  p_events text[],
  p_name text,
  p_email text,
  p_phone text,
  p_address jsonb,
  p_metadata jsonb,
  p_targets text[],
  p_externals text[],
  p_write_id text
) RETURNS TABLE (was_applied boolean, new_version bigint, captured boolean) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('rtws.origin', p_origin, true),
          set_config('rtws.correlation_id', coalesce(p_correlation, ''), true),
          set_config('rtws.write_id', coalesce(p_write_id, ''), true);
  IF p_version_floor IS NOT NULL THEN
    PERFORM set_config('rtws.version_floor', p_version_floor::text, true);
  END IF;
  -- Done before: nothing is written, and the version is what the row holds now.
  INSERT INTO inbox (source, event_id, customer_id) VALUES ('stripe-write', p_write_key, p_customer)
  ON CONFLICT DO NOTHING;
  was_applied := FOUND;
  captured := false;
  IF was_applied THEN
    IF p_side IS NOT NULL THEN
      INSERT INTO inbox (source, event_id, customer_id)
      SELECT p_side, e, p_customer FROM unnest(p_events) AS e
      ON CONFLICT DO NOTHING;
    END IF;
    -- A customer that was there already gets no link from here, and no change is captured.
    WITH inserted AS (
      INSERT INTO customers (id, name, email, phone, address, metadata)
      VALUES (p_customer, p_name, p_email, p_phone, p_address, p_metadata)
      ON CONFLICT (id) DO NOTHING RETURNING id),
    linked AS (
      INSERT INTO customer_links (customer_id, target, external_id)
      SELECT inserted.id, l.target, l.external_id
      FROM inserted, unnest(p_targets, p_externals) AS l (target, external_id)
      ON CONFLICT DO NOTHING)
    SELECT count(*) > 0 INTO captured FROM inserted;
  END IF;
  SELECT c.version INTO new_version FROM customers c WHERE c.id = p_customer;
  RETURN NEXT;
END
$$;

-- The form an rtws from before write tags calls, while a rolling upgrade runs both: untagged.
CREATE OR REPLACE FUNCTION rtws_insert_from_target(
  p_write_key text,
  p_customer uuid,
  p_origin text,
  p_correlation text,
  p_version_floor bigint,
  p_side text,
  p_events text[],
  p_name text,
  p_email text,
  p_phone text,
  p_address jsonb,
  p_metadata jsonb,
  p_targets text[],
  p_externals text[]
) RETURNS TABLE (was_applied boolean, new_version bigint) LANGUAGE sql AS $$
  SELECT t.was_applied, t.new_version
  FROM rtws_insert_from_target(p_write_key, p_customer, p_origin, p_correlation, p_version_floor,
                               p_side, p_events, p_name, p_email, p_phone, p_address, p_metadata,
                               p_targets, p_externals, NULL) AS t
$$;
