-- An update from a target (a change seen in Stripe, or read from Salesforce) in one statement, on
-- the row as the caller read it. The caller reads the row without a lock and decides the write
-- from it (which fields still hold what the merge expected, which of its conflicts Postgres or
-- the target wins); this function carries that decision out only if the row is still at the
-- version read, under the row's lock. Otherwise it writes nothing and answers `moved`, and the
-- caller reads again and decides again. That is two round trips where a transaction took four
-- (BEGIN, the locked read, the writes, COMMIT): on a busy worker each round trip's socket write
-- and wake-up, not the statements, was most of the write's cost.
--
-- `p_read_version` null: the caller found no live row; only the events are recorded then.
-- The fields set are those the patch names: `p_name` unless null (a name is never removed), and
-- `email`, `phone` and `address` where their flag says so (null removes one). They go as text,
-- as the transaction sends them, not inside JSON, which refuses some strings text takes. `p_moved`: the fields Postgres changed after the merge
-- decided, as `conflicts` rows (brought up to date if recorded before); `p_merged`: the conflicts
-- the merge settled (recorded once).
-- Answers `done_before` (the write's inbox entry is there: nothing written), `moved` or `applied`.
CREATE FUNCTION rtws_update_from_target(
  p_write_key text,
  p_customer uuid,
  p_origin text,
  p_correlation text,
  p_side text,
  p_events text[],
  p_read_version bigint,
  p_name text,
  p_set_email boolean,
  p_email text,
  p_set_phone boolean,
  p_phone text,
  p_set_address boolean,
  p_address jsonb,
  p_meta_put jsonb,
  p_meta_drop text[],
  p_moved jsonb,
  p_merged jsonb,
  p_write_id text
) RETURNS TABLE (status text, new_version bigint, captured boolean) LANGUAGE plpgsql AS $$
DECLARE
  held bigint;
BEGIN
  captured := false;
  PERFORM 1 FROM inbox WHERE source = 'stripe-write' AND event_id = p_write_key;
  IF FOUND THEN
    status := 'done_before';
    SELECT c.version INTO new_version FROM customers c WHERE c.id = p_customer;
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT c.version INTO held FROM customers c
  WHERE c.id = p_customer AND c.deleted_at IS NULL FOR UPDATE;
  IF held IS DISTINCT FROM p_read_version THEN
    status := 'moved';
    RETURN NEXT;
    RETURN;
  END IF;
  PERFORM set_config('rtws.origin', p_origin, true),
          set_config('rtws.correlation_id', coalesce(p_correlation, ''), true),
          set_config('rtws.write_id', coalesce(p_write_id, ''), true),
          set_config('rtws.version_floor', '', true);
  INSERT INTO inbox (source, event_id, customer_id) VALUES ('stripe-write', p_write_key, p_customer)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    -- The same write, carried out meanwhile by another holder of the customer (a takeover).
    status := 'done_before';
    SELECT c.version INTO new_version FROM customers c WHERE c.id = p_customer;
    RETURN NEXT;
    RETURN;
  END IF;
  INSERT INTO inbox (source, event_id, customer_id)
  SELECT p_side, e, p_customer FROM unnest(p_events) AS e
  ON CONFLICT DO NOTHING;
  -- Fields Postgres changed after the merge decided: recorded, or brought up to date.
  INSERT INTO conflicts (customer_id, field, postgres_value, stripe_value, winner, reason,
                         stripe_event_id, detected_at, postgres_changed_at, stripe_changed_at,
                         target, target_value, sides)
  SELECT * FROM rtws_conflict_rows(p_customer, p_moved)
  ON CONFLICT (customer_id, stripe_event_id, field) DO UPDATE SET
    postgres_value = EXCLUDED.postgres_value, winner = EXCLUDED.winner, sides = EXCLUDED.sides,
    reason = EXCLUDED.reason, postgres_changed_at = EXCLUDED.postgres_changed_at,
    stripe_changed_at = EXCLUDED.stripe_changed_at;
  -- The conflicts the merge settled: recorded once.
  INSERT INTO conflicts (customer_id, field, postgres_value, stripe_value, winner, reason,
                         stripe_event_id, detected_at, postgres_changed_at, stripe_changed_at,
                         target, target_value, sides)
  SELECT * FROM rtws_conflict_rows(p_customer, p_merged)
  ON CONFLICT DO NOTHING;
  IF held IS NOT NULL THEN
    UPDATE customers SET
      name = coalesce(p_name, name),
      email = CASE WHEN p_set_email THEN p_email ELSE email END,
      phone = CASE WHEN p_set_phone THEN p_phone ELSE phone END,
      address = CASE WHEN p_set_address THEN p_address ELSE address END,
      metadata = (metadata || p_meta_put) - p_meta_drop
    WHERE id = p_customer;
  END IF;
  SELECT c.version INTO new_version FROM customers c WHERE c.id = p_customer;
  captured := held IS NOT NULL AND new_version > held;
  status := 'applied';
  RETURN NEXT;
END
$$;

-- Conflicts given as a JSON array of `conflicts` rows (its columns as keys; a `detected_at` left
-- null is now), as rows in the array's order.
CREATE FUNCTION rtws_conflict_rows(p_customer uuid, p jsonb)
RETURNS TABLE (customer_id uuid, field text, postgres_value jsonb, stripe_value jsonb,
               winner text, reason text, stripe_event_id text, detected_at timestamptz,
               postgres_changed_at timestamptz, stripe_changed_at timestamptz, target text,
               target_value jsonb, sides jsonb)
LANGUAGE sql STABLE AS $$
  SELECT p_customer, c->>'field', nullif(c->'postgres_value', 'null'::jsonb),
         nullif(c->'stripe_value', 'null'::jsonb), c->>'winner', c->>'reason',
         c->>'stripe_event_id', coalesce((c->>'detected_at')::timestamptz, now()),
         (c->>'postgres_changed_at')::timestamptz, (c->>'stripe_changed_at')::timestamptz,
         c->>'target', nullif(c->'target_value', 'null'::jsonb), nullif(c->'sides', 'null'::jsonb)
  FROM jsonb_array_elements(p) WITH ORDINALITY AS x (c, n)
  ORDER BY x.n
$$;
