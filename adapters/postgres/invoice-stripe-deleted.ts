// `invoice.deleted`: Stripe deletes only drafts. A draft rtws made is marked `failed` with the
// reason, not made again: someone deleted it on purpose in the dashboard, and issuing it anyway
// would undo their decision (a new request through the API issues it again). It is `void` when the
// deletion was rtws's own, carrying out a void asked for through the API, and for an invoice
// created in Stripe, which rtws only records.
import type { StripeInvoiceObservation } from '../../core/invoice.ts';
import { advances } from '../../core/invoice-status.ts';
import type { Tx } from './connect.ts';
import { appendHistory, type LockedInvoice } from './invoice-rows.ts';
import type { StripeEventOutcome } from './invoice-stripe-events.ts';

export async function applyDeletion(
  tx: Tx,
  current: LockedInvoice,
  e: StripeInvoiceObservation,
): Promise<StripeEventOutcome> {
  const voided = current.void_requested_at !== null || current.origin === 'stripe';
  const status = voided ? 'void' : 'failed';
  if (!advances(current.status, status)) return 'unchanged';
  const reason = `the draft ${e.stripeInvoiceId} was deleted in Stripe`;
  const added = await appendHistory(tx, current.id, {
    status,
    origin: 'stripe',
    note: reason,
    stripeEventId: e.eventId,
  });
  if (!added) return 'duplicate';
  await tx`
    UPDATE invoices SET status = ${status},
      stripe_invoice_id = coalesce(stripe_invoice_id, ${e.stripeInvoiceId}),
      last_error = ${voided ? null : reason}, version = version + 1, updated_at = now()
    WHERE id = ${current.id}`;
  return 'moved';
}
