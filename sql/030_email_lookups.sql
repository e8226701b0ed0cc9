-- Matching by email compares emails case-insensitively (`lower(email)`), and the index of 001 is on
-- `email` as stored, so every such lookup read the whole catalogue: each page of an import from
-- Stripe (adapters/postgres/import-lookups.ts), each candidate of a match, and each record that a
-- Salesforce import decides (adapters/postgres/salesforce-imports.ts). With 200,000 customers a
-- page's lookup took 111 ms and one email 36 ms; with this index, under a millisecond. 001's index
-- stays for the API's exact `?email=` filter.
--
-- Not partial, as 001's is: Postgres keeps statistics of an indexed expression, but its planner
-- leaves out a partial index's, and without them it took a page's hundred emails for half the
-- table and read it all. The lookups still say `deleted_at IS NULL`.
--
-- Built inside the migration's transaction, which makes writes to `customers` wait while it runs:
-- about a second per million rows measured here. It first waits for the write transactions open on
-- the table, and writes queue behind it meanwhile, so it gives up after 10 s of that rather than
-- hold them for as long as one stays open: the start then fails naming this migration, and the
-- next start tries again. On a large or busy catalogue, build it beforehand without holding
-- writes, and this migration then finds it:
--   CREATE INDEX CONCURRENTLY customers_email_lower ON customers (lower(email));
-- (a concurrent build that fails leaves an invalid index: drop it and build again).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE c.relname = 'customers_email_lower'
               AND c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid) THEN
    RAISE EXCEPTION 'index customers_email_lower is invalid (a concurrent build that failed): drop it, then build it again or start rtws to build it';
  END IF;
END
$$;
SET LOCAL lock_timeout = '10s';
CREATE INDEX IF NOT EXISTS customers_email_lower ON customers (lower(email));
SET LOCAL lock_timeout = DEFAULT;
