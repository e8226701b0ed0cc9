// The runtime's view of the machine: pure functions over snapshots.
import type { SnapshotFrom } from 'xstate';
import { persistedAsIs } from '../runtime/persisted-snapshot.ts';
import { pureInitialTransition, pureTransition } from '../runtime/pure-transition.ts';
import type { CustomerEvent } from './events.ts';
import type { Intent } from './intents.ts';
import type { CatalogueApply } from './inbound.ts';
import { isUndone } from './inbound-step.ts';
import { stampCorrelation } from './correlation.ts';
import { customerMachine, type CustomerMachine } from './machine.ts';
import { TARGET_NAMES, type TargetName } from './targets.ts';

export type CustomerSnapshot = SnapshotFrom<CustomerMachine>;

/** What one event decided, besides the next snapshot. */
export interface Decision {
  snapshot: CustomerSnapshot;
  /** Intents recorded or rescheduled by this event, for the executors to pick up. */
  intents: Intent[];
  /** Targets that just gave up, or found their link broken: the runtime writes their DLQ entry from `lastError`. */
  deadLettered: TargetName[];
  /** Targets this event linked to a twin, or linked to another one: the runtime records the link. */
  linked: TargetName[];
}

/** The Postgres writes the actor waits for, oldest first: the runtime carries them out before the ack. */
export function pendingApplies(snapshot: CustomerSnapshot): CatalogueApply[] {
  return snapshot.context.inbound.applies.filter(isUndone);
}

export function start(customerId: string, machine = customerMachine): CustomerSnapshot {
  return pureInitialTransition(machine, { customerId })[0];
}

export function decide(
  snapshot: CustomerSnapshot,
  event: CustomerEvent,
  machine = customerMachine,
): Decision {
  const [decided, actions] = pureTransition(machine, snapshot, event);
  const next = {
    ...decided,
    context: stampCorrelation(snapshot.context, decided.context, event),
  };
  const announced = (type: string) =>
    actions.filter((a) => a.type === type).map((a) => (a.params as { target: TargetName }).target);
  // A region re-enters its state as it settles after every change: only a new error is reported.
  const newError = (t: TargetName) =>
    snapshot.context.targets[t].lastError !== next.context.targets[t].lastError;
  return {
    snapshot: next,
    intents: changedIntents(snapshot, next),
    deadLettered: [...new Set(announced('deadLetter'))].filter(newError),
    linked: TARGET_NAMES.filter((t) => {
      const externalId = next.context.targets[t].externalId;
      return externalId !== null && externalId !== snapshot.context.targets[t].externalId;
    }),
  };
}

/** The snapshot as plain JSON, for KV. */
export function persist(snapshot: CustomerSnapshot, machine = customerMachine): unknown {
  return persistedAsIs(machine, snapshot);
}

/**
 * A snapshot loaded from KV. The caller validates it first (`TargetStateSchema` for each target)
 * and checks `context.machineVersion` against `MACHINE_VERSION`.
 */
export function restore(persisted: unknown, machine = customerMachine): CustomerSnapshot {
  const config = withRegionsOf(
    persisted as Parameters<CustomerMachine['resolveState']>[0],
    machine,
  );
  return machine.resolveState(config);
}

/**
 * Keeps the region states the machine has. A snapshot recorded while a target was on, restored
 * by a machine where it is off, loses that region; the target's context entry stays as it was
 * and is picked up again if the target is switched back on.
 */
function withRegionsOf<T extends { value?: unknown }>(persisted: T, machine: CustomerMachine): T {
  const value = persisted.value;
  if (typeof value !== 'object' || value === null) return persisted;
  const regions = Object.entries(value).filter(([region]) => region in machine.root.states);
  return { ...persisted, value: Object.fromEntries(regions) };
}

/** Whether the snapshot's machine has a region for the target, i.e. the target is on. */
function isOn(snapshot: CustomerSnapshot, target: TargetName): boolean {
  const value = snapshot.value as Record<string, unknown>;
  return Object.hasOwn(value, target);
}

/** Rebuilds a customer's actor state from its recorded events, calling nothing outside. */
export function replay(
  customerId: string,
  events: Iterable<CustomerEvent>,
  machine = customerMachine,
): CustomerSnapshot {
  let snapshot = start(customerId, machine);
  for (const event of events) snapshot = decide(snapshot, event, machine).snapshot;
  return snapshot;
}

/**
 * A target's one pending intent and the instant it becomes due: an executor's input. Targets that
 * are off offer none.
 */
export interface DueIntent {
  target: TargetName;
  intent: Intent;
  dueAt: number;
}

export function pendingIntents(snapshot: CustomerSnapshot): DueIntent[] {
  const out: DueIntent[] = [];
  for (const target of TARGET_NAMES) {
    if (!isOn(snapshot, target)) continue;
    const intent = snapshot.context.targets[target].pending;
    if (intent !== null) out.push({ target, intent, dueAt: intent.notBefore });
  }
  return out;
}

function changedIntents(before: CustomerSnapshot, after: CustomerSnapshot): Intent[] {
  return TARGET_NAMES.flatMap((target) => {
    if (!isOn(after, target)) return [];
    const was = before.context.targets[target].pending;
    const now = after.context.targets[target].pending;
    if (
      now === null ||
      (was !== null &&
        was.id === now.id &&
        was.attempt === now.attempt &&
        was.notBefore === now.notBefore)
    )
      return [];
    return [now];
  });
}
