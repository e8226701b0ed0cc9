-- Inserts from a target, several in one statement and one transaction. Each element of the array
-- is one write, as `rtws_insert_from_target` takes it, and is carried out by it, in the array's
-- order, with its own settings (a version floor left by the one before is cleared). A transaction
-- of its own cost each insert a commit, and so a WAL flush, a round trip and a wake-up on both
-- sides: most of an insert's cost. The worker sends the inserts that its actors' steps ask for
-- while the last ones are still in flight as one batch (adapters/postgres/insert-batches.ts), so
-- an import or a burst of customers born in Stripe pays a commit per batch, not per customer.
CREATE FUNCTION rtws_insert_from_targets(p_writes jsonb)
RETURNS TABLE (ord integer, was_applied boolean, new_version bigint, captured boolean)
LANGUAGE plpgsql AS $$
DECLARE
  w jsonb;
  i integer;
BEGIN
  FOR w, i IN
    SELECT e.value, e.n::integer FROM jsonb_array_elements(p_writes) WITH ORDINALITY AS e (value, n)
    ORDER BY e.n
  LOOP
    PERFORM set_config('rtws.version_floor', coalesce(w->>'version_floor', ''), true);
    ord := i;
    SELECT t.was_applied, t.new_version, t.captured INTO was_applied, new_version, captured
    FROM rtws_insert_from_target(
      w->>'write_key', (w->>'customer')::uuid, w->>'origin', w->>'correlation',
      (w->>'version_floor')::bigint, w->>'side',
      ARRAY(SELECT a.x FROM jsonb_array_elements_text(w->'events') WITH ORDINALITY AS a (x, n) ORDER BY a.n),
      w->>'name', w->>'email', w->>'phone', nullif(w->'address', 'null'::jsonb), w->'metadata',
      ARRAY(SELECT a.x FROM jsonb_array_elements_text(w->'targets') WITH ORDINALITY AS a (x, n) ORDER BY a.n),
      ARRAY(SELECT a.x FROM jsonb_array_elements_text(w->'externals') WITH ORDINALITY AS a (x, n) ORDER BY a.n),
      w->>'write_id') AS t;
    RETURN NEXT;
  END LOOP;
END
$$;
