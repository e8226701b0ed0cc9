-- Updates from a target, several in one statement and one transaction, as inserts are (sql/025):
-- an update was two round trips (sql/026), the row's read and the statement that carries out what
-- was decided on it, each with its own commit. The worker sends the updates its actors ask for
-- while earlier ones are in flight as one batch (adapters/postgres/update-batches.ts): one read
-- of all their rows, then this function, which carries each out through
-- `rtws_update_from_target` exactly as alone: only if its row is still at the version read, under
-- the row's lock, with its own settings, so its captured change carries its own tag, origin and
-- correlation. One that answers `moved` is read and decided again alone.
--
-- The updates run in the order of their customers' ids (one customer's in arrival order), so
-- that two batches, or a batch and the API's patches (sql/029), lock rows in the same order and
-- never wait for each other in a cycle. The text fields go as text arrays, as an update alone
-- sends them (JSON refuses some strings text takes); `p_writes` holds the rest, one element per
-- update, in the arrays' order. Each answer carries `ord`, the update's place in them.
CREATE FUNCTION rtws_update_from_targets(
  p_writes jsonb,
  p_names text[],
  p_emails text[],
  p_phones text[]
)
RETURNS TABLE (ord integer, status text, new_version bigint, captured boolean)
LANGUAGE plpgsql AS $$
DECLARE
  w record;
BEGIN
  FOR w IN
    SELECT e.value AS v, e.ordinality::integer AS o
    FROM jsonb_array_elements(p_writes) WITH ORDINALITY AS e
    ORDER BY (e.value->>'customer')::uuid, e.ordinality
  LOOP
    RETURN QUERY
    SELECT w.o, r.*
    FROM rtws_update_from_target(
      w.v->>'write_key',
      (w.v->>'customer')::uuid,
      w.v->>'origin',
      w.v->>'correlation',
      w.v->>'side',
      ARRAY(SELECT jsonb_array_elements_text(w.v->'events')),
      (w.v->>'read_version')::bigint,
      p_names[w.o],
      (w.v->>'set_email')::boolean, p_emails[w.o],
      (w.v->>'set_phone')::boolean, p_phones[w.o],
      (w.v->>'set_address')::boolean, nullif(w.v->'address', 'null'::jsonb),
      w.v->'meta_put',
      ARRAY(SELECT jsonb_array_elements_text(w.v->'meta_drop')),
      w.v->'moved',
      w.v->'merged',
      w.v->>'write_id'
    ) AS r;
  END LOOP;
END
$$;
