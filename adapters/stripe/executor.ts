// Carries out one recorded Stripe intent with the SDK and reports its outcome as an event. It sends
// exactly the recorded key and parameters, so a retry of the same intent is the same request.
import type Stripe from 'stripe';
import type {
  StripeCustomerMatched,
  StripeIntent,
  StripeOutcomeEvent,
} from '../../actors/customer/index.ts';
import type { StripeCustomerFetched } from '../../actors/customer/inbound.ts';
import { forgottenKey, type FailureKind } from '../../core/policy/retry.ts';
import { classifyStripeError } from './classify.ts';
import { isEmptyPatch, movedUnder } from '../../core/policy/push.ts';
import { createParams, fieldsOf, updateParams } from './mapper.ts';
import {
  ambiguousReason,
  lookUpBeforeCreate,
  matchKey,
  MatchNotSentError,
  type MatchSettings,
} from './match.ts';

export type Clock = () => number;

/** How one call is made. */
export interface CallOptions {
  /**
   * The push was decided before (or just after) this worker took the customer over, long ago, or
   * is a resend after a failure: Stripe may have changed since, so check that it still holds what
   * the push overwrites before sending it (see `CallContext` in the intent scheduler).
   */
  readonly decidedEarlier?: boolean;
}

/** How long a push held for its event waits before it checks again. */
export const HELD_PUSH_RETRY_MS = 2_000;

export type StripeExecutorOutcome =
  StripeOutcomeEvent | StripeCustomerFetched | StripeCustomerMatched;

/**
 * `match`: before a create, look for the Stripe customer this one may already be (see
 * `match.ts`); unset or `by: 'none'`, a create is sent as it is.
 */
export async function executeStripeIntent(
  stripe: Stripe,
  intent: StripeIntent,
  now: Clock = Date.now,
  options: CallOptions = {},
  match?: MatchSettings,
): Promise<StripeExecutorOutcome> {
  const done = { intentId: intent.id };
  const at = now();
  const forgotten = intent.type === 'CreateStripeCustomer' ? forgottenKey(intent, at) : undefined;
  if (forgotten) return { type: 'StripeCallFailed', data: { ...done, ...forgotten }, at };
  try {
    if (intent.type === 'UpdateStripeCustomer' && options.decidedEarlier) {
      const held = await movedSinceDecided(stripe, intent, now);
      if (held) return held;
    }
    switch (intent.type) {
      case 'CreateStripeCustomer': {
        const { email, metadata } = intent.params;
        const customerId = metadata.rtws_id;
        if (match?.by === 'email' && email && customerId) {
          // Before the lock, so that no lookup holds it while it waits.
          const refused = (await match.paceSearch?.(LOOKUP_PACE_WAIT_MS)) ?? 0;
          if (refused > 0) return searchBudgetSpent(intent, refused, now);
          return await match.serialise(matchKey(email), () =>
            createUnlessMatched(stripe, intent, { email, customerId }, match, now),
          );
        }
        return await create(stripe, intent, now);
      }
      case 'UpdateStripeCustomer': {
        const params = updateParams(intent.params.patch);
        if (intent.params.setRtwsId) {
          params.metadata = { ...(params.metadata as object), rtws_id: intent.params.setRtwsId };
        }
        await stripe.customers.update(intent.params.externalId, params, keyed(intent.key));
        return { type: 'StripeCustomerUpdated', data: done, at: now() };
      }
      case 'DeleteStripeCustomer': {
        await stripe.customers.del(intent.params.externalId);
        return { type: 'StripeCustomerDeleted', data: done, at: now() };
      }
      case 'FindStripeCustomer': {
        const found = await findByRtwsId(stripe, intent.params.rtwsId, intent.params.createdSince);
        return found
          ? {
              type: 'StripeCustomerFound',
              data: {
                ...done,
                externalId: found.id,
                fields: fieldsOf(found),
                createdMs: found.created * 1000,
              },
              at: now(),
            }
          : { type: 'StripeCustomerNotFound', data: done, at: now() };
      }
      case 'FetchStripeCustomer': {
        const c = await stripe.customers.retrieve(intent.params.externalId);
        const gone = c.deleted === true;
        return {
          type: 'StripeCustomerFetched',
          data: {
            ...done,
            fields: gone ? null : fieldsOf(c),
            rtwsId: gone ? null : (c.metadata?.rtws_id ?? null),
          },
          at: now(),
        };
      }
      default: {
        const never: never = intent;
        throw new Error(`unknown intent ${JSON.stringify(never)}`);
      }
    }
  } catch (err) {
    // The lookup before a create failed, or its lock: nothing was created, so the same key is
    // resent later (no lookup by rtws_id needed).
    if (err instanceof MatchNotSentError || intent.type === 'CreateStripeCustomer') {
      const notSent = err instanceof MatchNotSentError ? err : new MatchNotSentError(err);
      const { failure, reason } = classifyStripeError(notSent.cause);
      return {
        type: 'StripeCallFailed',
        data: {
          ...done,
          failure: notSentFailure(failure),
          reason: `${notSent.message}: ${reason}`,
          attempt: intent.attempt,
        },
        at: now(),
      };
    }
    const { failure, reason } = classifyStripeError(err);
    // Absent from the account is content too, and not a deletion (that is `deleted: true`): the
    // actor takes it as a broken link.
    if (intent.type === 'FetchStripeCustomer' && failure === 'not_found') {
      const at = now();
      return {
        type: 'StripeCustomerFetched',
        data: { ...done, fields: null, rtwsId: null, missing: true },
        at,
      };
    }
    return {
      type: 'StripeCallFailed',
      data: { ...done, failure, reason, attempt: intent.attempt },
      at: now(),
    };
  }
}

/**
 * Stripe customers carry no updated-at time, so a field that moved since the push was decided
 * cannot be judged here: the push waits for the event that moved it, which catch-up or a webhook
 * brings, and the actor then merges by the event's time. Fields the push does not set are left to
 * that event as well; they cannot be overwritten.
 */
async function movedSinceDecided(
  stripe: Stripe,
  intent: Extract<StripeIntent, { type: 'UpdateStripeCustomer' }>,
  now: Clock,
): Promise<StripeOutcomeEvent | undefined> {
  const { base, patch, externalId } = intent.params;
  // A push that sets no field (only `metadata.rtws_id`, say) overwrites nothing: no retrieve.
  if (base === undefined || isEmptyPatch(patch)) return undefined;
  const current = await stripe.customers.retrieve(externalId);
  // A deleted customer is the update's own business: it answers 404 and is confirmed there.
  if (current.deleted === true) return undefined;
  const moved = movedUnder(base, patch, fieldsOf(current));
  if (moved.length === 0) return undefined;
  return {
    type: 'StripeCallFailed',
    data: {
      intentId: intent.id,
      failure: 'target_moved',
      reason: `not sent: ${moved.join(', ')} changed on Stripe since this push was decided; waiting for the event that says when`,
      attempt: intent.attempt,
      retryAfterMs: HELD_PUSH_RETRY_MS,
    },
    at: now(),
  };
}

type CreateIntent = Extract<StripeIntent, { type: 'CreateStripeCustomer' }>;

/** Never throws: a failed create is reported by its own class (a 5xx may have created it). */
async function create(
  stripe: Stripe,
  intent: CreateIntent,
  now: Clock,
): Promise<StripeOutcomeEvent> {
  try {
    const c = await stripe.customers.create(createParams(intent.params), keyed(intent.key));
    return {
      type: 'StripeCustomerCreated',
      data: { intentId: intent.id, externalId: c.id },
      at: now(),
    };
  } catch (err) {
    const { failure, reason } = classifyStripeError(err);
    return {
      type: 'StripeCallFailed',
      data: { intentId: intent.id, failure, reason, attempt: intent.attempt },
      at: now(),
    };
  }
}

/**
 * Runs alone for its email. Several unlinked candidates hold the create: a person decides which
 * one is this customer (by setting its `metadata.rtws_id`), or removes the duplicates, and retries.
 */
async function createUnlessMatched(
  stripe: Stripe,
  intent: CreateIntent,
  who: { email: string; customerId: string },
  match: MatchSettings,
  now: Clock,
): Promise<StripeExecutorOutcome> {
  const found = await lookUpBeforeCreate(stripe, intent, who.email, match, who.customerId);
  switch (found.kind) {
    case 'create':
      return create(stripe, intent, now);
    case 'landed':
      // An earlier try made it and its answer was lost: the create is done.
      return {
        type: 'StripeCustomerCreated',
        data: { intentId: intent.id, externalId: found.customer.id },
        at: now(),
      };
    case 'matched':
      return {
        type: 'StripeCustomerMatched',
        data: {
          intentId: intent.id,
          stripeId: found.customer.id,
          fields: fieldsOf(found.customer),
          policy: match.merge,
          rtwsId: found.customer.metadata?.rtws_id || null,
        },
        at: now(),
      };
    case 'ambiguous':
      return {
        type: 'StripeCallFailed',
        data: {
          intentId: intent.id,
          failure: 'permanent',
          reason: ambiguousReason(found.ids),
          attempt: intent.attempt,
        },
        at: now(),
      };
    default: {
      const never: never = found;
      throw new Error(`unknown lookup result ${JSON.stringify(never)}`);
    }
  }
}

/**
 * How long a lookup before a create waits for room in the search budget while it holds a call
 * slot; a longer wait gives the slot up and comes back as a 429 would, never counted as a failure.
 */
export const LOOKUP_PACE_WAIT_MS = 1_000;

function searchBudgetSpent(intent: CreateIntent, waitMs: number, now: Clock): StripeOutcomeEvent {
  return {
    type: 'StripeCallFailed',
    data: {
      intentId: intent.id,
      failure: 'rate_limited',
      reason: `not sent: lookups before creates are paced to the Stripe search budget; next turn in ${Math.ceil(waitMs)} ms`,
      attempt: intent.attempt,
      retryAfterMs: Math.ceil(waitMs),
    },
    at: now(),
  };
}

/** A request that was not sent can be resent under its key: only a 429 or a 400 says otherwise. */
function notSentFailure(kind: FailureKind): FailureKind {
  return kind === 'rate_limited' || kind === 'permanent' ? kind : 'transient';
}

function keyed(key: string | null): Stripe.RequestOptions {
  return key ? { idempotencyKey: key } : {};
}

/**
 * The lookup after an uncertain create: customers created since the attempt (minus a margin) whose
 * `metadata.rtws_id` is ours. The list, not search: search is eventually consistent and may not
 * show a customer created a moment ago.
 */
async function findByRtwsId(
  stripe: Stripe,
  rtwsId: string,
  createdSince: number,
): Promise<Stripe.Customer | undefined> {
  for await (const c of stripe.customers.list({ created: { gte: createdSince }, limit: 100 })) {
    if (c.metadata?.rtws_id === rtwsId) return c;
  }
  return undefined;
}
