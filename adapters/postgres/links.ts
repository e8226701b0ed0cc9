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

/**
 * A customer's link to a target, or whether it will never have one: deleted (or erased) while it
 * had none. Unknown counts as gone.
 */
export async function linkOrGone(
  sql: Sql,
  customerId: string,
  target: string,
): Promise<{ externalId: string } | { gone: boolean }> {
  const [row] = await sql<{ external_id: string | null; gone: boolean }[]>`
    SELECT l.external_id, c.deleted_at IS NOT NULL AS gone
    FROM customers c
    LEFT JOIN customer_links l ON l.customer_id = c.id AND l.target = ${target}
    WHERE c.id = ${customerId}`;
  if (!row) return { gone: true };
  return row.external_id !== null ? { externalId: row.external_id } : { gone: row.gone };
}

/**
 * Archives one link (kept, never dropped), with the account it belonged to: the record it names is
 * gone, and the customer is unlinked there. Only while the link still names that record.
 */
export async function archiveLink(
  sql: Sql,
  customerId: string,
  target: string,
  externalId: string,
): Promise<void> {
  await sql.begin(async (tx) => {
    const moved = await tx`
      DELETE FROM customer_links
      WHERE customer_id = ${customerId} AND target = ${target} AND external_id = ${externalId}
      RETURNING linked_at`;
    if (moved.length === 0) return;
    await tx`
      INSERT INTO customer_links_archive (customer_id, target, external_id, linked_at, account_id)
      SELECT ${customerId}, ${target}, ${externalId}, ${moved[0]!.linked_at as Date},
             coalesce((SELECT account_id FROM target_bindings WHERE target = ${target}), 'unknown')`;
  });
}

/**
 * Links a pair only while neither side is linked on `target`: true when this call made the link.
 * For a pairing decided outside the actor (a Stripe customer created outside rtws, paired by
 * email), so that the next event about it maps by the link even before its actor has run.
 */
export async function claimLink(
  sql: Sql,
  customerId: string,
  target: string,
  externalId: string,
): Promise<boolean> {
  const made = await sql`
    INSERT INTO customer_links (customer_id, target, external_id)
    SELECT ${customerId}, ${target}, ${externalId}
    WHERE NOT EXISTS (SELECT 1 FROM customer_links WHERE customer_id = ${customerId} AND target = ${target})
    ON CONFLICT DO NOTHING
    RETURNING customer_id`;
  return made.length > 0;
}

/** Takes back a link `claimLink` made, while it still names that record. */
export async function unclaimLink(
  sql: Sql,
  customerId: string,
  target: string,
  externalId: string,
): Promise<void> {
  await sql`
    DELETE FROM customer_links
    WHERE customer_id = ${customerId} AND target = ${target} AND external_id = ${externalId}`;
}
