// Stripe errors, sorted into the failure kinds the actor's retry policy understands.
import type { FailureKind } from '../../core/policy/retry.ts';

interface StripeLikeError {
  type?: string;
  rawType?: string;
  statusCode?: number;
  code?: string;
  message?: string;
  headers?: Record<string, string>;
}

export interface ClassifiedFailure {
  failure: FailureKind;
  /** Safe to log and show: Stripe's type, code and message, never a parameter or a key. */
  reason: string;
}

const MAX_REASON = 500;

export function classifyStripeError(err: unknown): ClassifiedFailure {
  const e = (err ?? {}) as StripeLikeError;
  const status = e.statusCode;
  const shouldRetry = e.headers?.['stripe-should-retry'];
  const reason = [status ? `HTTP ${status}` : undefined, e.rawType ?? e.type, e.code, e.message]
    .filter(Boolean)
    .join(': ')
    .slice(0, MAX_REASON);
  return { failure: kindOf(e, status, shouldRetry), reason: reason || 'unknown Stripe error' };
}

function kindOf(
  e: StripeLikeError,
  status: number | undefined,
  shouldRetry: string | undefined,
): FailureKind {
  if (e.type === 'StripeIdempotencyError' || e.rawType === 'idempotency_error')
    return 'idempotency_conflict';
  // No status: the connection failed or timed out, and the request may still be running.
  if (status === undefined) return 'no_response';
  if (status === 429 || e.code === 'rate_limit') return 'rate_limited';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'uncertain';
  // 409: a concurrent request with the same key; lock_timeout: contention on Stripe's side.
  if (status === 409 || e.code === 'lock_timeout' || shouldRetry === 'true') return 'transient';
  // 401/403 are our configuration, not the customer's data, yet retrying cannot fix them either:
  // they fail the intent with a reason an operator can act on.
  return 'permanent';
}
