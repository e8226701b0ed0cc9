// The customer actor's snapshot as stored in KV: the persisted machine snapshot, stamped with the
// machine version that wrote it, and checked when read back so that a damaged or foreign value is
// refused rather than resumed.
import { Value } from '@sinclair/typebox/value';
import { DesiredSchema, initialTargetState, type Desired, type TargetState } from './context.ts';
import { InboundStateSchema, initialInboundState } from './inbound.ts';
import {
  MACHINE_VERSION,
  TARGET_NAMES,
  TargetStateSchema,
  customerMachine,
  persist,
  restore,
  type CustomerMachine,
  type CustomerSnapshot,
} from './index.ts';
import { SnapshotFormatError } from '../runtime/errors.ts';
import { unwrapStored, type StoredActor } from '../runtime/stored-actor.ts';

export function encodeActor(
  snapshot: CustomerSnapshot,
  machine: CustomerMachine = customerMachine,
): StoredActor {
  return { machineVersion: MACHINE_VERSION, snapshot: persist(snapshot, machine) };
}

export function decodeActor(
  actorId: string,
  value: unknown,
  machine: CustomerMachine = customerMachine,
): CustomerSnapshot {
  // Version 1 is still read: it is upgraded below.
  const snapshot = unwrapStored(actorId, value, MACHINE_VERSION, [1]);
  const context = (snapshot as { context?: Record<string, unknown> } | undefined)?.context;
  if (!context || context.customerId !== actorId)
    throw new SnapshotFormatError(actorId, 'context missing or for another actor');
  if (context.desired !== null && !Value.Check(DesiredSchema, context.desired)) {
    throw new SnapshotFormatError(actorId, 'desired content is malformed');
  }
  // Version 1 predates changes seen on Stripe: it knew none.
  context.inbound ??= initialInboundState();
  if (!Value.Check(InboundStateSchema, context.inbound))
    throw new SnapshotFormatError(actorId, 'inbound state is malformed');
  const targets = (context.targets ?? {}) as Record<string, unknown>;
  for (const target of TARGET_NAMES) {
    // Recorded before the target existed: it starts off, and a later fact switches it on.
    targets[target] ??= initialTargetState('off');
    if (!Value.Check(TargetStateSchema, targets[target]))
      throw new SnapshotFormatError(actorId, `target ${target} is malformed`);
  }
  return restore(snapshot, machine);
}

/**
 * The parts of a stored actor that the inbound mapping reads (its desired content and Stripe
 * target), checked, without restoring its machine; undefined for a value it cannot read (an erased
 * actor's tombstone, another version), which is then left to the actor.
 */
export function storedStripeView(
  actorId: string,
  value: unknown,
): { customerId: string; desired: Desired | null; targets: { stripe: TargetState } } | undefined {
  try {
    const snapshot = unwrapStored(actorId, value, MACHINE_VERSION);
    const context = (snapshot as { context?: Record<string, unknown> } | undefined)?.context;
    if (!context || context.customerId !== actorId) return undefined;
    const desired = context.desired;
    const stripe = (context.targets as Record<string, unknown> | undefined)?.stripe;
    if (desired !== null && !Value.Check(DesiredSchema, desired)) return undefined;
    if (!Value.Check(TargetStateSchema, stripe)) return undefined;
    return { customerId: actorId, desired, targets: { stripe } };
  } catch {
    return undefined;
  }
}
