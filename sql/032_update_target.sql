-- An update from a target in one function, where 031 called 026's from its own: the inbox lookup
-- and the row lock ran twice per update, and the nested call's setup and its result set cost about
-- as much again. `rtws_update_target` takes the check as either of theirs:
-- - `p_expected` (031's): what the merge expected each field it sets to hold. A field the row no
--   longer holds as expected answers `moved`, and the caller reads the row and decides on it;
-- - `p_expected` null and `p_read_version` (026's): the version of the row the caller read and
--   decided on. A row at another version answers `moved`, and the caller reads again. Null: the
--   caller found no live row.
-- The rest is as there: the write's inbox entry makes it once (`done_before` when it is there);
-- with no live row only the events and the conflicts are recorded; `p_moved` are the fields
-- Postgres changed after the merge decided, recorded or brought up to date; `p_merged` the
-- conflicts the merge settled, recorded once. Answers `done_before`, `moved` or `applied`, the
-- version the row is at, and whether the update captured a change.
--
-- 026's and 031's functions stay for a process of the release before this one while it still runs
-- beside this one's (a rolling deploy); nothing of this release calls them.
CREATE FUNCTION rtws_update_target(
  p_write_key text,
  p_customer uuid,
  p_origin text,
  p_correlation text,
  p_side text,
  p_events text[],
  p_expected jsonb,
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
  held customers;
BEGIN
  captured := false;
  -- A write carried out before answers unlocked.
  PERFORM 1 FROM inbox WHERE source = 'stripe-write' AND event_id = p_write_key;
  IF FOUND THEN
    status := 'done_before';
    SELECT c.version INTO new_version FROM customers c WHERE c.id = p_customer;
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT * INTO held FROM customers c
  WHERE c.id = p_customer AND c.deleted_at IS NULL FOR UPDATE;
  -- In brackets: the condition's own THENs would end an IF's otherwise.
  IF (CASE
    WHEN p_expected IS NULL THEN held.version IS DISTINCT FROM p_read_version
    -- No live row: nothing to hold, the events are recorded.
    WHEN held.id IS NULL THEN false
    ELSE NOT (
      (NOT p_expected ? 'name' OR coalesce(to_jsonb(held.name), 'null') = p_expected->'name')
      AND (NOT p_expected ? 'email' OR coalesce(to_jsonb(held.email), 'null') = p_expected->'email')
      AND (NOT p_expected ? 'phone' OR coalesce(to_jsonb(held.phone), 'null') = p_expected->'phone')
      AND (NOT p_expected ? 'address' OR coalesce(held.address, 'null') = p_expected->'address')
      AND NOT EXISTS (
        SELECT 1 FROM jsonb_each(coalesce(p_expected -> 'metadata', '{}')) AS e (key, value)
        WHERE coalesce(held.metadata -> e.key, 'null') IS DISTINCT FROM e.value))
  END) THEN
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
  -- Most updates record no conflict: the statements are not run for none.
  IF jsonb_array_length(p_moved) > 0 THEN
    INSERT INTO conflicts (customer_id, field, postgres_value, stripe_value, winner, reason,
                           stripe_event_id, detected_at, postgres_changed_at, stripe_changed_at,
                           target, target_value, sides)
    SELECT * FROM rtws_conflict_rows(p_customer, p_moved)
    ON CONFLICT (customer_id, stripe_event_id, field) DO UPDATE SET
      postgres_value = EXCLUDED.postgres_value, winner = EXCLUDED.winner, sides = EXCLUDED.sides,
      reason = EXCLUDED.reason, postgres_changed_at = EXCLUDED.postgres_changed_at,
      stripe_changed_at = EXCLUDED.stripe_changed_at;
  END IF;
  IF jsonb_array_length(p_merged) > 0 THEN
    INSERT INTO conflicts (customer_id, field, postgres_value, stripe_value, winner, reason,
                           stripe_event_id, detected_at, postgres_changed_at, stripe_changed_at,
                           target, target_value, sides)
    SELECT * FROM rtws_conflict_rows(p_customer, p_merged)
    ON CONFLICT DO NOTHING;
  END IF;
  IF held.id IS NULL THEN
    -- No live row: the version of the row as it is (a tombstone's), or none.
    SELECT c.version INTO new_version FROM customers c WHERE c.id = p_customer;
  ELSE
    UPDATE customers SET
      name = coalesce(p_name, name),
      email = CASE WHEN p_set_email THEN p_email ELSE email END,
      phone = CASE WHEN p_set_phone THEN p_phone ELSE phone END,
      address = CASE WHEN p_set_address THEN p_address ELSE address END,
      metadata = (metadata || p_meta_put) - p_meta_drop
    WHERE id = p_customer
    RETURNING version INTO new_version;
    captured := new_version > held.version;
  END IF;
  status := 'applied';
  RETURN NEXT;
END
$$;
