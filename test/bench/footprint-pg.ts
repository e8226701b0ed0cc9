// Postgres per row at scale, for the footprint benchmark. A few thousand rows say little about a
// table's size per row: empty index pages, free-space maps and half-filled pages weigh as much as
// the rows. So the bench's own rows of `customers`, `customer_links` and `inbox` are copied, with
// new ids (and emails, Stripe ids and event ids made unique by a suffix), into tables made `LIKE`
// them (same columns, indexes and constraints; no triggers) up to `rows` each, vacuumed, and
// measured.
import type { Sql } from '../../adapters/postgres/connect.ts';

export interface TableAtScale {
  rows: number;
  /** pg_total_relation_size: heap, indexes, TOAST, free-space and visibility maps. */
  bytes: number;
}

const COPIES: Record<string, (sql: Sql, k: number, rows: number) => Promise<unknown>> = {
  customers: (sql, k, rows) => sql`
    INSERT INTO footprint_customers
      (id, name, email, phone, address, metadata, version, origin, created_at, updated_at)
    SELECT gen_random_uuid(), c.name, replace(c.email, '@', '.' || g || '@'), c.phone, c.address,
           c.metadata, c.version, c.origin, c.created_at + g * interval '1 ms', c.updated_at
    FROM customers c, generate_series(1, ${k}::int) g
    WHERE c.deleted_at IS NULL AND c.email IS NOT NULL
    LIMIT ${rows}`,
  customer_links: (sql, k, rows) => sql`
    INSERT INTO footprint_customer_links (customer_id, target, external_id, linked_at)
    SELECT gen_random_uuid(), l.target, l.external_id || '_' || g, l.linked_at
    FROM customer_links l, generate_series(1, ${k}::int) g
    LIMIT ${rows}`,
  inbox: (sql, k, rows) => sql`
    INSERT INTO footprint_inbox (source, event_id, customer_id, applied_at)
    SELECT i.source, i.event_id || '_' || g, gen_random_uuid(), i.applied_at
    FROM inbox i, generate_series(1, ${k}::int) g
    LIMIT ${rows}`,
};

export async function postgresAtScale(
  sql: Sql,
  rows: number,
): Promise<Record<string, TableAtScale>> {
  const out: Record<string, TableAtScale> = {};
  for (const [table, copy] of Object.entries(COPIES)) {
    const [seed] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${sql(table)}`;
    if (!seed?.n) continue;
    const scaled = `footprint_${table}`;
    await sql`CREATE TABLE ${sql(scaled)} (LIKE ${sql(table)} INCLUDING ALL)`;
    try {
      await copy(sql, Math.ceil(rows / seed.n), rows);
      await sql`VACUUM ANALYZE ${sql(scaled)}`;
      const [r] = await sql<{ n: number; bytes: string }[]>`
        SELECT count(*)::int AS n, pg_total_relation_size(${scaled}::regclass)::text AS bytes
        FROM ${sql(scaled)}`;
      out[table] = { rows: r!.n, bytes: Number(r!.bytes) };
    } finally {
      await sql`DROP TABLE ${sql(scaled)}`;
    }
  }
  return out;
}
