// The Salesforce target: one record of the configured object (`Account` by default) per customer,
// created by an upsert on the external-id field that holds our customer id, then updated by its
// Salesforce id. Salesforce has no idempotency keys and needs none here: resending an upsert by
// our id finds the record the first try made, so intents carry no key and an uncertain create is
// resent. With Salesforce's changes read back, the resend first checks that no one edited that
// record since (the executor's `movedSinceDecided`), and a read of it links it (`landedCreate` in
// salesforce-inbound.ts).
import type { Static } from '@sinclair/typebox';
import { targetIntentSchemas } from './intents.ts';
import type { SalesforceOutcomeEvent, TargetOutcome } from './outcomes.ts';
import type { IntentOp } from './intents.ts';
import type { MachineEvent } from './events.ts';
import type { TargetSpec } from './target-spec.ts';

export const SalesforceIntents = targetIntentSchemas('SalesforceAccount');
export type SalesforceIntent = Static<typeof SalesforceIntents.Intent>;

/**
 * How long a target whose daily API quota is spent waits before trying again. Salesforce's
 * budget is a rolling 24 h window, so minutes, not seconds; an operator's `RetryRequested`
 * resumes it at once. The default: the adapter's failures name the configured pause
 * (`RTWS_SALESFORCE_QUOTA_PAUSE_MS`).
 */
export const SALESFORCE_QUOTA_PAUSE_MS = 5 * 60_000;

const OUTCOME_TYPES: readonly SalesforceOutcomeEvent['type'][] = [
  'SalesforceAccountCreated',
  'SalesforceAccountUpdated',
  'SalesforceAccountDeleted',
  'SalesforceAccountFound',
  'SalesforceAccountNotFound',
  'SalesforceCallFailed',
];
const outcomeTypes = new Set<string>(OUTCOME_TYPES);

function isSalesforceOutcome(event: MachineEvent): event is SalesforceOutcomeEvent {
  return outcomeTypes.has(event.type);
}

function salesforceOutcome(event: SalesforceOutcomeEvent): TargetOutcome {
  const { at } = event;
  const { intentId } = event.data;
  switch (event.type) {
    case 'SalesforceAccountCreated':
      return { kind: 'created', intentId, externalId: event.data.externalId, at };
    case 'SalesforceAccountUpdated':
      return { kind: 'updated', intentId, at };
    case 'SalesforceAccountDeleted':
      return { kind: 'deleted', intentId, at };
    case 'SalesforceAccountFound': {
      const { externalId, fields } = event.data;
      return { kind: 'found', intentId, externalId, fields, at };
    }
    case 'SalesforceAccountNotFound':
      return { kind: 'not_found', intentId, at };
    case 'SalesforceCallFailed':
      return { kind: 'failed', ...event.data, at };
    default:
      return unreachable(event);
  }
}

function intentType(op: IntentOp): SalesforceIntent['type'] {
  switch (op) {
    case 'create':
      return 'CreateSalesforceAccount';
    case 'update':
      return 'UpdateSalesforceAccount';
    case 'delete':
      return 'DeleteSalesforceAccount';
    case 'find':
      return 'FindSalesforceAccount';
    case 'fetch':
      // Salesforce sends no changes back, so nothing ever asks it for a fetch.
      throw new Error('Salesforce has no fetch');
    default:
      return unreachable(op);
  }
}

export const SALESFORCE: TargetSpec = Object.freeze({
  target: 'salesforce',
  outcomeTypes: OUTCOME_TYPES,
  intentType,
  createKey: () => null,
  updateKey: () => null,
  outcomeOf: (event: MachineEvent) =>
    isSalesforceOutcome(event) ? salesforceOutcome(event) : null,
  createIsUpsert: true,
  quotaPauseMs: SALESFORCE_QUOTA_PAUSE_MS,
});

function unreachable(value: never): never {
  throw new Error(`unhandled ${JSON.stringify(value)}`);
}
