// Intents of the invoice actor: the one next call it wants made, recorded with its idempotency
// key and parameters before the message that caused it is acked. `target` names the executor:
// `links` reads our own link table, `stripe` calls Stripe.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from '../../core/nullable.ts';

/** Milliseconds since the epoch, recorded by the runtime. */
export const At = Type.Number({ minimum: 0 });

const common = {
  /** Unique per invoice; outcomes name it, so a stale outcome is recognisable. */
  id: Type.String(),
  /** The idempotency key to send, or null for reads. */
  key: Nullable(Type.String()),
  /** Tries so far, including the one in flight. */
  attempt: Type.Integer({ minimum: 1 }),
  /** The executor must not start the call before this instant. */
  notBefore: At,
  /** When the intent was first recorded; retries keep it. */
  recordedAt: At,
  /** The request it serves (the invoice's, or its void's): see the customer intents'. */
  correlationId: Type.Optional(Type.String()),
};

/** Which Stripe customer our customer is linked to; the actor never creates one. */
export const FindStripeLink = Type.Object({
  type: Type.Literal('FindStripeLink'),
  target: Type.Literal('links'),
  ...common,
  params: Type.Object({ customerId: Type.String() }),
});

export const CreateStripeInvoice = Type.Object({
  type: Type.Literal('CreateStripeInvoice'),
  target: Type.Literal('stripe'),
  ...common,
  params: Type.Object({
    customer: Type.String(),
    currency: Type.String(),
    daysUntilDue: Type.Integer({ minimum: 0 }),
    /** The request's metadata plus `rtws_invoice_id`. */
    metadata: Type.Record(Type.String(), Type.String()),
  }),
});

export const AddStripeInvoiceItem = Type.Object({
  type: Type.Literal('AddStripeInvoiceItem'),
  target: Type.Literal('stripe'),
  ...common,
  params: Type.Object({
    /** Always set: an item is attached to this invoice, never left pending for the customer. */
    invoice: Type.String(),
    customer: Type.String(),
    currency: Type.String(),
    index: Type.Integer({ minimum: 0 }),
    description: Type.String(),
    /** The unit price in minor units. */
    unitAmount: Type.Integer(),
    quantity: Type.Integer({ minimum: 1 }),
    /** `rtws_invoice_id` and `rtws_item`: how a lookup recognises the item. */
    metadata: Type.Record(Type.String(), Type.String()),
  }),
});

export const FinalizeStripeInvoice = Type.Object({
  type: Type.Literal('FinalizeStripeInvoice'),
  target: Type.Literal('stripe'),
  ...common,
  params: Type.Object({ invoice: Type.String() }),
});

/** Voids the finalized invoice, once a void was asked for: `rtws-inv-<invoiceId>-void`. */
export const VoidStripeInvoice = Type.Object({
  type: Type.Literal('VoidStripeInvoice'),
  target: Type.Literal('stripe'),
  ...common,
  params: Type.Object({ invoice: Type.String() }),
});

/**
 * Deletes the draft of an invoice whose void was asked for before it was finalized: Stripe voids
 * only finalized invoices, and a draft has no number and was never sent. Stripe's deletes take no
 * idempotency key; a 404 on a resend means it is done.
 */
export const DeleteStripeInvoice = Type.Object({
  type: Type.Literal('DeleteStripeInvoice'),
  target: Type.Literal('stripe'),
  ...common,
  params: Type.Object({ invoice: Type.String() }),
});

/**
 * The lookup that settles an uncertain write: the invoice by its id when known, else the
 * customer's invoices created since `createdSince` (unix s) whose `metadata.rtws_invoice_id` is
 * ours; with its status and the indexes of the items attached to it.
 */
export const InspectStripeInvoice = Type.Object({
  type: Type.Literal('InspectStripeInvoice'),
  target: Type.Literal('stripe'),
  ...common,
  params: Type.Object({
    /** Null for an invoice created in Stripe, which is looked up by its id alone. */
    customer: Nullable(Type.String()),
    rtwsInvoiceId: Type.String(),
    invoice: Nullable(Type.String()),
    createdSince: Type.Integer(),
  }),
});

export const InvoiceIntentSchema = Type.Union([
  FindStripeLink,
  CreateStripeInvoice,
  AddStripeInvoiceItem,
  FinalizeStripeInvoice,
  InspectStripeInvoice,
  VoidStripeInvoice,
  DeleteStripeInvoice,
]);
export type InvoiceIntent = Static<typeof InvoiceIntentSchema>;
export type StripeInvoiceIntent = Exclude<InvoiceIntent, { target: 'links' }>;
export type InvoiceTarget = InvoiceIntent['target'];
export const INVOICE_TARGETS: readonly InvoiceTarget[] = ['links', 'stripe'];
