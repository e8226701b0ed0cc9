-- An update from a target in one statement, where 026 takes two (the row's read, then the write
-- decided on it). The caller decides the write from the row only where a field it sets no longer
-- holds what the merge expected (Postgres changed it meanwhile): that field is left alone, or the
-- later change wins it, and a conflict is recorded. Where every such field still holds what was
-- expected, the write is the merge's patch whatever else the row holds, so the read decides
-- nothing. This function checks that under the row's lock and carries the patch out through
-- `rtws_update_from_target`, on the version it locked; otherwise it writes nothing and answers
-- `moved`, and the caller reads the row and decides as before (026).
--
-- `p_expected`: what the merge expected each field it sets to hold, for the fields it checks, as
-- JSON: `name`, `email`, `phone` (strings or null), `address` (an object or null) and `metadata`
-- (key: string or null, null for a key that should be absent). A field named there holds what was
-- expected when the row's value is that very value; the caller sends only values in their canonical
-- form, which a row written by rtws holds as they are, so a field that holds the same value in
-- another form (an email's case, say) answers `moved` and is decided on the read row. The other
-- parameters are those of `rtws_update_from_target`. With no live row, only the events and the
-- merge's conflicts are recorded, as there. Answers `done_before`, `moved` or `applied`, as it
-- does. The expected strings go inside JSON, which refuses a lone surrogate that text takes: the
-- caller sends such a value to the row read instead.
CREATE FUNCTION rtws_update_as_expected(
  p_write_key text,
  p_customer uuid,
  p_origin text,
  p_correlation text,
  p_side text,
  p_events text[],
  p_expected jsonb,
  p_name text,
  p_set_email boolean,
  p_email text,
  p_set_phone boolean,
  p_phone text,
  p_set_address boolean,
  p_address jsonb,
  p_meta_put jsonb,
  p_meta_drop text[],
  p_merged jsonb,
  p_write_id text
) RETURNS TABLE (status text, new_version bigint, captured boolean) LANGUAGE plpgsql AS $$
DECLARE
  held customers;
BEGIN
  -- A write carried out before answers `done_before` from 026, unlocked, as it does there.
  PERFORM 1 FROM inbox WHERE source = 'stripe-write' AND event_id = p_write_key;
  IF NOT FOUND THEN
    SELECT * INTO held FROM customers c
    WHERE c.id = p_customer AND c.deleted_at IS NULL FOR UPDATE;
    IF FOUND AND NOT (
      (NOT p_expected ? 'name' OR coalesce(to_jsonb(held.name), 'null') = p_expected->'name')
      AND (NOT p_expected ? 'email' OR coalesce(to_jsonb(held.email), 'null') = p_expected->'email')
      AND (NOT p_expected ? 'phone' OR coalesce(to_jsonb(held.phone), 'null') = p_expected->'phone')
      AND (NOT p_expected ? 'address' OR coalesce(held.address, 'null') = p_expected->'address')
      AND NOT EXISTS (
        SELECT 1 FROM jsonb_each(coalesce(p_expected -> 'metadata', '{}')) AS e (key, value)
        WHERE coalesce(held.metadata -> e.key, 'null') IS DISTINCT FROM e.value)
    ) THEN
      status := 'moved';
      captured := false;
      RETURN NEXT;
      RETURN;
    END IF;
  END IF;
  -- The row stays locked at the version read here (null: no live row, or done before).
  RETURN QUERY SELECT * FROM rtws_update_from_target(
    p_write_key, p_customer, p_origin, p_correlation, p_side, p_events, held.version,
    p_name, p_set_email, p_email, p_set_phone, p_phone, p_set_address, p_address,
    p_meta_put, p_meta_drop, '[]', p_merged, p_write_id);
END
$$;
