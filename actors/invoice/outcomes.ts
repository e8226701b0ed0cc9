// What the invoice executors report, fed back to the actor as events named in the past tense.
// Each names the intent it reports on; a report on anything but the pending intent is stale.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from '../../core/nullable.ts';
import { targetOutcomeSchemas } from '../customer/outcomes.ts';
import { recordedEvent } from '../customer/schemas.ts';

const intentId = Type.String();

export const StripeLinkFound = recordedEvent('StripeLinkFound', {
  intentId,
  stripeCustomerId: Type.String(),
});

/** The customer has no Stripe customer yet: the actor asks again later, without counting a failure. */
export const StripeLinkMissing = recordedEvent('StripeLinkMissing', {
  intentId,
  /** The lookup's attempt: each is its own recorded event, and a report on an earlier one is stale. */
  attempt: Type.Integer({ minimum: 1 }),
});

export const StripeInvoiceDrafted = recordedEvent('StripeInvoiceDrafted', {
  intentId,
  stripeInvoiceId: Type.String(),
});

export const StripeInvoiceItemAdded = recordedEvent('StripeInvoiceItemAdded', {
  intentId,
  stripeItemId: Type.String(),
});

/** Stripe's statuses of an invoice. */
export const StripeInvoiceStatusSchema = Type.Union(
  ['draft', 'open', 'paid', 'void', 'uncollectible'].map((s) => Type.Literal(s)),
);

export const StripeInvoiceFinalized = recordedEvent('StripeInvoiceFinalized', {
  intentId,
  status: StripeInvoiceStatusSchema,
  number: Nullable(Type.String()),
  hostedInvoiceUrl: Nullable(Type.String()),
});

export const StripeInvoiceVoided = recordedEvent('StripeInvoiceVoided', {
  intentId,
  status: StripeInvoiceStatusSchema,
});

/** The draft is gone from Stripe (deleted now, or found deleted by a resend). */
export const StripeInvoiceDeleted = recordedEvent('StripeInvoiceDeleted', { intentId });

/** What a lookup found: nothing, or the invoice with the indexes of the items attached to it. */
export const StripeInvoiceInspected = recordedEvent('StripeInvoiceInspected', {
  intentId,
  found: Nullable(
    Type.Object({
      stripeInvoiceId: Type.String(),
      status: StripeInvoiceStatusSchema,
      number: Nullable(Type.String()),
      hostedInvoiceUrl: Nullable(Type.String()),
      items: Type.Array(Type.Integer({ minimum: 0 })),
    }),
  ),
});

/** A failed call, as the customer actor's targets report one (`failure`, `reason`, `attempt`). */
export const InvoiceCallFailed = targetOutcomeSchemas('StripeInvoice', 'Invoice').CallFailed;

export const InvoiceOutcomeSchema = Type.Union([
  StripeLinkFound,
  StripeLinkMissing,
  StripeInvoiceDrafted,
  StripeInvoiceItemAdded,
  StripeInvoiceFinalized,
  StripeInvoiceInspected,
  StripeInvoiceVoided,
  StripeInvoiceDeleted,
  InvoiceCallFailed,
]);
export type InvoiceOutcome = Static<typeof InvoiceOutcomeSchema>;
export type StripeInvoiceStatus = Static<typeof StripeInvoiceStatusSchema>;
