// Maps a stored Stripe invoice event to what it says about an invoice. Only the fields rtws relies
// on are checked; the invoice's status is taken from the event's snapshot of the invoice, so an event
// says where the invoice stood when Stripe sent it, whatever its type.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  RTWS_INVOICE_ID_KEY,
  type InvoiceItem,
  type StripeInvoiceObservation,
} from '../../core/invoice.ts';
import { Nullable } from '../../core/nullable.ts';

/** A line as the invoice embeds it, or as `GET /v1/invoices/:id/lines` lists it. */
export const StripeLine = Type.Object({
  description: Type.Optional(Nullable(Type.String())),
  amount: Type.Integer(),
  quantity: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
  pricing: Type.Optional(
    Nullable(Type.Object({ unit_amount_decimal: Type.Optional(Nullable(Type.String())) })),
  ),
});

const StripeInvoice = Type.Object({
  id: Type.String({ pattern: '^in_[A-Za-z0-9_]+$' }),
  object: Type.Literal('invoice'),
  status: Type.Union(
    ['draft', 'open', 'paid', 'void', 'uncollectible'].map((s) => Type.Literal(s)),
  ),
  customer: Type.Union([Type.String(), Type.Object({ id: Type.String() })]),
  currency: Type.String({ pattern: '^[a-z]{3}$' }),
  total: Type.Integer({ minimum: 0 }),
  created: Type.Integer(),
  due_date: Type.Optional(Nullable(Type.Integer())),
  metadata: Type.Optional(Nullable(Type.Record(Type.String(), Type.String()))),
  number: Type.Optional(Nullable(Type.String())),
  hosted_invoice_url: Type.Optional(Nullable(Type.String())),
  attempt_count: Type.Optional(Type.Integer()),
  lines: Type.Optional(
    Type.Object({ data: Type.Array(StripeLine), has_more: Type.Optional(Type.Boolean()) }),
  ),
});
type StripeInvoice = Static<typeof StripeInvoice>;

const InvoiceEvent = Type.Object({
  id: Type.String({ pattern: '^evt_[A-Za-z0-9_]+$' }),
  type: Type.String(),
  data: Type.Object({ object: StripeInvoice }),
});
const checker = TypeCompiler.Compile(InvoiceEvent);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The events applied, and the history note each adds beyond its status. */
const HANDLED: Readonly<Record<string, (invoice: StripeInvoice) => string | undefined>> = {
  'invoice.created': () => undefined,
  'invoice.finalized': () => undefined,
  'invoice.paid': () => undefined,
  'invoice.voided': () => undefined,
  'invoice.marked_uncollectible': () => undefined,
  // Only a draft can be deleted: the invoice ends there (failed, or void when rtws asked for it).
  'invoice.deleted': () => 'the draft was deleted in Stripe',
  'invoice.payment_failed': (i) =>
    `payment failed${i.attempt_count ? ` (attempt ${i.attempt_count})` : ''}`,
};

/** The invoice event types rtws applies. */
export const INVOICE_EVENT_TYPES: readonly string[] = Object.freeze(Object.keys(HANDLED));

export type ParsedInvoiceEvent =
  | { kind: 'observed'; observation: StripeInvoiceObservation }
  /** An invoice event type that changes nothing rtws records (`invoice.updated`, `invoice.sent`, …). */
  | { kind: 'ignored'; type: string }
  | { kind: 'malformed'; reason: string };

const SECONDS_PER_DAY = 86_400;

export function parseInvoiceEvent(bytes: Uint8Array): ParsedInvoiceEvent {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    // JSON.parse quotes the input in its message, and events hold customer data.
    return { kind: 'malformed', reason: 'the event is not JSON' };
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && !Object.hasOwn(HANDLED, type)) return { kind: 'ignored', type };
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    const field = first?.path.split('/').filter(Boolean).join('.') || 'body';
    return { kind: 'malformed', reason: `${field}: ${first?.message ?? 'is invalid'}` };
  }
  const invoice = value.data.object;
  const rtwsInvoiceId = invoice.metadata?.[RTWS_INVOICE_ID_KEY];
  if (rtwsInvoiceId !== undefined && !UUID.test(rtwsInvoiceId))
    return {
      kind: 'malformed',
      reason: `data.object.metadata.${RTWS_INVOICE_ID_KEY}: not an invoice id`,
    };
  return {
    kind: 'observed',
    observation: {
      eventId: value.id,
      eventType: value.type,
      stripeInvoiceId: invoice.id,
      stripeCustomerId:
        typeof invoice.customer === 'string' ? invoice.customer : invoice.customer.id,
      rtwsInvoiceId,
      status: invoice.status as StripeInvoiceObservation['status'],
      number: invoice.number ?? null,
      hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
      note: HANDLED[value.type]!(invoice),
      ...(value.type === 'invoice.deleted' ? { deleted: true as const } : {}),
      // Stripe embeds the first page of the lines only; the rest are read before it is recorded.
      ...(invoice.lines?.has_more === true ? { partialLines: true as const } : {}),
      snapshot: {
        currency: invoice.currency,
        total: invoice.total,
        dueDays: invoice.due_date
          ? Math.max(0, Math.round((invoice.due_date - invoice.created) / SECONDS_PER_DAY))
          : 0,
        metadata: invoice.metadata ?? {},
        items: (invoice.lines?.data ?? []).map(toItem),
        createdAt: new Date(invoice.created * 1000),
      },
    },
  };
}

/** A line's unit price: Stripe's decimal string when whole, else the amount over the quantity. */
export function toItem(line: Static<typeof StripeLine>): InvoiceItem {
  const quantity = line.quantity || 1;
  const decimal = Number(line.pricing?.unit_amount_decimal ?? NaN);
  const unit = Number.isInteger(decimal) ? decimal : line.amount / quantity;
  return Number.isInteger(unit)
    ? { description: line.description ?? '', amount: unit, quantity }
    : { description: line.description ?? '', amount: line.amount, quantity: 1 };
}
