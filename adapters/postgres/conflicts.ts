// Conflicts the merge policy settled: a field changed in Postgres and in Stripe at once.
import type { Sql } from './connect.ts';

export interface ConflictRecord {
  id: number;
  customer_id: string;
  field: string;
  postgres_value: unknown;
  stripe_value: unknown;
  winner: 'stripe' | 'postgres';
  reason: string;
  stripe_event_id: string;
  detected_at: string;
}

export interface ConflictQuery {
  limit: number;
  /** Newest first: the page after this conflict id. */
  cursor?: number | undefined;
  customerId?: string | undefined;
}

interface Row extends Omit<ConflictRecord, 'detected_at' | 'id'> {
  id: string;
  detected_at: Date;
}

/** Newest first, with the cursor of the next page (null on the last). */
export async function listConflicts(
  sql: Sql,
  q: ConflictQuery,
): Promise<{ data: ConflictRecord[]; next_cursor: string | null }> {
  const rows = await sql<Row[]>`
    SELECT id, customer_id, field, postgres_value, stripe_value, winner, reason, stripe_event_id,
           detected_at
    FROM conflicts
    WHERE (${q.customerId ?? null}::uuid IS NULL OR customer_id = ${q.customerId ?? null}::uuid)
      AND (${q.cursor ?? null}::bigint IS NULL OR id < ${q.cursor ?? null}::bigint)
    ORDER BY id DESC
    LIMIT ${q.limit + 1}`;
  const page = rows.slice(0, q.limit).map((r) => ({
    ...r,
    id: Number(r.id),
    detected_at: r.detected_at.toISOString(),
  }));
  const more = rows.length > q.limit;
  return { data: page, next_cursor: more ? String(page[page.length - 1]!.id) : null };
}
