// How a failed external call is handled. The adapters classify the error; these functions decide
// what that class means, so that every target treats failures alike.

/**
 * The class of a failed call, as the executor reports it.
 * - `transient`: 5xx or network error where nothing can have been written (or writing twice is harmless);
 * - `rate_limited`: 429; only slows down, never counts towards failure;
 * - `permanent`: the request itself is wrong (400); retrying the same request cannot help;
 * - `uncertain`: a 5xx answer: the request ran and may have been applied (a lookup settles it);
 * - `no_response`: a timeout or a lost connection: the request may still be running, so a lookup
 *   now could miss what it is about to create; resending the same idempotency key settles it;
 * - `not_found`: 404 on the target object;
 * - `idempotency_conflict`: the key was already used (Stripe's `idempotency_error`);
 * - `target_moved`: not sent. A push decided before a restart or a takeover found the fields it
 *   sets changed on the target, and no event has told us when: it waits for that event, since
 *   the merge needs the time of the change to judge which edit is later.
 */
export const FAILURE_KINDS = [
  'transient',
  'rate_limited',
  'permanent',
  'uncertain',
  'no_response',
  'not_found',
  'idempotency_conflict',
  'target_moved',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface RetryPolicy {
  /** Failed attempts (429s excluded) after which the intent is given up and dead-lettered. */
  readonly maxFailures: number;
  /**
   * A create older than this is never resent without a lookup first: Stripe forgets idempotency
   * keys after 24 h, so a resend past that point could create a second customer.
   */
  readonly lookupAfterMs: number;
  /** A lookup lists objects created since the create was recorded, minus this margin for clock skew. */
  readonly lookupMarginS: number;
}

/** 8 failures, a lookup for creates older than 23 h, a one-minute margin. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  maxFailures: 8,
  lookupAfterMs: 23 * 3_600_000,
  lookupMarginS: 60,
});

/**
 * A keyed write recorded this long ago is looked up rather than sent. An earlier try may have
 * landed with no outcome recorded (the process died during the call), or a resend may have waited
 * past a pause or an outage; Stripe forgets keys after 24 h, so the same key would then do it a
 * second time. Judged by the executor as it is about to send, on its own clock, and reported as an
 * `uncertain` failure, which the actor settles with a lookup and a new key. Undefined when the
 * write may go.
 */
export function forgottenKey(
  intent: { readonly recordedAt: number; readonly attempt: number },
  at: number,
  policy = DEFAULT_RETRY,
): { failure: 'uncertain'; reason: string; attempt: number } | undefined {
  if (at - intent.recordedAt <= policy.lookupAfterMs) return undefined;
  const hours = Math.floor((at - intent.recordedAt) / 3_600_000);
  return {
    failure: 'uncertain',
    reason: `not sent: recorded ${hours} h ago, and Stripe keeps an idempotency key for 24 h; looked up first`,
    attempt: intent.attempt,
  };
}

/**
 * 429s slow a target down but must never fail it: a rate-limit storm only delays. A push held for
 * an event that has yet to arrive has not failed either.
 */
export function countsTowardsFailure(kind: FailureKind): boolean {
  return kind !== 'rate_limited' && kind !== 'target_moved';
}

/**
 * Whether a failed create may already have taken effect. Then the object is looked up before
 * anything is resent: Stripe replays a post-commit 500 under its key for 24 h, so a same-key
 * resend cannot recover, and a new key without a lookup could create twice.
 */
export function createMayHaveLanded(kind: FailureKind): boolean {
  switch (kind) {
    case 'uncertain':
    case 'idempotency_conflict':
      return true;
    // The request may still be running, or was refused before running (409, lock_timeout): a
    // resend under the same key lets Stripe settle it, and a lookup now could miss it.
    case 'transient':
    case 'no_response':
    case 'rate_limited':
    case 'permanent':
    case 'not_found':
    case 'target_moved':
      return false;
    default:
      return unreachable(kind);
  }
}

/** Whether resending the same request later can succeed. */
export function isRetryable(kind: FailureKind): boolean {
  switch (kind) {
    case 'transient':
    case 'rate_limited':
    case 'uncertain':
    case 'no_response':
    case 'idempotency_conflict':
    case 'target_moved':
      return true;
    case 'permanent':
    case 'not_found':
      return false;
    default:
      return unreachable(kind);
  }
}

function unreachable(value: never): never {
  throw new Error(`unknown failure kind ${String(value)}`);
}
