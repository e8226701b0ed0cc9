// Everything the customer actor consumes. Each event carries `at`, the instant the runtime
// recorded it: the machine never reads a clock, so a replay of the recorded events decides the same.
import { Type, type Static } from '@sinclair/typebox';
import { SyncedFields } from '../../core/customer.ts';
import { ChangeMetadata } from '../../core/messages.ts';
import { At, Correlation, recordedEvent } from './schemas.ts';
import {
  CatalogueApplied,
  StripeCustomerFetched,
  StripeCustomerMatched,
  StripeCustomerObserved,
} from './inbound.ts';
import { SalesforceOutcomes, StripeOutcomes } from './outcomes.ts';
import { CatalogueRowObserved } from './restore.ts';
import { SalesforceRecordMissing, SalesforceRecordObserved } from './salesforce-drift.ts';
import { SalesforceRecordAdopted, SalesforceRecordChanged } from './salesforce-inbound.ts';

function fact<T extends string>(type: T) {
  return Type.Object({
    type: Type.Literal(type),
    data: SyncedFields,
    metadata: ChangeMetadata,
    at: At,
    correlation: Correlation,
  });
}

/** A `CustomerChanged` fact as the actor receives it: the message plus `at`. */
export const CustomerFactEvent = Type.Union([
  fact('CustomerCreated'),
  fact('CustomerUpdated'),
  fact('CustomerDeleted'),
]);
export type CustomerFactEvent = Static<typeof CustomerFactEvent>;

/**
 * An operator's redrive of a failed or unlinked target (`POST /dlq/:id/retry`), "retry now" for a
 * waiting one, or a resync (`POST /customers/:id/resync`, `npm run rtws -- export`) of one that
 * is new or synced.
 */
export const RetryRequested = recordedEvent('RetryRequested', { target: Type.String() });
export type RetryRequested = Static<typeof RetryRequested>;

/** Every event the runtime records and feeds to the machine. */
export const CustomerEventSchema = Type.Union([
  CustomerFactEvent,
  RetryRequested,
  StripeOutcomes.Outcome,
  SalesforceOutcomes.Outcome,
  StripeCustomerObserved,
  StripeCustomerFetched,
  StripeCustomerMatched,
  CatalogueApplied,
  SalesforceRecordObserved,
  SalesforceRecordMissing,
  SalesforceRecordChanged,
  SalesforceRecordAdopted,
  CatalogueRowObserved,
]);
export type CustomerEvent = Static<typeof CustomerEventSchema>;

/** Raised by the machine itself after it accepted a fact, so that every target region re-plans. */
export interface DesiredChanged {
  type: 'DesiredChanged';
  at: number;
  /**
   * A catalogue fact: the customer changed. Only then does a target switched on since (`off`)
   * take the customer up; a change seen on a target (an echo, a merge, a drift read) re-plans
   * the targets already under way and leaves it to an export.
   */
  fromCatalogue: boolean;
}

/** Raised after a change to the context outside the regions: every region settles its state again. */
export interface Reroute {
  type: 'Reroute';
  at: number;
}

export type MachineEvent = CustomerEvent | DesiredChanged | Reroute;
