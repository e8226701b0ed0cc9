-- Patches through the API, several in one statement and one transaction, as creates are (sql/027):
-- a patch was one statement (sql/028), and its commit (the WAL flush, the round trip and the
-- wake-ups on both sides) cost more than the update. The API sends the patches that arrive while
-- the last ones are still in flight as one batch (adapters/postgres/patch-batches.ts), a JSON array
-- with one element per patch, each carried out by `rtws_patch_customer` exactly as it is alone:
-- its checks under the row's lock, its outcome, its own correlation id on its captured change.
--
-- The patches run in the order of their customers' ids (a customer's own in the order they came),
-- so that two batches lock rows in the same order and never wait for each other in a cycle. A
-- batch waits for a row locked elsewhere, and its patches answer together: rtws's own writers
-- hold a row's lock for a statement or a short transaction, so the wait is short.
--
-- The text fields go as text arrays, as a patch alone sends them (JSON refuses some strings text
-- takes); `p_patches` holds the flags, the ids, the address and the metadata, one element per
-- patch, in the arrays' order. Each answer carries `ord`, the patch's place in them.
CREATE FUNCTION rtws_patch_customers(
  p_patches jsonb,
  p_correlations text[],
  p_names text[],
  p_emails text[],
  p_phones text[],
  p_metadata_max_keys integer
)
RETURNS TABLE (
  ord integer,
  outcome text,
  current_version bigint,
  id uuid,
  name text,
  email text,
  phone text,
  address jsonb,
  metadata jsonb,
  version bigint,
  origin text,
  created_at timestamptz,
  updated_at timestamptz,
  links jsonb
)
LANGUAGE plpgsql AS $$
DECLARE
  p record;
BEGIN
  FOR p IN
    SELECT e.value AS v, e.ordinality::integer AS o
    FROM jsonb_array_elements(p_patches) WITH ORDINALITY AS e
    ORDER BY (e.value->>'id')::uuid, e.ordinality
  LOOP
    RETURN QUERY
    SELECT p.o, r.*
    FROM rtws_patch_customer(
      (p.v->>'id')::uuid,
      (p.v->>'if_match')::bigint,
      p_correlations[p.o],
      (p.v->>'set_name')::boolean, p_names[p.o],
      (p.v->>'set_email')::boolean, p_emails[p.o],
      (p.v->>'set_phone')::boolean, p_phones[p.o],
      (p.v->>'set_address')::boolean, nullif(p.v->'address', 'null'::jsonb),
      nullif(p.v->'metadata_put', 'null'::jsonb),
      ARRAY(SELECT jsonb_array_elements_text(p.v->'metadata_drop')),
      p_metadata_max_keys
    ) AS r;
  END LOOP;
END
$$;
