-- A PATCH or a DELETE through the API in one statement. Each was a transaction of four round
-- trips (BEGIN, the row's locked read, the write, COMMIT), and each round trip's socket write and
-- wake-up cost more than the statements. The checks the API made between them (the row is live,
-- If-Match names its version, the merged metadata keeps within its limit) are made here, under
-- the row's lock, and answered as an outcome the caller turns into its 404, 412 or 400:
-- `missing`, `precondition` (with the row's version), `too_many_keys`, or `updated` / `deleted`.
-- Nothing is written unless the outcome says so. The correlation id is set first, so the change
-- the write captures carries the request's id.

-- The fields set are those the patch names (its flags), as text, as the API sends them; metadata
-- is merged when the patch has some (`p_metadata_put` not null): `p_metadata_put` added or
-- replaced, `p_metadata_drop` removed, and only then is its size checked, so a customer that came
-- from Stripe with more keys than the API allows can still be patched otherwise.
CREATE FUNCTION rtws_patch_customer(
  p_id uuid,
  p_if_match bigint,
  p_correlation text,
  p_set_name boolean,
  p_name text,
  p_set_email boolean,
  p_email text,
  p_set_phone boolean,
  p_phone text,
  p_set_address boolean,
  p_address jsonb,
  p_metadata_put jsonb,
  p_metadata_drop text[],
  p_metadata_max_keys integer
)
RETURNS TABLE (
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
#variable_conflict use_column
DECLARE
  c customers;
  merged jsonb;
BEGIN
  PERFORM set_config('rtws.correlation_id', coalesce(p_correlation, ''), true);
  SELECT * INTO c FROM customers WHERE customers.id = p_id AND customers.deleted_at IS NULL FOR UPDATE;
  IF NOT FOUND THEN
    outcome := 'missing';
    RETURN NEXT;
    RETURN;
  END IF;
  IF p_if_match IS NOT NULL AND c.version <> p_if_match THEN
    outcome := 'precondition';
    current_version := c.version;
    RETURN NEXT;
    RETURN;
  END IF;
  merged := (c.metadata || coalesce(p_metadata_put, '{}'::jsonb)) - coalesce(p_metadata_drop, '{}'::text[]);
  IF p_metadata_put IS NOT NULL
     AND (SELECT count(*) FROM jsonb_object_keys(merged)) > p_metadata_max_keys THEN
    outcome := 'too_many_keys';
    RETURN NEXT;
    RETURN;
  END IF;
  UPDATE customers SET
    name = CASE WHEN p_set_name THEN p_name ELSE customers.name END,
    email = CASE WHEN p_set_email THEN p_email ELSE customers.email END,
    phone = CASE WHEN p_set_phone THEN p_phone ELSE customers.phone END,
    address = CASE WHEN p_set_address THEN p_address ELSE customers.address END,
    metadata = merged
  WHERE customers.id = p_id
  RETURNING customers.id, customers.name, customers.email, customers.phone, customers.address,
            customers.metadata, customers.version, customers.origin, customers.created_at,
            customers.updated_at
  INTO id, name, email, phone, address, metadata, version, origin, created_at, updated_at;
  SELECT coalesce(jsonb_object_agg(l.target, l.external_id), '{}'::jsonb) INTO links
  FROM customer_links l WHERE l.customer_id = p_id;
  outcome := 'updated';
  RETURN NEXT;
END
$$;

CREATE FUNCTION rtws_delete_customer(p_id uuid, p_if_match bigint, p_correlation text)
RETURNS TABLE (outcome text, current_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v bigint;
BEGIN
  PERFORM set_config('rtws.correlation_id', coalesce(p_correlation, ''), true);
  SELECT c.version INTO v FROM customers c WHERE c.id = p_id AND c.deleted_at IS NULL FOR UPDATE;
  IF NOT FOUND THEN
    outcome := 'missing';
  ELSIF p_if_match IS NOT NULL AND v <> p_if_match THEN
    outcome := 'precondition';
    current_version := v;
  ELSE
    UPDATE customers SET deleted_at = now() WHERE customers.id = p_id;
    outcome := 'deleted';
  END IF;
  RETURN NEXT;
END
$$;
