// The Stripe target: Stripe customers, created with an idempotency key and looked up by
// `metadata.rtws_id` after an uncertain create.
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { fetchIntentSchema, targetIntentSchemas } from './intents.ts';
import type { StripeOutcomeEvent, TargetOutcome } from './outcomes.ts';
import { createKey, updateKey } from './keys.ts';
import type { IntentOp } from './intents.ts';
import type { MachineEvent } from './events.ts';
import type { TargetSpec } from './target-spec.ts';

const customerIntents = targetIntentSchemas('StripeCustomer');
const Fetch = fetchIntentSchema(Type.Literal('FetchStripeCustomer'));
export const StripeIntents = {
  ...customerIntents,
  Fetch,
  Intent: Type.Union([...customerIntents.Intent.anyOf, Fetch]),
};
export type StripeIntent = Static<typeof StripeIntents.Intent>;

const OUTCOME_TYPES: readonly StripeOutcomeEvent['type'][] = [
  'StripeCustomerCreated',
  'StripeCustomerUpdated',
  'StripeCustomerDeleted',
  'StripeCustomerFound',
  'StripeCustomerNotFound',
  'StripeCallFailed',
];
const outcomeTypes = new Set<string>(OUTCOME_TYPES);

function isStripeOutcome(event: MachineEvent): event is StripeOutcomeEvent {
  return outcomeTypes.has(event.type);
}

function stripeOutcome(event: StripeOutcomeEvent): TargetOutcome {
  switch (event.type) {
    case 'StripeCustomerCreated':
      return {
        kind: 'created',
        intentId: event.intentId,
        externalId: event.externalId,
        at: event.at,
      };
    case 'StripeCustomerUpdated':
      return { kind: 'updated', intentId: event.intentId, at: event.at };
    case 'StripeCustomerDeleted':
      return { kind: 'deleted', intentId: event.intentId, at: event.at };
    case 'StripeCustomerFound':
      return {
        kind: 'found',
        intentId: event.intentId,
        externalId: event.externalId,
        fields: event.fields,
        at: event.at,
      };
    case 'StripeCustomerNotFound':
      return { kind: 'not_found', intentId: event.intentId, at: event.at };
    case 'StripeCallFailed': {
      const { type: _type, ...rest } = event;
      return { kind: 'failed', ...rest };
    }
    default:
      return unreachable(event);
  }
}

function intentType(op: IntentOp): StripeIntent['type'] {
  switch (op) {
    case 'create':
      return 'CreateStripeCustomer';
    case 'update':
      return 'UpdateStripeCustomer';
    case 'delete':
      return 'DeleteStripeCustomer';
    case 'find':
      return 'FindStripeCustomer';
    case 'fetch':
      return 'FetchStripeCustomer';
    default:
      return unreachable(op);
  }
}

export const STRIPE: TargetSpec = Object.freeze({
  target: 'stripe',
  outcomeTypes: OUTCOME_TYPES,
  intentType,
  createKey,
  updateKey,
  confirmsByFetch: true,
  outcomeOf: (event: MachineEvent) => (isStripeOutcome(event) ? stripeOutcome(event) : null),
});

function unreachable(value: never): never {
  throw new Error(`unhandled ${JSON.stringify(value)}`);
}
