// The walk an import and a reconciliation make over the bound account's customers, 100 a page,
// newest first. Its cursor is the last customer listed, with its creation second
// (`<cus_…>@<created>`), saved after each page. Stripe answers `starting_after` naming a customer
// deleted since with `resource_missing`: in a long walk beside live changes (rtws pushing a
// catalogue deletion, a person deleting in the dashboard) that would fail the run for good, with
// only a new run from the start as the way on. The walk then goes on from the cursor's creation
// second instead; the customers of that second are listed again, which both walks take in their
// stride (an import's handovers carry their message ids, a reconciliation marks what it has seen).
import type Stripe from 'stripe';

const PAGE = 100;

/** The cursor after a page: its last customer, and when that one was created. */
export function walkCursor(last: Pick<Stripe.Customer, 'id' | 'created'>): string {
  return `${last.id}@${last.created}`;
}

/** The page after `cursor` (a cursor saved before it carried a time is a bare id). */
export async function customersAfter(
  stripe: Stripe,
  cursor: string | null,
): Promise<Stripe.ApiList<Stripe.Customer>> {
  if (!cursor) return stripe.customers.list({ limit: PAGE });
  const [id, second] = cursor.split('@');
  const created = second === undefined ? undefined : Number(second);
  try {
    return await stripe.customers.list({ limit: PAGE, starting_after: id });
  } catch (err) {
    if (created === undefined || !Number.isInteger(created) || !cursorGone(err)) throw err;
    return stripe.customers.list({ limit: PAGE, created: { lte: created } });
  }
}

function cursorGone(err: unknown): boolean {
  const e = err as { code?: unknown; param?: unknown } | null;
  return e?.code === 'resource_missing' && e.param === 'starting_after';
}
