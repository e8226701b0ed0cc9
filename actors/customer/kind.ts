// The customer actor as the runtime runs it, on the CHANGES stream.
import type { ActorKind } from '../runtime/actor-kind.ts';
import type { IntentScheduler, TargetExecutor } from '../runtime/intent-scheduler.ts';
import {
  customerMachine,
  decide,
  pendingApplies,
  pendingIntents,
  start,
  type CustomerEvent,
  type CustomerMachine,
  type CustomerSnapshot,
  type Decision,
  type Intent,
  type TargetName,
} from './index.ts';
import { checkMessage } from './fact-message.ts';
import type { BindingStamp, RecordedEvent } from './outcome-message.ts';
import { decodeActor, encodeActor } from './snapshot-codec.ts';

export type CustomerKind = ActorKind<CustomerSnapshot, CustomerEvent, Decision, TargetName, Intent>;

/** Runs a customer's intents on one target; what it reports is recorded on the customer's subject. */
export type CustomerExecutor = TargetExecutor<Intent, RecordedEvent>;

export type CustomerScheduler = IntentScheduler<
  CustomerSnapshot,
  TargetName,
  Intent,
  RecordedEvent
>;

/**
 * `binding`: the Stripe account and mode the database is bound to now (events of another are
 * skipped).
 */
export function customerKind(
  machine: CustomerMachine = customerMachine,
  binding: () => BindingStamp | undefined = () => undefined,
): CustomerKind {
  return {
    source: 'changes',
    check: (message, id, at, correlation) => checkMessage(message, id, at, binding(), correlation),
    start: (id) => start(id, machine),
    decide: (snapshot, event) => decide(snapshot, event, machine),
    encode: (snapshot) => encodeActor(snapshot, machine),
    decode: (id, stored) => decodeActor(id, stored, machine),
    ownerOf: (id) => id,
    pending: pendingIntents,
    // A dead letter is published by the step's effects: once, from a saved step.
    mustSave: (decision) => decision.deadLettered.length > 0,
    settled: (snapshot) =>
      pendingIntents(snapshot).length === 0 && pendingApplies(snapshot).length === 0,
  };
}
