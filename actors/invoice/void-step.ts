// A void asked for through the API. Intents are never dropped while a Stripe write may be under
// way (its outcome is unknown until it reports): the write finishes, and the next plan turns to the
// void. A pending read (the link, a lookup) changes nothing in Stripe, so it is dropped at once;
// an invoice whose customer is not linked yet is therefore cancelled without a Stripe call.
import type { InvoiceState } from './context.ts';
import type { InvoiceVoidRequest } from './events.ts';
import { DONE, plan, type InvoicePolicies } from './plan.ts';

const READS: ReadonlySet<string> = new Set(['FindStripeLink', 'InspectStripeInvoice'] as const);

/**
 * The first void asked for an invoice whose request was seen, or of one created in Stripe (named
 * by its Stripe id); a repeat changes nothing.
 */
export function acceptsVoidRequest(s: InvoiceState, e: InvoiceVoidRequest): boolean {
  const known = s.request !== null || e.data.stripeInvoiceId !== undefined;
  return known && s.voidRequestedAt === undefined && !DONE.has(s.status);
}

export function applyVoidRequest(
  s: InvoiceState,
  policies: InvoicePolicies,
  e: InvoiceVoidRequest,
): InvoiceState {
  const at = e.at;
  // Created in Stripe directly: nothing of ours is under way; Stripe's id and status are the state.
  if (s.request === null)
    return plan(
      {
        ...s,
        voidRequestedAt: at,
        stripeInvoiceId: e.data.stripeInvoiceId ?? null,
        stripeStatus: e.data.stripeStatus ?? null,
        ...(e.data.customerId !== undefined ? { customerId: e.data.customerId } : {}),
      },
      policies,
      at,
    );
  const asked: InvoiceState = { ...s, voidRequestedAt: at };
  const p = s.pending;
  if (p !== null && !READS.has(p.type)) return asked;
  // A failed invoice starts over from what it knows; a write that may have landed is looked up.
  const wrote = s.status === 'failed' && s.lastError !== null && s.lastError.intent.key !== null;
  return plan(
    {
      ...asked,
      pending: null,
      failures: 0,
      lastError: null,
      uncertain: s.uncertain || wrote,
    },
    policies,
    at,
  );
}
