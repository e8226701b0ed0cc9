// One step of a customer actor on a fact: take its state (cached, else from KV, else new), decide,
// and save the next state with revision CAS before the caller acks. The intents the step records
// are in the saved state; executors pick them up from there.
import { ConcurrencyError } from '../../core/errors.ts';
import type { SnapshotStore } from '../../core/worker-ports.ts';
import {
  customerMachine,
  decide,
  start,
  type CustomerMachine,
  type CustomerSnapshot,
  type Decision,
} from '../customer/index.ts';
import type { CustomerEvent } from '../customer/index.ts';
import type { ActorCache, CachedActor } from './actor-cache.ts';
import { LeaseLostError, SnapshotContentionError } from './errors.ts';
import { decodeActor, encodeActor } from './snapshot-codec.ts';

export interface FactStepDeps {
  readonly store: SnapshotStore;
  readonly cache: ActorCache<CustomerSnapshot>;
  /** The partition's lease check, consulted right before the save. */
  readonly holds: () => boolean;
  readonly partition: number;
  readonly machine?: CustomerMachine;
  /** Saves that lost a CAS race before the step gives up (the message is then retried). */
  readonly maxConflicts?: number;
}

export interface FactStepResult {
  readonly decision: Decision;
  /** False when the fact changed nothing (a stale or repeated fact): nothing was written. */
  readonly saved: boolean;
  readonly revision: number | undefined;
}

/** One recorded event (a fact, an executor's outcome, an operator's retry) through its actor. */
export async function applyEvent(
  deps: FactStepDeps,
  id: string,
  event: CustomerEvent,
): Promise<FactStepResult> {
  const machine = deps.machine ?? customerMachine;
  const attempts = deps.maxConflicts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const current = deps.cache.get(id) ?? (await loadActor(deps.store, id, machine));
    const base = current?.snapshot ?? start(id, machine);
    const decision = decide(base, event, machine);
    const encoded = encodeActor(decision.snapshot, machine);
    if (current && sameJson(encoded, encodeActor(base, machine))) {
      return { decision, saved: false, revision: current.revision };
    }
    if (!deps.holds()) throw new LeaseLostError(deps.partition);
    try {
      const revision = await deps.store.save(id, encoded, current?.revision);
      deps.cache.set(id, decision.snapshot, revision);
      return { decision, saved: true, revision };
    } catch (err) {
      deps.cache.delete(id);
      if (!(err instanceof ConcurrencyError)) throw err;
      if (attempt >= attempts) throw new SnapshotContentionError(id, attempt, { cause: err });
    }
  }
}

async function loadActor(
  store: SnapshotStore,
  id: string,
  machine: CustomerMachine,
): Promise<CachedActor<CustomerSnapshot> | undefined> {
  const stored = await store.load(id);
  if (!stored) return undefined;
  return { snapshot: decodeActor(id, stored.value, machine), revision: stored.revision };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
