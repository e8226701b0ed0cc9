// Everything the invoice actor consumes. Each event carries `at`, the instant the stream stored
// it: the machine reads no clock, so a replay of the recorded events decides the same.
import { Type, type Static } from '@sinclair/typebox';
import { InvoiceRequested } from '../../core/invoice.ts';
import { At } from './intents.ts';
import { Correlation, recordedEvent } from '../customer/schemas.ts';
import { InvoiceOutcomeSchema } from './outcomes.ts';

/** The captured request, as the actor receives it: the message plus `at`. */
export const InvoiceRequestedEvent = Type.Composite([
  InvoiceRequested,
  Type.Object({ at: At, correlation: Correlation }),
]);
export type InvoiceRequestedEvent = Static<typeof InvoiceRequestedEvent>;

/** An operator's redrive of a failed invoice (`POST /dlq/:id/retry`), or "now" for a waiting retry. */
export const InvoiceRetryRequested = recordedEvent('InvoiceRetryRequested', {});

/**
 * A void asked for through the API (`POST /invoices/:id/void`), published by the outbox: an
 * invoice not in Stripe yet is never created there, a draft is deleted, a finalized one is voided.
 * An invoice created in Stripe directly (no request of ours) is named by its Stripe id and status:
 * its actor starts from the void.
 */
export const InvoiceVoidRequested = recordedEvent('InvoiceVoidRequested', {
  stripeInvoiceId: Type.Optional(Type.String({ minLength: 1 })),
  customerId: Type.Optional(Type.String({ minLength: 1 })),
  stripeStatus: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('uncollectible')])),
});

export type InvoiceVoidRequest = Static<typeof InvoiceVoidRequested>;

/** Everything recorded besides the captured request: outcomes and operator requests. */
export const InvoiceRecordedEventSchema = Type.Union([
  InvoiceOutcomeSchema,
  InvoiceRetryRequested,
  InvoiceVoidRequested,
]);
export type InvoiceRecordedEvent = Static<typeof InvoiceRecordedEventSchema>;

export const InvoiceEventSchema = Type.Union([InvoiceRequestedEvent, InvoiceRecordedEventSchema]);
export type InvoiceEvent = Static<typeof InvoiceEventSchema>;
