// The walks an import and a reconciliation make over the bound account's customers (and an
// import's over its invoices), 100 a page, newest first. A walk's cursor is the last object
// listed, with its creation second (`<id>@<created>`), saved after each page. Stripe answers
// `starting_after` naming an object deleted since with `resource_missing`: in a long walk beside
// live changes (rtws pushing a catalogue deletion or deleting a draft to carry out a void, a
// person in the dashboard) that would fail the run for good, with only a new run from the start
// as the way on. The walk then goes on from the cursor's creation second instead. The objects of
// that second are listed again: both walks take them in their stride (an import's handovers
// carry their message ids, a reconciliation marks what it has seen), though a run's counts then
// count them twice.
import type Stripe from 'stripe';

const PAGE = 100;

interface Listed {
  readonly id: string;
  readonly created: number;
}

type ListParams = { limit: number; starting_after?: string; created?: { lte: number } };

/** The cursor after a page: its last object, and when that one was created. */
export function walkCursor(last: Listed): string {
  return `${last.id}@${last.created}`;
}

/** The page after `cursor` (a cursor saved before it carried a time is a bare id). */
export async function pageAfter<T extends Listed>(
  list: (params: ListParams) => Promise<Stripe.ApiList<T>>,
  cursor: string | null,
): Promise<Stripe.ApiList<T>> {
  if (!cursor) return list({ limit: PAGE });
  const [id, second] = cursor.split('@');
  const created = second === undefined ? undefined : Number(second);
  try {
    return await list({ limit: PAGE, starting_after: id! });
  } catch (err) {
    if (created === undefined || !Number.isInteger(created) || !cursorGone(err)) throw err;
    return list({ limit: PAGE, created: { lte: created } });
  }
}

/** The bound account's customers after `cursor`. */
export function customersAfter(
  stripe: Stripe,
  cursor: string | null,
): Promise<Stripe.ApiList<Stripe.Customer>> {
  return pageAfter((params) => stripe.customers.list(params), cursor);
}

function cursorGone(err: unknown): boolean {
  const e = err as { code?: unknown; param?: unknown } | null;
  return e?.code === 'resource_missing' && e.param === 'starting_after';
}
