// A void asked for through the API. Intents are never dropped while a Stripe write may be under
// way (its outcome is unknown until it reports): the write finishes, and the next plan turns to the
// void. A pending read (the link, a lookup) changes nothing in Stripe, so it is dropped at once;
// an invoice whose customer is not linked yet is therefore cancelled without a Stripe call.
import type { InvoiceState } from './context.ts';
import { DONE, plan, type InvoicePolicies } from './plan.ts';

const READS: ReadonlySet<string> = new Set(['FindStripeLink', 'InspectStripeInvoice'] as const);

/** The first void asked for an invoice whose request was seen; a repeat changes nothing. */
export function acceptsVoidRequest(s: InvoiceState): boolean {
  return s.request !== null && s.voidRequestedAt === undefined && !DONE.has(s.status);
}

export function applyVoidRequest(
  s: InvoiceState,
  policies: InvoicePolicies,
  at: number,
): InvoiceState {
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
