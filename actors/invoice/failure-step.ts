// A failed call. A write that may have landed (a 5xx answer, an idempotency error) is looked up
// before anything is written again; one that cannot have landed yet, or is still running (a
// timeout, a 409, a 429), is resent under the same key, which Stripe settles; a request Stripe
// refuses fails the invoice with Stripe's message.
import {
  countsTowardsFailure,
  createMayHaveLanded,
  type FailureKind,
} from '../../core/policy/retry.ts';
import { backoffMs } from '../../core/policy/backoff.ts';
import type { InvoiceState, IssueError } from './context.ts';
import type { InvoiceIntent } from './intents.ts';
import type { InvoiceOutcome } from './outcomes.ts';
import { plan, type InvoicePolicies } from './plan.ts';

type Failed = Extract<InvoiceOutcome, { type: 'InvoiceCallFailed' }>;

export function applyFailure(
  s: InvoiceState,
  policies: InvoicePolicies,
  p: InvoiceIntent,
  o: Failed,
): InvoiceState {
  const failures = s.failures + (countsTowardsFailure(o.data.failure) ? 1 : 0);
  const counted: InvoiceState = { ...s, failures };
  if (o.data.failure === 'permanent' || o.data.failure === 'not_found')
    return fail(counted, p, o.data.failure, o);
  if (failures >= policies.retry.maxFailures) return fail(counted, p, 'exhausted', o);
  if (p.key === null) return retry(counted, policies, p, o);
  const stale = o.at - p.recordedAt > policies.retry.lookupAfterMs;
  if (createMayHaveLanded(o.data.failure) || stale) {
    // Stripe forgets keys after 24 h, so an old write is also looked up before it is resent.
    const wait = delayOf(policies, p.key, failures, o);
    return plan({ ...counted, pending: null, uncertain: true }, policies, o.at, o.at + wait);
  }
  return retry(counted, policies, p, o);
}

function retry(
  s: InvoiceState,
  policies: InvoicePolicies,
  p: InvoiceIntent,
  o: Failed,
): InvoiceState {
  const wait = delayOf(policies, p.key ?? p.id, p.attempt, o);
  const next = { ...p, attempt: p.attempt + 1, notBefore: o.at + wait };
  return { ...s, status: 'retrying', pending: next };
}

/** The wait after the n-th failure, never shorter than Stripe's own Retry-After. */
function delayOf(policies: InvoicePolicies, seed: string, n: number, o: Failed): number {
  return Math.max(o.data.retryAfterMs ?? 0, backoffMs(Math.max(1, n), seed, policies.backoff));
}

function fail(
  s: InvoiceState,
  p: InvoiceIntent,
  failure: FailureKind | 'exhausted',
  o: Failed,
): InvoiceState {
  const lastError: IssueError = { failure, reason: o.data.reason, at: o.at, intent: p };
  return { ...s, status: 'failed', pending: null, lastError };
}

/**
 * An operator's retry: a failed invoice starts again from what it knows (a write that may have
 * landed is looked up first); a waiting call becomes due now.
 */
export function applyRetryRequest(
  s: InvoiceState,
  policies: InvoicePolicies,
  at: number,
): InvoiceState {
  if (s.status === 'failed') {
    const wrote = s.lastError !== null && s.lastError.intent.key !== null;
    return plan(
      { ...s, status: 'issuing', failures: 0, uncertain: s.uncertain || wrote },
      policies,
      at,
    );
  }
  if (s.pending !== null && s.pending.notBefore > at)
    return { ...s, failures: 0, pending: { ...s.pending, notBefore: at } };
  return s;
}
