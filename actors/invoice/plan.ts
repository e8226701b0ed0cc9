// Planning: from what the actor knows, record the one next call, in the issuing order: the link,
// the draft, each item, the finalization. A write whose outcome is unknown is looked up first.
import { RTWS_INVOICE_ID_KEY } from '../../core/invoice.ts';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../../core/policy/backoff.ts';
import { DEFAULT_RETRY, type RetryPolicy } from '../../core/policy/retry.ts';
import type { InvoiceState } from './context.ts';
import type { InvoiceIntent } from './intents.ts';
import { invoiceKey, itemStep, type InvoiceStep } from './keys.ts';

/** The policies a machine is built with; a replay must use the ones that decided the events. */
export interface InvoicePolicies {
  readonly retry: RetryPolicy;
  readonly backoff: BackoffPolicy;
  /** How often a customer not linked to Stripe yet is looked up again. */
  readonly linkWait: BackoffPolicy;
}

/** Retries as the customer actor's; the link is looked up after 1 s, 2 s, 4 s … every 30 s at most. */
export const DEFAULT_INVOICE_POLICIES: InvoicePolicies = Object.freeze({
  retry: DEFAULT_RETRY,
  backoff: DEFAULT_BACKOFF,
  linkWait: Object.freeze({ baseMs: 1_000, factor: 2, capMs: 30_000, jitter: 0.5 }),
});

/** Statuses in which the invoice needs nothing more, whatever is asked. */
export const DONE: ReadonlySet<InvoiceState['status']> = new Set(['voided', 'cancelled']);

/** A finalized invoice that Stripe lets us void. */
function voidable(s: InvoiceState): boolean {
  return s.stripeStatus === 'open' || s.stripeStatus === 'uncollectible';
}

/** The next keyed write the invoice needs, or null once it is finalized (or voided). */
export function nextStep(s: InvoiceState): InvoiceStep | null {
  if (s.voidRequestedAt !== undefined) return voidable(s) ? 'void' : null;
  if (s.request === null) return null;
  if (s.stripeInvoiceId === null) return 'draft';
  const item = s.request.items.findIndex((_, i) => !s.itemsAdded.includes(i));
  if (item >= 0) return itemStep(item);
  return s.stripeStatus === null ? 'finalize' : null;
}

/** Records the next intent, if any; `notBefore` delays it (a lookup after a failure). */
export function plan(
  s: InvoiceState,
  policies: InvoicePolicies,
  at: number,
  notBefore = at,
): InvoiceState {
  const r = s.request;
  if (s.pending !== null || DONE.has(s.status)) return s;
  const voiding = s.voidRequestedAt !== undefined;
  const when = { at, notBefore };
  // An invoice created in Stripe: its actor exists only to void it (a void whose outcome is
  // unknown is looked up first, as any write).
  if (r === null) {
    if (!voiding || s.stripeInvoiceId === null) return s;
    return s.uncertain ? inspect(s, when, null, Math.floor(at / 1000)) : planVoid(s, when);
  }
  if (!voiding && (s.status === 'issued' || s.status === 'failed')) return s;
  // Asked to void before anything was written to Stripe: it never will be.
  if (voiding && (s.stripeCustomerId === null || (!s.uncertain && s.stripeInvoiceId === null)))
    return cancelled(s);
  if (s.stripeCustomerId === null) {
    return record(s, when, {
      type: 'FindStripeLink',
      target: 'links',
      key: null,
      params: { customerId: r.customer_id },
    });
  }
  const customer = s.stripeCustomerId;
  if (s.uncertain) {
    const since = Math.floor((s.draftRecordedAt ?? at) / 1000) - policies.retry.lookupMarginS;
    return inspect(s, when, customer, since);
  }
  if (voiding) return planVoid(s, when);
  const step = nextStep(s);
  if (step === null) return { ...s, status: 'issued', failures: 0 };
  const key = invoiceKey(s.invoiceId, step, s.keyRounds[step] ?? 1);
  if (step === 'draft') {
    return record({ ...s, draftRecordedAt: s.draftRecordedAt ?? at }, when, {
      type: 'CreateStripeInvoice',
      target: 'stripe',
      key,
      params: {
        customer,
        currency: r.currency,
        daysUntilDue: r.due_days,
        metadata: { ...r.metadata, [RTWS_INVOICE_ID_KEY]: s.invoiceId },
      },
    });
  }
  const invoice = s.stripeInvoiceId!;
  if (step === 'finalize') {
    return record(s, when, {
      type: 'FinalizeStripeInvoice',
      target: 'stripe',
      key,
      params: { invoice },
    });
  }
  const index = Number(step.slice('item-'.length));
  const item = r.items[index]!;
  return record(s, when, {
    type: 'AddStripeInvoiceItem',
    target: 'stripe',
    key,
    params: {
      invoice,
      customer,
      currency: r.currency,
      index,
      description: item.description,
      unitAmount: item.amount,
      quantity: item.quantity,
      metadata: { [RTWS_INVOICE_ID_KEY]: s.invoiceId, rtws_item: String(index) },
    },
  });
}

/** Looks the invoice up: by its Stripe id when known, else among the customer's since `since`. */
function inspect(
  s: InvoiceState,
  when: { at: number; notBefore: number },
  customer: string | null,
  since: number,
): InvoiceState {
  return record(s, when, {
    type: 'InspectStripeInvoice',
    target: 'stripe',
    key: null,
    params: {
      customer,
      rtwsInvoiceId: s.invoiceId,
      invoice: s.stripeInvoiceId,
      createdSince: since,
    },
  });
}

function cancelled(s: InvoiceState): InvoiceState {
  return { ...s, status: 'cancelled', pending: null, failures: 0, lastError: null };
}

/**
 * Carries out an asked-for void once nothing is in doubt: a draft is deleted (Stripe voids only
 * finalized invoices), an open or uncollectible one is voided; a paid one stays as it is.
 */
function planVoid(s: InvoiceState, when: { at: number; notBefore: number }): InvoiceState {
  const invoice = s.stripeInvoiceId!;
  if (s.stripeStatus === null)
    return record(s, when, {
      type: 'DeleteStripeInvoice',
      target: 'stripe',
      key: null,
      params: { invoice },
    });
  if (s.stripeStatus === 'void') return { ...s, status: 'voided', failures: 0, lastError: null };
  if (!voidable(s)) return { ...s, status: 'issued', failures: 0 };
  return record(s, when, {
    type: 'VoidStripeInvoice',
    target: 'stripe',
    key: invoiceKey(s.invoiceId, 'void', s.keyRounds.void ?? 1),
    params: { invoice },
  });
}

/** An intent before it is recorded: each variant without the fields `record` fills in. */
type Unrecorded = InvoiceIntent extends infer I
  ? I extends InvoiceIntent
    ? Omit<I, 'id' | 'attempt' | 'notBefore' | 'recordedAt'>
    : never
  : never;

function record(
  s: InvoiceState,
  when: { at: number; notBefore: number },
  what: Unrecorded,
): InvoiceState {
  const seq = s.intentSeq + 1;
  const intent = {
    ...what,
    id: `invoice-${seq}`,
    attempt: 1,
    notBefore: when.notBefore,
    recordedAt: when.at,
  };
  const status =
    what.target === 'links' ? 'linking' : s.voidRequestedAt !== undefined ? 'voiding' : 'issuing';
  return { ...s, status, pending: intent, intentSeq: seq };
}
