// Carries out one recorded Stripe intent with the SDK and reports its outcome as an event. It sends
// exactly the recorded key and parameters, so a retry of the same intent is the same request.
import type Stripe from 'stripe';
import type { StripeIntent, StripeOutcomeEvent } from '../../actors/customer/index.ts';
import type { StripeCustomerFetched } from '../../actors/customer/inbound.ts';
import { classifyStripeError } from './classify.ts';
import { movedUnder } from '../../core/policy/push.ts';
import { createParams, fieldsOf, updateParams } from './mapper.ts';

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

export async function executeStripeIntent(
  stripe: Stripe,
  intent: StripeIntent,
  now: Clock = Date.now,
  options: CallOptions = {},
): Promise<StripeOutcomeEvent | StripeCustomerFetched> {
  const done = { intentId: intent.id };
  try {
    if (intent.type === 'UpdateStripeCustomer' && options.decidedEarlier) {
      const held = await movedSinceDecided(stripe, intent, now);
      if (held) return held;
    }
    switch (intent.type) {
      case 'CreateStripeCustomer': {
        const c = await stripe.customers.create(createParams(intent.params), keyed(intent.key));
        return { type: 'StripeCustomerCreated', ...done, externalId: c.id, at: now() };
      }
      case 'UpdateStripeCustomer': {
        const params = updateParams(intent.params.patch);
        if (intent.params.setRtwsId) {
          params.metadata = { ...(params.metadata as object), rtws_id: intent.params.setRtwsId };
        }
        await stripe.customers.update(intent.params.externalId, params, keyed(intent.key));
        return { type: 'StripeCustomerUpdated', ...done, at: now() };
      }
      case 'DeleteStripeCustomer': {
        await stripe.customers.del(intent.params.externalId);
        return { type: 'StripeCustomerDeleted', ...done, at: now() };
      }
      case 'FindStripeCustomer': {
        const found = await findByRtwsId(stripe, intent.params.rtwsId, intent.params.createdSince);
        return found
          ? {
              type: 'StripeCustomerFound',
              ...done,
              externalId: found.id,
              fields: fieldsOf(found),
              at: now(),
            }
          : { type: 'StripeCustomerNotFound', ...done, at: now() };
      }
      case 'FetchStripeCustomer': {
        const c = await stripe.customers.retrieve(intent.params.externalId);
        const gone = c.deleted === true;
        return {
          type: 'StripeCustomerFetched',
          ...done,
          fields: gone ? null : fieldsOf(c),
          rtwsId: gone ? null : (c.metadata?.rtws_id ?? null),
          at: now(),
        };
      }
      default: {
        const never: never = intent;
        throw new Error(`unknown intent ${JSON.stringify(never)}`);
      }
    }
  } catch (err) {
    const { failure, reason } = classifyStripeError(err);
    // Absent from the account is content too, and not a deletion (that is `deleted: true`): the
    // actor takes it as a broken link.
    if (intent.type === 'FetchStripeCustomer' && failure === 'not_found') {
      const at = now();
      return {
        type: 'StripeCustomerFetched',
        ...done,
        fields: null,
        rtwsId: null,
        missing: true,
        at,
      };
    }
    return {
      type: 'StripeCallFailed',
      ...done,
      failure,
      reason,
      attempt: intent.attempt,
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
  if (base === undefined) return undefined;
  const current = await stripe.customers.retrieve(externalId);
  // A deleted customer is the update's own business: it answers 404 and is confirmed there.
  if (current.deleted === true) return undefined;
  const moved = movedUnder(base, patch, fieldsOf(current));
  if (moved.length === 0) return undefined;
  return {
    type: 'StripeCallFailed',
    intentId: intent.id,
    failure: 'target_moved',
    reason: `not sent: ${moved.join(', ')} changed on Stripe since this push was decided; waiting for the event that says when`,
    attempt: intent.attempt,
    retryAfterMs: HELD_PUSH_RETRY_MS,
    at: now(),
  };
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
