// Applying an executor's outcome. Only a report on the pending intent counts (and, for a failure,
// on its current attempt): anything else is stale or a duplicate and changes nothing.
import { backoffMs as backoff } from '../../core/policy/backoff.ts';
import type { InvoiceState } from './context.ts';
import type { InvoiceIntent } from './intents.ts';
import type { InvoiceOutcome } from './outcomes.ts';
import { applyFailure } from './failure-step.ts';
import { nextStep, plan, type InvoicePolicies } from './plan.ts';

/** The intent each success reports on. */
const REPORTS: Record<
  Exclude<InvoiceOutcome['type'], 'InvoiceCallFailed'>,
  InvoiceIntent['type']
> = {
  StripeLinkFound: 'FindStripeLink',
  StripeLinkMissing: 'FindStripeLink',
  StripeInvoiceDrafted: 'CreateStripeInvoice',
  StripeInvoiceItemAdded: 'AddStripeInvoiceItem',
  StripeInvoiceFinalized: 'FinalizeStripeInvoice',
  StripeInvoiceInspected: 'InspectStripeInvoice',
  StripeInvoiceVoided: 'VoidStripeInvoice',
  StripeInvoiceDeleted: 'DeleteStripeInvoice',
};

export function acceptsOutcome(s: InvoiceState, o: InvoiceOutcome): boolean {
  const p = s.pending;
  if (p === null || p.id !== o.data.intentId) return false;
  if (o.type === 'InvoiceCallFailed' || o.type === 'StripeLinkMissing')
    return o.data.attempt === p.attempt;
  return REPORTS[o.type] === p.type;
}

export function applyOutcome(
  s: InvoiceState,
  policies: InvoicePolicies,
  o: InvoiceOutcome,
): InvoiceState {
  const p = s.pending;
  if (p === null || !acceptsOutcome(s, o)) return s;
  switch (o.type) {
    case 'StripeLinkFound':
      return plan(
        { ...done(s), stripeCustomerId: o.data.stripeCustomerId, linkChecks: 0 },
        policies,
        o.at,
      );
    case 'StripeLinkMissing':
      return waitForLink(s, p, policies, o.at);
    case 'StripeInvoiceDrafted':
      return plan({ ...done(s), stripeInvoiceId: o.data.stripeInvoiceId }, policies, o.at);
    case 'StripeInvoiceItemAdded':
      return p.type === 'AddStripeInvoiceItem'
        ? plan({ ...done(s), itemsAdded: withIndex(s.itemsAdded, p.params.index) }, policies, o.at)
        : s;
    case 'StripeInvoiceFinalized':
      return plan(
        {
          ...done(s),
          stripeStatus: o.data.status,
          number: o.data.number,
          hostedInvoiceUrl: o.data.hostedInvoiceUrl,
        },
        policies,
        o.at,
      );
    case 'StripeInvoiceInspected':
      return settle(s, policies, o);
    case 'StripeInvoiceVoided':
      return plan({ ...done(s), stripeStatus: o.data.status }, policies, o.at);
    case 'StripeInvoiceDeleted':
      return { ...done(s), status: 'cancelled' };
    case 'InvoiceCallFailed':
      // The link lookup reads rtws's own Postgres: a transient failure is Postgres away, not the
      // invoice's fault. It is looked up again on the link's schedule (at most 30 s apart), and
      // never counted towards giving up: backed off as a call's retry, the wait grew with every
      // check before it, to 5 minutes, and a few minutes of Postgres away failed the invoice.
      return p.type === 'FindStripeLink' && o.data.failure === 'transient'
        ? waitForLink(s, p, policies, o.at)
        : applyFailure(s, policies, p, o);
    default:
      return unreachable(o);
  }
}

/** The pending call went through: the failures of the step are behind us. */
function done(s: InvoiceState): InvoiceState {
  return { ...s, pending: null, failures: 0, lastError: null };
}

/**
 * Not linked yet (or not known: the lookup failed) is no failure: the same lookup runs again
 * later, each wait longer than the last.
 */
function waitForLink(
  s: InvoiceState,
  p: InvoiceIntent,
  policies: InvoicePolicies,
  at: number,
): InvoiceState {
  const checks = s.linkChecks + 1;
  const delay = backoff(checks, p.id, policies.linkWait);
  return {
    ...s,
    status: 'linking',
    linkChecks: checks,
    pending: { ...p, attempt: p.attempt + 1, notBefore: at + delay },
  };
}

/**
 * A lookup settles an uncertain write. What it found is taken as the truth about Stripe; a step
 * it proves not done is written again under a new key, because its old key may hold a saved 500.
 */
function settle(
  s: InvoiceState,
  policies: InvoicePolicies,
  o: Extract<InvoiceOutcome, { type: 'StripeInvoiceInspected' }>,
): InvoiceState {
  const doubtful = nextStep(s);
  let next: InvoiceState = { ...done(s), uncertain: false, failures: s.failures };
  const found = o.data.found;
  if (found !== null) {
    const items = s.request?.items.length ?? 0;
    next = {
      ...next,
      stripeInvoiceId: found.stripeInvoiceId,
      itemsAdded: found.items
        .filter((i) => i < items)
        .reduce((added, i) => withIndex(added, i), s.itemsAdded),
      ...(found.status === 'draft'
        ? {}
        : {
            stripeStatus: found.status,
            number: found.number,
            hostedInvoiceUrl: found.hostedInvoiceUrl,
          }),
    };
  }
  const still = nextStep(next);
  if (doubtful !== null && still === doubtful) {
    next = {
      ...next,
      keyRounds: { ...next.keyRounds, [doubtful]: (s.keyRounds[doubtful] ?? 1) + 1 },
    };
  }
  return plan(next, policies, o.at);
}

function withIndex(added: number[], index: number): number[] {
  return added.includes(index) ? added : [...added, index].sort((a, b) => a - b);
}

function unreachable(value: never): never {
  throw new Error(`unhandled outcome ${JSON.stringify(value)}`);
}
