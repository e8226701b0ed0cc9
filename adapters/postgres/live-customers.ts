// Live catalogue customers read whole, as resyncs and exports offer them to their actors again.
import type { CustomerChanged } from '../../core/messages.ts';
import type { SyncedFields } from '../../core/customer.ts';
import type { Sql } from './connect.ts';

/** A live customer's row as a fact carries it. */
export interface LiveCustomerRow extends SyncedFields {
  id: string;
  /** A bigint: Postgres sends it as text. */
  version: string;
  origin: CustomerChanged['metadata']['origin'];
  updated_at: Date;
}

/** Below every UUID: a walk in id order starts after it. */
export const FIRST_ID = '00000000-0000-0000-0000-000000000000';

export async function liveCustomerRow(
  sql: Sql,
  customerId: string,
): Promise<LiveCustomerRow | undefined> {
  const [row] = await sql<LiveCustomerRow[]>`
    SELECT id, name, email, phone, address, metadata, version, origin, updated_at
    FROM customers WHERE id = ${customerId} AND deleted_at IS NULL`;
  return row;
}

/** Up to `limit` live customers after `after`, in id order. */
export function liveCustomersAfter(
  sql: Sql,
  after: string,
  limit: number,
): Promise<LiveCustomerRow[]> {
  return sql<LiveCustomerRow[]>`
    SELECT id, name, email, phone, address, metadata, version, origin, updated_at
    FROM customers WHERE deleted_at IS NULL AND id > ${after}::uuid
    ORDER BY id LIMIT ${limit}`;
}

/** As `liveCustomersAfter`, with the targets each customer is linked to. */
export function liveCustomersWithLinksAfter(
  sql: Sql,
  after: string,
  limit: number,
): Promise<(LiveCustomerRow & { linked: string[] })[]> {
  return sql<(LiveCustomerRow & { linked: string[] })[]>`
    SELECT c.id, c.name, c.email, c.phone, c.address, c.metadata, c.version, c.origin,
           c.updated_at,
           coalesce((SELECT array_agg(l.target) FROM customer_links l WHERE l.customer_id = c.id),
                    '{}') AS linked
    FROM customers c
    WHERE c.deleted_at IS NULL AND c.id > ${after}::uuid
    ORDER BY c.id LIMIT ${limit}`;
}

export async function liveCustomerCount(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM customers WHERE deleted_at IS NULL`;
  return row?.n ?? 0;
}
