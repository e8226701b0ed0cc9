// Stripe's invoice events applied to Postgres. An event finds its invoice by
// `metadata.rtws_invoice_id`, else by the Stripe id; its status moves ours only forward (and,
// once the draft is deleted in Stripe, not at all), a failed payment is a note on an open invoice,
// and an event already recorded changes nothing. An invoice created in Stripe directly is
// recorded against the customer linked to its Stripe customer.
import type { InvoiceItem, StripeInvoiceObservation } from '../../core/invoice.ts';
import { advances, type InvoiceStatus } from '../../core/invoice-status.ts';
import { RtwsError } from '../../core/errors.ts';
import type { Sql, Tx } from './connect.ts';
import { customerForExternalId } from './links.ts';
import { appendHistory, lockInvoice, type LockedInvoice } from './invoice-rows.ts';
import { applyDeletion } from './invoice-stripe-deleted.ts';

/** The Stripe customer is not linked to one of ours (yet): retry later. */
export class StripeCustomerNotLinkedError extends RtwsError {
  constructor(stripeCustomerId: string) {
    super('not_linked', `Stripe customer ${stripeCustomerId} is not linked to a customer`);
  }
}

/** An event that can never apply, however often it is retried: for the DLQ. */
export class InvoiceEventRejectedError extends RtwsError {
  constructor(message: string) {
    super('invoice_event_rejected', message);
  }
}

export type StripeEventOutcome =
  /** An invoice created in Stripe, recorded for the first time. */
  | 'recorded'
  | 'moved'
  | 'noted'
  /** Only fields (the Stripe id, number, hosted URL) were filled in, or nothing at all. */
  | 'unchanged'
  | 'duplicate';

const PAYABLE: ReadonlySet<InvoiceStatus> = new Set(['open', 'uncollectible']);

export async function applyStripeInvoiceEvent(
  sql: Sql,
  e: StripeInvoiceObservation,
): Promise<StripeEventOutcome> {
  return sql.begin(async (tx) => {
    const current = await locate(tx, e);
    // A draft never recorded (its customer not linked) leaves nothing to record once deleted.
    if (e.deleted) return current ? applyDeletion(tx, current, e) : 'unchanged';
    if (current) return applyTo(tx, current, e);
    // The link is read outside the transaction: it is committed data, only ever added.
    const customerId = await customerForExternalId(sql, 'stripe', e.stripeCustomerId);
    if (!customerId) throw new StripeCustomerNotLinkedError(e.stripeCustomerId);
    return recordStripeBorn(tx, customerId, e);
  });
}

async function locate(tx: Tx, e: StripeInvoiceObservation): Promise<LockedInvoice | undefined> {
  if (e.rtwsInvoiceId === undefined) return lockInvoice(tx, { stripeInvoiceId: e.stripeInvoiceId });
  const ours = await lockInvoice(tx, { id: e.rtwsInvoiceId });
  if (!ours)
    throw new InvoiceEventRejectedError(
      `${e.stripeInvoiceId} names invoice ${e.rtwsInvoiceId}, which does not exist`,
    );
  if (ours.stripe_invoice_id !== null && ours.stripe_invoice_id !== e.stripeInvoiceId)
    throw new InvoiceEventRejectedError(
      `${e.stripeInvoiceId} names invoice ${e.rtwsInvoiceId}, which is issued as ${ours.stripe_invoice_id}`,
    );
  return ours;
}

async function applyTo(
  tx: Tx,
  current: LockedInvoice,
  e: StripeInvoiceObservation,
): Promise<StripeEventOutcome> {
  const [seen] = await tx`
    SELECT 1 FROM invoice_history WHERE invoice_id = ${current.id} AND stripe_event_id = ${e.eventId}`;
  if (seen) return 'duplicate';
  // A draft deleted in Stripe is gone for good: any other event about it is an older one, late.
  if (current.status === 'failed' && (await deletedInStripe(tx, current.id))) return 'unchanged';
  const moved = advances(current.status, e.status);
  const next = {
    status: moved ? e.status : current.status,
    stripe_invoice_id: current.stripe_invoice_id ?? e.stripeInvoiceId,
    number: current.number ?? e.number,
    hosted_invoice_url: current.hosted_invoice_url ?? e.hostedInvoiceUrl,
  };
  const changed = (Object.keys(next) as (keyof typeof next)[]).some((k) => next[k] !== current[k]);
  if (changed) {
    await tx`
      UPDATE invoices SET status = ${next.status}, stripe_invoice_id = ${next.stripe_invoice_id},
        number = ${next.number}, hosted_invoice_url = ${next.hosted_invoice_url},
        last_error = ${moved ? null : current.last_error}, version = version + 1, updated_at = now()
      WHERE id = ${current.id}`;
  }
  // An invoice only Stripe knows takes its content from the newest status Stripe reported.
  if (moved && current.origin === 'stripe') await refreshFromStripe(tx, current.id, e);
  if (moved) {
    await appendHistory(tx, current.id, {
      status: e.status,
      origin: 'stripe',
      note: e.note ?? e.eventType,
      stripeEventId: e.eventId,
    });
    return 'moved';
  }
  // A failed payment reported after the invoice was paid or voided is history that no longer matters.
  if (e.note !== undefined && PAYABLE.has(next.status)) {
    const added = await appendHistory(tx, current.id, {
      status: next.status,
      origin: 'stripe',
      note: e.note,
      stripeEventId: e.eventId,
    });
    return added ? 'noted' : 'duplicate';
  }
  return 'unchanged';
}

async function recordStripeBorn(
  tx: Tx,
  customerId: string,
  e: StripeInvoiceObservation,
): Promise<StripeEventOutcome> {
  const s = e.snapshot;
  const [row] = await tx<{ id: string }[]>`
    INSERT INTO invoices (customer_id, status, currency, due_days, metadata, total, origin,
                          stripe_invoice_id, number, hosted_invoice_url, created_at)
    VALUES (${customerId}, ${e.status}, ${s.currency}, ${s.dueDays}, ${tx.json(s.metadata)},
            ${s.total}, 'stripe', ${e.stripeInvoiceId}, ${e.number}, ${e.hostedInvoiceUrl},
            ${s.createdAt})
    ON CONFLICT (stripe_invoice_id) DO NOTHING
    RETURNING id`;
  if (!row) {
    // Another delivery recorded it a moment ago: this event applies to that row.
    const current = await lockInvoice(tx, { stripeInvoiceId: e.stripeInvoiceId });
    if (!current) throw new Error(`invoice ${e.stripeInvoiceId} vanished while being recorded`);
    return applyTo(tx, current, e);
  }
  await insertItems(tx, row.id, s.items);
  await appendHistory(tx, row.id, {
    status: e.status,
    origin: 'stripe',
    note: e.note ?? `created in Stripe (${e.eventType})`,
    stripeEventId: e.eventId,
  });
  return 'recorded';
}

async function refreshFromStripe(tx: Tx, id: string, e: StripeInvoiceObservation): Promise<void> {
  const s = e.snapshot;
  await tx`
    UPDATE invoices SET currency = ${s.currency}, due_days = ${s.dueDays},
      metadata = ${tx.json(s.metadata)}, total = ${s.total}
    WHERE id = ${id}`;
  await tx`DELETE FROM invoice_items WHERE invoice_id = ${id}`;
  await insertItems(tx, id, s.items);
}

async function insertItems(
  tx: Tx,
  invoiceId: string,
  items: readonly InvoiceItem[],
): Promise<void> {
  if (items.length === 0) return;
  await tx`
    INSERT INTO invoice_items ${tx(
      items.map((item, position) => ({ invoice_id: invoiceId, position, ...item })),
      'invoice_id',
      'position',
      'description',
      'amount',
      'quantity',
    )}`;
}

/** Whether Stripe's deletion of the invoice's draft is what failed it (`applyDeletion`). */
async function deletedInStripe(tx: Tx, invoiceId: string): Promise<boolean> {
  const [row] = await tx`
    SELECT 1 FROM invoice_history
    WHERE invoice_id = ${invoiceId} AND status = 'failed' AND origin = 'stripe' LIMIT 1`;
  return row !== undefined;
}
