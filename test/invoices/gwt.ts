// Given/when/then over the invoice machine's pure transitions (see test/harness/given-when.ts).
import type { FailureKind } from '../../core/policy/retry.ts';
import type { InvoiceRequest } from '../../core/invoice.ts';
import { givenWhen, type World as GivenWhenWorld } from '../harness/given-when.ts';
import {
  decideInvoice,
  invoiceMachine,
  startInvoice,
  type InvoiceDecision,
  type InvoiceEvent,
  type InvoiceIntent,
  type InvoiceMachine,
  type InvoiceSnapshot,
  type InvoiceState,
} from '../../actors/invoice/index.ts';

export const INVOICE = '5b0c2a8e-1f9d-4c61-9a57-3e2d8f4b7a10';
export const CUSTOMER = '8f14e45f-ceea-467f-a0e6-0e1a3b5b4c11';
export const T0 = 1_700_000_000_000;

export type World = GivenWhenWorld<InvoiceSnapshot, InvoiceEvent, InvoiceDecision>;

export type Step = (w: World) => InvoiceEvent;

export function scenarios(machine: InvoiceMachine = invoiceMachine) {
  return givenWhen(
    {
      start: () => startInvoice(INVOICE, machine),
      decide: (snapshot: InvoiceSnapshot, event: InvoiceEvent) =>
        decideInvoice(snapshot, event, machine),
    },
    T0,
  );
}

export const { given, when } = scenarios();

export const state = (w: World): InvoiceState => w.snapshot.context;
export const intents = (w: World): InvoiceIntent[] => w.decisions.flatMap((d) => d.intents);
export const pending = (w: World): InvoiceIntent => {
  const p = state(w).pending;
  if (p === null) throw new Error('no pending intent');
  return p;
};

export const REQUEST: InvoiceRequest = {
  customer_id: CUSTOMER,
  currency: 'eur',
  due_days: 14,
  metadata: { order: 'A-17' },
  total: 2 * 1250 + 990,
  items: [
    { description: 'Consulting', amount: 1250, quantity: 2 },
    { description: 'Travel', amount: 990, quantity: 1 },
  ],
};

export const requested =
  (request: InvoiceRequest = REQUEST, id = INVOICE): Step =>
  (w) => ({
    type: 'InvoiceRequested',
    data: { id, ...request },
    metadata: {
      origin: 'api',
      version: 1,
      outbox_id: 1,
      occurred_at: new Date(w.now).toISOString(),
    },
    at: w.now,
  });

const on = (w: World) => ({ intentId: pending(w).id });

export const linkFound =
  (stripeCustomerId = 'cus_A1'): Step =>
  (w) => ({ type: 'StripeLinkFound', data: { ...on(w), stripeCustomerId }, at: w.now });
export const linkMissing = (): Step => (w) => ({
  type: 'StripeLinkMissing',
  data: { ...on(w), attempt: pending(w).attempt },
  at: w.now,
});
export const drafted =
  (stripeInvoiceId = 'in_1'): Step =>
  (w) => ({ type: 'StripeInvoiceDrafted', data: { ...on(w), stripeInvoiceId }, at: w.now });
export const itemAdded =
  (stripeItemId = 'ii_1'): Step =>
  (w) => ({ type: 'StripeInvoiceItemAdded', data: { ...on(w), stripeItemId }, at: w.now });
export const finalized =
  (number = 'ABC-0001', url = 'https://invoice.example/i/1'): Step =>
  (w) => ({
    type: 'StripeInvoiceFinalized',
    data: { ...on(w), status: 'open', number, hostedInvoiceUrl: url },
    at: w.now,
  });
export const inspected =
  (
    found: {
      stripeInvoiceId: string;
      status?: 'draft' | 'open';
      items?: number[];
      number?: string | null;
      hostedInvoiceUrl?: string | null;
    } | null,
  ): Step =>
  (w) => ({
    type: 'StripeInvoiceInspected',
    data: {
      ...on(w),
      found: found && {
        stripeInvoiceId: found.stripeInvoiceId,
        status: found.status ?? 'draft',
        number: found.number ?? null,
        hostedInvoiceUrl: found.hostedInvoiceUrl ?? null,
        items: found.items ?? [],
      },
    },
    at: w.now,
  });
export const failed =
  (failure: FailureKind, reason = `stripe said ${failure}`): Step =>
  (w) => ({
    type: 'InvoiceCallFailed',
    data: { ...on(w), failure, reason, attempt: pending(w).attempt },
    at: w.now,
  });
export const retryRequested = (): Step => (w) => ({
  type: 'InvoiceRetryRequested',
  data: {},
  at: w.now,
});
/** Feeds an event already fed, as a redelivery would. */
export const again =
  (event: InvoiceEvent): Step =>
  (w) => ({ ...event, at: w.now });
export const voidRequested =
  (stripe?: { stripeInvoiceId: string; stripeStatus: 'open' | 'uncollectible' }): Step =>
  (w) => ({
    type: 'InvoiceVoidRequested',
    data: stripe ? { ...stripe, customerId: CUSTOMER } : {},
    at: w.now,
  });
export const voided =
  (status: 'void' | 'paid' = 'void'): Step =>
  (w) => ({ type: 'StripeInvoiceVoided', data: { ...on(w), status }, at: w.now });
export const deleted = (): Step => (w) => ({
  type: 'StripeInvoiceDeleted',
  data: on(w),
  at: w.now,
});
