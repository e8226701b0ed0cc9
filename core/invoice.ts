// Invoices as rtws takes them and shows them. One set of TypeBox schemas serves the HTTP body, the
// `InvoiceRequested` message the outbox publishes, and the API's answers.
import { Type, type Static } from '@sinclair/typebox';
import { METADATA_MAX_KEYS } from './customer.ts';
import { InvoiceStatusSchema, type InvoiceStatus } from './invoice-status.ts';
import { Origin } from './messages.ts';
import { Nullable } from './nullable.ts';

/** The metadata key that ties a Stripe invoice to ours. */
export const RTWS_INVOICE_ID_KEY = 'rtws_invoice_id';

/** Items per invoice: Stripe renders at most 250 lines on an invoice. */
export const INVOICE_MAX_ITEMS = 250;
/** Largest unit price and quantity; with 250 items the total stays far inside 2^53. */
export const ITEM_MAX_AMOUNT = 99_999_999;
export const ITEM_MAX_QUANTITY = 100_000;
export const DEFAULT_DUE_DAYS = 30;

/**
 * The ISO 4217 codes this runtime knows (ICU's list, which follows the standard): a code that is
 * none of them (`xyz`) is refused at the API rather than by Stripe after the request was taken.
 * Stripe takes most of them; one it does not fails the invoice with Stripe's reason.
 */
const ISO_CURRENCIES = new Set(Intl.supportedValuesOf('currency').map((c) => c.toLowerCase()));

export function isCurrency(code: string): boolean {
  return ISO_CURRENCIES.has(code.toLowerCase());
}

/**
 * ISO 4217's shape, then its list (`x-currency`, the API's own keyword: adapters/http/validation.ts);
 * case-insensitive on the way in, lowercase (as Stripe has it) once stored.
 */
export const Currency = Type.String({
  pattern: '^[A-Za-z]{3}$',
  'x-currency': true,
  description: 'An ISO 4217 currency code, in any case: `usd`',
});

// Stripe's key rules, and `rtws_…` kept for rtws's own keys (the invoice id it sets).
export const InvoiceMetadata = Type.Record(Type.String(), Type.String({ maxLength: 500 }), {
  maxProperties: METADATA_MAX_KEYS,
  propertyNames: { minLength: 1, maxLength: 40, pattern: '^(?!rtws_)[^\\[\\]]+$' },
});

/** `amount` is the unit price in the currency's minor unit. */
export const InvoiceItemBody = Type.Object(
  {
    description: Type.String({ minLength: 1, maxLength: 500, pattern: '\\S' }),
    amount: Type.Integer({ minimum: 1, maximum: ITEM_MAX_AMOUNT }),
    quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: ITEM_MAX_QUANTITY })),
  },
  { additionalProperties: false },
);

export const InvoiceCreateBody = Type.Object(
  {
    currency: Currency,
    items: Type.Array(InvoiceItemBody, { minItems: 1, maxItems: INVOICE_MAX_ITEMS }),
    due_days: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 })),
    metadata: Type.Optional(InvoiceMetadata),
  },
  { additionalProperties: false },
);
export type InvoiceCreateBody = Static<typeof InvoiceCreateBody>;

/** An item as stored and published: quantity filled in. */
export const InvoiceItem = Type.Object({
  description: Type.String(),
  amount: Type.Integer(),
  quantity: Type.Integer(),
});
export type InvoiceItem = Static<typeof InvoiceItem>;

/** What an invoice request becomes once its defaults are filled in. */
export const InvoiceRequest = Type.Object({
  customer_id: Type.String(),
  currency: Type.String({ pattern: '^[a-z]{3}$' }),
  due_days: Type.Integer({ minimum: 0 }),
  metadata: Type.Record(Type.String(), Type.String()),
  total: Type.Integer({ minimum: 0 }),
  items: Type.Array(InvoiceItem, { minItems: 1 }),
});
export type InvoiceRequest = Static<typeof InvoiceRequest>;

export function invoiceRequest(customerId: string, body: InvoiceCreateBody): InvoiceRequest {
  const items = body.items.map((i) => ({
    description: i.description.trim(),
    amount: i.amount,
    quantity: i.quantity ?? 1,
  }));
  return {
    customer_id: customerId,
    currency: body.currency.toLowerCase(),
    due_days: body.due_days ?? DEFAULT_DUE_DAYS,
    metadata: body.metadata ?? {},
    total: items.reduce((sum, i) => sum + i.amount * i.quantity, 0),
    items,
  };
}

/** The captured request, published on `invoice.<partition>.<invoiceId>` for the invoice actor. */
export const InvoiceRequested = Type.Object({
  type: Type.Literal('InvoiceRequested'),
  data: Type.Composite([Type.Object({ id: Type.String() }), InvoiceRequest]),
  metadata: Type.Object({
    origin: Origin,
    version: Type.Integer({ minimum: 1 }),
    outbox_id: Type.Integer(),
    /** When the requesting transaction wrote it (ISO 8601, from the database clock). */
    occurred_at: Type.String(),
    /** The message format's version (`MESSAGE_SCHEMA` in core/messages.ts). */
    schema: Type.Optional(Type.Integer({ minimum: 1 })),
  }),
});
export type InvoiceRequested = Static<typeof InvoiceRequested>;

/** The JetStream dedupe id of an invoice's captured version. */
export function invoiceMsgId(invoiceId: string, version: number): string {
  return `invoice:${invoiceId}:v${version}`;
}

/** The outbox's aggregate of a void asked for through the API. */
export const INVOICE_VOID_AGGREGATE = 'invoice_void';

/** The JetStream dedupe id of an invoice's void request: there is one per invoice. */
export function invoiceVoidMsgId(invoiceId: string): string {
  return `invoice:${invoiceId}:void`;
}

/** Who moved an invoice: the API (requested), rtws (issuing it) or Stripe (its webhooks). */
export const HistoryOrigin = Type.Union([
  Type.Literal('api'),
  Type.Literal('stripe'),
  Type.Literal('rtws'),
]);
export type HistoryOrigin = Static<typeof HistoryOrigin>;

export const InvoiceHistoryEntry = Type.Object({
  status: InvoiceStatusSchema,
  at: Type.String(),
  origin: HistoryOrigin,
  note: Nullable(Type.String()),
});
export type InvoiceHistoryEntry = Static<typeof InvoiceHistoryEntry>;

export const Invoice = Type.Object({
  id: Type.String(),
  object: Type.Literal('invoice'),
  customer_id: Type.String(),
  status: InvoiceStatusSchema,
  currency: Type.String(),
  total: Type.Integer(),
  items: Type.Array(InvoiceItem),
  due_days: Type.Integer(),
  metadata: Type.Record(Type.String(), Type.String()),
  /** `api` when requested through rtws, `stripe` when it was created in Stripe directly. */
  origin: Type.String(),
  stripe_invoice_id: Nullable(Type.String()),
  number: Nullable(Type.String()),
  hosted_invoice_url: Nullable(Type.String()),
  /** The Stripe account the invoice was issued in, when a rebind has since left it behind. */
  former_stripe_account: Nullable(Type.String()),
  /** Why issuing failed, when `status` is `failed`. */
  last_error: Nullable(Type.String()),
  history: Type.Array(InvoiceHistoryEntry),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type Invoice = Static<typeof Invoice>;

/**
 * What one Stripe invoice event says about an invoice, as the inbound path applies it. `status`
 * is the invoice's status in Stripe when the event was sent; `snapshot` describes it well enough
 * to record an invoice that was created in Stripe directly.
 */
export interface StripeInvoiceObservation {
  readonly eventId: string;
  readonly eventType: string;
  readonly stripeInvoiceId: string;
  readonly stripeCustomerId: string;
  /** `metadata.rtws_invoice_id`: set on every invoice rtws issues. */
  readonly rtwsInvoiceId: string | undefined;
  readonly status: Exclude<InvoiceStatus, 'pending' | 'failed'>;
  readonly number: string | null;
  readonly hostedInvoiceUrl: string | null;
  /** A history note that moves nothing, such as a failed payment. */
  readonly note: string | undefined;
  /** `invoice.deleted`: the draft is gone from Stripe. */
  readonly deleted?: true;
  /** The event embeds only the first page of the invoice's lines (`lines.has_more`). */
  readonly partialLines?: true;
  readonly snapshot: {
    readonly currency: string;
    readonly total: number;
    readonly dueDays: number;
    readonly metadata: Record<string, string>;
    readonly items: readonly InvoiceItem[];
    readonly createdAt: Date;
  };
}
