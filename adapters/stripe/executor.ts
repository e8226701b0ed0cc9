// Carries out one recorded Stripe intent with the SDK and reports its outcome as an event. It sends
// exactly the recorded key and parameters, so a retry of the same intent is the same request.
import type Stripe from 'stripe';
import type { StripeIntent, StripeOutcomeEvent } from '../../actors/customer/index.ts';
import type { StripeCustomerFetched } from '../../actors/customer/inbound.ts';
import { classifyStripeError } from './classify.ts';
import { createParams, fieldsOf, updateParams } from './mapper.ts';

export type Clock = () => number;

export async function executeStripeIntent(
  stripe: Stripe,
  intent: StripeIntent,
  now: Clock = Date.now,
): Promise<StripeOutcomeEvent | StripeCustomerFetched> {
  const done = { intentId: intent.id };
  try {
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
    // A customer deleted on Stripe (and purged) is content too: there is none.
    if (intent.type === 'FetchStripeCustomer' && failure === 'not_found') {
      return { type: 'StripeCustomerFetched', ...done, fields: null, rtwsId: null, at: now() };
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
