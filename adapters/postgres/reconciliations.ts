// What a reconciliation keeps besides its backfill row: the external records it met (so that the
// links it did not meet are checked afterwards) and the differences it found.
import { canonicalFields, type CanonicalFields } from '../../core/canonical.ts';
import type { SyncedFields } from '../../core/customer.ts';
import type { Sql } from './connect.ts';

export interface Difference {
  readonly target: string;
  readonly customerId: string | null;
  readonly externalId: string | null;
  /** `differs` (handed to the actor), or a case reported and left standing. */
  readonly kind: string;
  readonly fields: readonly string[];
  readonly detail: string;
}

export async function recordSeen(
  sql: Sql,
  backfillId: number,
  target: string,
  externalIds: readonly string[],
): Promise<void> {
  if (externalIds.length === 0) return;
  await sql`
    INSERT INTO reconcile_seen (backfill_id, target, external_id)
    SELECT ${backfillId}, ${target}, e FROM unnest(${sql.array([...externalIds])}::text[]) AS e
    ON CONFLICT DO NOTHING`;
}

export async function forgetSeen(sql: Sql, backfillId: number): Promise<void> {
  await sql`DELETE FROM reconcile_seen WHERE backfill_id = ${backfillId}`;
}

/**
 * What ended runs had met, and the differences of runs that ended more than `keepDays` ago.
 */
export async function forgetEndedRuns(sql: Sql, keepDays: number): Promise<void> {
  await sql`
    DELETE FROM reconcile_seen s USING backfills b
    WHERE b.id = s.backfill_id AND b.state IN ('done', 'failed', 'cancelled')`;
  // Differences outlive their run's walk, for the operator to read, until the retention.
  await sql`
    DELETE FROM reconcile_differences d USING backfills b
    WHERE b.id = d.backfill_id AND b.state IN ('done', 'failed', 'cancelled')
      AND b.ended_at < now() - make_interval(days => ${keepDays})`;
}

/** Live customers linked on `target` to a record the run did not meet, after `after`, by id. */
export async function unseenLinks(
  sql: Sql,
  backfillId: number,
  target: string,
  after: string | null,
  limit: number,
  /** Only links made before then: one made during the walk may name a record it did not meet. */
  linkedBefore: Date = new Date(),
): Promise<{ customerId: string; externalId: string }[]> {
  // The walk has just filled the table: without fresh statistics the planner takes it for empty
  // and checks every link against it row by row (seconds at 10,000 links, not milliseconds).
  if (after === null) await sql`ANALYZE reconcile_seen`;
  const rows = await sql<{ customer_id: string; external_id: string }[]>`
    SELECT l.customer_id, l.external_id FROM customer_links l
    JOIN customers c ON c.id = l.customer_id AND c.deleted_at IS NULL
    WHERE l.target = ${target}
      AND l.customer_id > ${after ?? '00000000-0000-0000-0000-000000000000'}::uuid
      AND l.linked_at < ${linkedBefore}
      AND NOT EXISTS (SELECT 1 FROM reconcile_seen s WHERE s.backfill_id = ${backfillId}
                        AND s.target = ${target} AND s.external_id = l.external_id)
    ORDER BY l.customer_id LIMIT ${limit}`;
  return rows.map((r) => ({ customerId: r.customer_id, externalId: r.external_id }));
}

export async function recordDifferences(
  sql: Sql,
  backfillId: number,
  differences: readonly Difference[],
): Promise<void> {
  for (const d of differences)
    await sql`
      INSERT INTO reconcile_differences (backfill_id, target, customer_id, external_id, kind, fields, detail)
      VALUES (${backfillId}, ${d.target}, ${d.customerId}, ${d.externalId}, ${d.kind},
              ${sql.array([...d.fields])}::text[], ${d.detail})`;
}

export interface DifferenceRow extends Difference {
  readonly id: number;
  readonly foundAt: Date;
}

export async function differencesOf(
  sql: Sql,
  backfillId: number,
  limit: number,
  after: number,
): Promise<DifferenceRow[]> {
  const rows = await sql<
    {
      id: string;
      target: string;
      customer_id: string | null;
      external_id: string | null;
      kind: string;
      fields: string[];
      detail: string;
      found_at: Date;
    }[]
  >`
    SELECT id, target, customer_id, external_id, kind, fields, detail, found_at
    FROM reconcile_differences WHERE backfill_id = ${backfillId} AND id > ${after}
    ORDER BY id LIMIT ${limit}`;
  return rows.map((r) => ({
    id: Number(r.id),
    target: r.target,
    customerId: r.customer_id,
    externalId: r.external_id,
    kind: r.kind,
    fields: r.fields,
    detail: r.detail,
    foundAt: r.found_at,
  }));
}

/** Per target and field, how many customers differed there. */
export async function fieldCounts(
  sql: Sql,
  backfillId: number,
): Promise<Record<string, Record<string, number>>> {
  const rows = await sql<{ target: string; field: string; n: number }[]>`
    SELECT target, f AS field, count(*)::int AS n
    FROM reconcile_differences, unnest(fields) AS f
    WHERE backfill_id = ${backfillId} GROUP BY target, f ORDER BY target, f`;
  const out: Record<string, Record<string, number>> = {};
  for (const r of rows) (out[r.target] ??= {})[r.field] = r.n;
  return out;
}

/** The catalogue customers linked on `target` to these records, by record id. */
export async function customersLinkedTo(
  sql: Sql,
  target: string,
  externalIds: readonly string[],
): Promise<Map<string, string>> {
  const rows = await sql<{ external_id: string; customer_id: string }[]>`
    SELECT external_id, customer_id FROM customer_links
    WHERE target = ${target} AND external_id = ANY(${sql.array([...externalIds])})`;
  return new Map(rows.map((r) => [r.external_id, r.customer_id]));
}

export interface CatalogueRow {
  readonly fields: CanonicalFields;
  readonly deleted: boolean;
  /** Erased: its id is paired with no external object again. */
  readonly erased: boolean;
  readonly version: number;
  /** When the row's synced content last changed. */
  readonly updatedAt: Date;
}

/** These customers' rows, live or deleted, by id. */
export async function catalogueRows(
  sql: Sql,
  ids: readonly string[],
): Promise<Map<string, CatalogueRow>> {
  const rows = await sql<
    (SyncedFields & {
      id: string;
      deleted: boolean;
      erased: boolean;
      version: string;
      updated_at: Date;
    })[]
  >`
    SELECT id, name, email, phone, address, metadata, deleted_at IS NOT NULL AS deleted,
           erased_at IS NOT NULL AS erased, version, updated_at
    FROM customers WHERE id = ANY(${sql.array([...ids])}::uuid[])`;
  return new Map(
    rows.map((r) => [
      r.id,
      {
        fields: canonicalFields(r),
        deleted: r.deleted,
        erased: r.erased,
        version: Number(r.version),
        updatedAt: r.updated_at,
      },
    ]),
  );
}

/** How many links these targets have: what a reconciliation of them compares, about. */
export async function linkCount(sql: Sql, targets: readonly string[]): Promise<number> {
  const [r] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM customer_links WHERE target = ANY(${sql.array([...targets])})`;
  return r?.n ?? 0;
}

/** Of these customers, those with a link on `target`. */
export async function customersWithLink(
  sql: Sql,
  target: string,
  customerIds: readonly string[],
): Promise<Set<string>> {
  if (customerIds.length === 0) return new Set();
  const rows = await sql<{ customer_id: string }[]>`
    SELECT customer_id FROM customer_links
    WHERE target = ${target} AND customer_id = ANY(${sql.array([...customerIds])}::uuid[])`;
  return new Set(rows.map((r) => r.customer_id));
}
