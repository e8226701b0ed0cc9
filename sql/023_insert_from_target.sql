-- A customer inserted from a target (born in Stripe or Salesforce, or brought back by a restore's
-- repair) in one statement: the settings the capture trigger reads, the write's inbox entry, the
-- events it answers, the row with its links, and the version it leaves. That is one round trip
-- where the same statements in a transaction took four (BEGIN, two batches, COMMIT), and an
-- import makes one such insert per customer. adapters/postgres/inbound-apply.ts calls it, and
-- keeps the statements for the writes that are not a plain insert.
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
  p_externals text[]
) RETURNS TABLE (was_applied boolean, new_version bigint) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('rtws.origin', p_origin, true),
          set_config('rtws.correlation_id', coalesce(p_correlation, ''), true);
  IF p_version_floor IS NOT NULL THEN
    PERFORM set_config('rtws.version_floor', p_version_floor::text, true);
  END IF;
  -- Done before: nothing is written, and the version is what the row holds now.
  INSERT INTO inbox (source, event_id, customer_id) VALUES ('stripe-write', p_write_key, p_customer)
  ON CONFLICT DO NOTHING;
  was_applied := FOUND;
  IF was_applied THEN
    IF p_side IS NOT NULL THEN
      INSERT INTO inbox (source, event_id, customer_id)
      SELECT p_side, e, p_customer FROM unnest(p_events) AS e
      ON CONFLICT DO NOTHING;
    END IF;
    -- A customer that was there already gets no link from here.
    WITH inserted AS (
      INSERT INTO customers (id, name, email, phone, address, metadata)
      VALUES (p_customer, p_name, p_email, p_phone, p_address, p_metadata)
      ON CONFLICT (id) DO NOTHING RETURNING id)
    INSERT INTO customer_links (customer_id, target, external_id)
    SELECT inserted.id, l.target, l.external_id
    FROM inserted, unnest(p_targets, p_externals) AS l (target, external_id)
    ON CONFLICT DO NOTHING;
  END IF;
  SELECT c.version INTO new_version FROM customers c WHERE c.id = p_customer;
  RETURN NEXT;
END
$$;
