// The durables on INBOUND: one per kind of Stripe event, each shared by every worker, so that each
// event is handled by one of them.
import type { Names } from '../../core/subjects.ts';

export interface InboundDurable {
  /** The durable's suffix: its name is `<INBOUND stream>_<durable>`. */
  readonly durable: string;
  /** The event types, as one subject filter under `inbound.stripe.`. */
  readonly eventFilter: string;
  /** The DLQ source of these events: their letters are on `<ns>.dlq.<dlqSource>`. */
  readonly dlqSource: string;
}

/** Customer events, mapped onto their customers' subjects. */
export const CUSTOMER_EVENTS: InboundDurable = Object.freeze({
  durable: 'customers',
  eventFilter: 'customer.*',
  dlqSource: 'stripe-customers',
});

/** Invoice events, applied to Postgres. */
export const INVOICE_EVENTS: InboundDurable = Object.freeze({
  durable: 'invoices',
  // `invoice.>` leaves `invoiceitem.*` out: a different first token.
  eventFilter: 'invoice.>',
  dlqSource: 'stripe-invoices',
});

export const INBOUND_DURABLES: readonly InboundDurable[] = Object.freeze([
  CUSTOMER_EVENTS,
  INVOICE_EVENTS,
]);

export function inboundDurableName(names: Names, d: InboundDurable): string {
  return `${names.streams.inbound}_${d.durable}`;
}
