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
  const { at } = event;
  const { intentId } = event.data;
  switch (event.type) {
    case 'StripeCustomerCreated':
      return { kind: 'created', intentId, externalId: event.data.externalId, at };
    case 'StripeCustomerUpdated':
      return { kind: 'updated', intentId, at };
    case 'StripeCustomerDeleted':
      return { kind: 'deleted', intentId, at };
    case 'StripeCustomerFound': {
      const { externalId, fields, createdMs } = event.data;
      return {
        kind: 'found',
        intentId,
        externalId,
        fields,
        ...(createdMs === undefined ? {} : { createdMs }),
        at,
      };
    }
    case 'StripeCustomerNotFound':
      return { kind: 'not_found', intentId, at };
    case 'StripeCallFailed':
      return { kind: 'failed', ...event.data, at };
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
