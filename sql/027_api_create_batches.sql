-- Creates through the API, several in one statement and one transaction. A create without an
-- Idempotency-Key was a statement and a commit of its own, and the commit (its WAL flush, the
-- round trip and the wake-ups on both sides) cost more than the insert. The API sends the creates
-- that arrive while the last ones are still in flight as one batch
-- (adapters/postgres/create-batches.ts), in the arrays' order, each with its own correlation id,
-- so each captured change carries its own request's id. The fields go as text, as a create alone
-- sends them; `p_addresses` and `p_metadata` are JSON arrays with one element per create (an
-- address may be null). The customers of one batch share their `created_at`: the transaction's.
CREATE FUNCTION rtws_create_customers(
  p_correlations text[],
  p_names text[],
  p_emails text[],
  p_phones text[],
  p_addresses jsonb,
  p_metadata jsonb
)
RETURNS TABLE (
  ord integer,
  id uuid,
  name text,
  email text,
  phone text,
  address jsonb,
  metadata jsonb,
  version bigint,
  origin text,
  created_at timestamptz,
  updated_at timestamptz
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_names, 1), 0) LOOP
    PERFORM set_config('rtws.correlation_id', coalesce(p_correlations[i], ''), true);
    ord := i;
    INSERT INTO customers (name, email, phone, address, metadata)
    VALUES (p_names[i], p_emails[i], p_phones[i], nullif(p_addresses->(i - 1), 'null'::jsonb),
            p_metadata->(i - 1))
    RETURNING customers.id, customers.name, customers.email, customers.phone, customers.address,
              customers.metadata, customers.version, customers.origin, customers.created_at,
              customers.updated_at
    INTO id, name, email, phone, address, metadata, version, origin, created_at, updated_at;
    RETURN NEXT;
  END LOOP;
END
$$;
