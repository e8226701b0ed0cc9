// Conflicts the merge policy settled: a field changed in Postgres and in Stripe at once; and fields
// a reconciliation found edited in Salesforce, which the catalogue wins while Salesforce is only a
// target.
import type { Sql } from './connect.ts';

export interface ConflictRecord {
  id: number;
  customer_id: string;
  field: string;
  postgres_value: unknown;
  stripe_value: unknown;
  /** The system the other side is: `stripe` or `salesforce`. */
  target: string;
  /** The other side's value (Stripe's, or Salesforce's). */
  target_value: unknown;
  /** Every side's value when it was decided (`postgres`, `stripe`, `salesforce`); null on older records. */
  sides: Record<string, unknown> | null;
  winner: 'stripe' | 'salesforce' | 'postgres';
  reason: string;
  stripe_event_id: string;
  detected_at: string;
  /** When each side changed the field; null on records from before these were kept. */
  postgres_changed_at: string | null;
  stripe_changed_at: string | null;
}

export interface ConflictQuery {
  limit: number;
  /** Newest first: the page after this conflict id. */
  cursor?: number | undefined;
  customerId?: string | undefined;
  /** Conflicts over this field only (`email`, `metadata.plan`, …). */
  field?: string | undefined;
}

type Dates = 'detected_at' | 'postgres_changed_at' | 'stripe_changed_at';

interface Row extends Omit<ConflictRecord, Dates | 'id'> {
  id: string;
  detected_at: Date;
  postgres_changed_at: Date | null;
  stripe_changed_at: Date | null;
}

/** Newest first, with the cursor of the next page (null on the last). */
export async function listConflicts(
  sql: Sql,
  q: ConflictQuery,
): Promise<{ data: ConflictRecord[]; next_cursor: string | null }> {
  // Only the filters given are in the statement, so that each combination is a statement of its
  // own. One statement with `$1 IS NULL OR …` for each was prepared once per connection, and after
  // a few calls Postgres kept a plan for any filter: one customer's conflicts were then found by
  // reading every conflict newer than them.
  const rows = await sql<Row[]>`
    SELECT id, customer_id, field, postgres_value, stripe_value, target,
           coalesce(target_value, stripe_value) AS target_value, sides, winner, reason, stripe_event_id,
           detected_at, postgres_changed_at, stripe_changed_at
    FROM conflicts
    WHERE true
      ${q.customerId === undefined ? sql`` : sql`AND customer_id = ${q.customerId}::uuid`}
      ${q.field === undefined ? sql`` : sql`AND field = ${q.field}`}
      ${q.cursor === undefined ? sql`` : sql`AND id < ${q.cursor}::bigint`}
    ORDER BY id DESC
    LIMIT ${q.limit + 1}`;
  const page = rows.slice(0, q.limit).map((r) => ({
    ...r,
    id: Number(r.id),
    detected_at: r.detected_at.toISOString(),
    postgres_changed_at: r.postgres_changed_at?.toISOString() ?? null,
    stripe_changed_at: r.stripe_changed_at?.toISOString() ?? null,
  }));
  const more = rows.length > q.limit;
  return { data: page, next_cursor: more ? String(page[page.length - 1]!.id) : null };
}

/** A field a reconciliation found edited in a target that only receives: the catalogue's win. */
export async function recordTargetConflict(
  sql: Sql,
  c: {
    customerId: string;
    target: string;
    field: string;
    postgres: unknown;
    held: unknown;
    reason: string;
    /** What found it, e.g. `reconcile:<run>:<record id>`: recorded once per field. */
    foundBy: string;
  },
): Promise<void> {
  await sql`
    INSERT INTO conflicts (customer_id, field, postgres_value, stripe_value, target, target_value,
                           winner, reason, stripe_event_id, detected_at)
    VALUES (${c.customerId}, ${c.field}, ${sql.json(c.postgres as never)}, NULL, ${c.target},
            ${sql.json(c.held as never)}, 'postgres', ${c.reason}, ${c.foundBy}, now())
    ON CONFLICT DO NOTHING`;
}
