-- An insert from a target that finds its external object linked to another customer is refused.
-- It linked the new customer to nothing and inserted it all the same: an import whose page was
-- decided before a catalogue customer with the same email claimed that Stripe customer, say. The
-- second customer's actor took the Stripe customer for its own, and an edit of the second row
-- would have pushed its values and its id onto it. The refusal is an integrity violation (SQLSTATE
-- 23505), which the worker takes as a permanent refusal of the write: a DLQ letter, nothing
-- inserted. adapters/postgres/inbound-apply.ts refuses it the same way for an insert it writes
-- statement by statement.
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
  p_externals text[],
  p_write_id text
) RETURNS TABLE (was_applied boolean, new_version bigint, captured boolean) LANGUAGE plpgsql AS $$
DECLARE
  n_linked bigint;
  held record;
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
      ON CONFLICT DO NOTHING RETURNING 1)
    SELECT (SELECT count(*) FROM inserted) > 0, (SELECT count(*) FROM linked)
    INTO captured, n_linked;
    -- An external object another customer is linked to: the new customer would be its second.
    IF captured AND n_linked < coalesce(cardinality(p_targets), 0) THEN
      SELECT l.target, l.external_id, l.customer_id INTO held
      FROM customer_links l JOIN unnest(p_targets, p_externals) AS u (target, external_id)
        USING (target, external_id)
      WHERE l.customer_id <> p_customer LIMIT 1;
      RAISE EXCEPTION USING ERRCODE = 'unique_violation',
        MESSAGE = format('the %s object %s is linked to customer %s already: %s is not inserted as a second customer of it',
                         held.target, held.external_id, held.customer_id, p_customer);
    END IF;
  END IF;
  SELECT c.version INTO new_version FROM customers c WHERE c.id = p_customer;
  RETURN NEXT;
END
$$;
