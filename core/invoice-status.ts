// An invoice's status and the order of its lifecycle. Stripe's events arrive late, twice and out of
// order; a status only ever moves forward, so a late `finalized` never reopens a paid invoice.
//
//   pending ─▶ draft ─▶ open ─▶ paid | void | uncollectible      (uncollectible ─▶ paid | void)
//   pending | draft ─▶ failed                                     (issuing gave up)
//   failed ─▶ draft | open | paid | void | uncollectible          (a redrive, or Stripe says so)
import { Type, type Static } from '@sinclair/typebox';

export const INVOICE_STATUSES = [
  'pending',
  'draft',
  'open',
  'paid',
  'void',
  'uncollectible',
  'failed',
] as const;
export const InvoiceStatusSchema = Type.Union(INVOICE_STATUSES.map((s) => Type.Literal(s)));
export type InvoiceStatus = Static<typeof InvoiceStatusSchema>;

const RANK: Record<InvoiceStatus, number> = {
  pending: 0,
  draft: 1,
  failed: 2,
  open: 2,
  uncollectible: 3,
  paid: 4,
  void: 4,
};

/** Whether an invoice in status `from` may move to `to`: forward only, never to itself. */
export function advances(from: InvoiceStatus, to: InvoiceStatus): boolean {
  if (from === to) return false;
  if (from === 'failed') return to !== 'pending';
  if (to === 'failed') return from === 'pending' || from === 'draft';
  if (from === 'paid' || from === 'void') return false;
  return RANK[to] > RANK[from];
}
