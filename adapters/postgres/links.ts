// Links between our customers and their twins on each target.
import type { Sql } from './connect.ts';

/** Records (or moves) a customer's link; idempotent, so a replayed outcome changes nothing. */
export async function recordLink(
  sql: Sql,
  customerId: string,
  target: string,
  externalId: string,
): Promise<void> {
  await sql`
    INSERT INTO customer_links (customer_id, target, external_id) VALUES (${customerId}, ${target}, ${externalId})
    ON CONFLICT (customer_id, target) DO UPDATE SET external_id = EXCLUDED.external_id, linked_at = now()
    WHERE customer_links.external_id IS DISTINCT FROM EXCLUDED.external_id`;
}

/** The customer linked to an external object, if any. */
export async function customerForExternalId(
  sql: Sql,
  target: string,
  externalId: string,
): Promise<string | undefined> {
  const [row] = await sql<{ customer_id: string }[]>`
    SELECT customer_id FROM customer_links WHERE target = ${target} AND external_id = ${externalId}`;
  return row?.customer_id;
}

/** The external id a customer is linked to on a target, if any. */
export async function linkOf(
  sql: Sql,
  customerId: string,
  target: string,
): Promise<string | undefined> {
  const [row] = await sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links WHERE customer_id = ${customerId} AND target = ${target}`;
  return row?.external_id;
}
