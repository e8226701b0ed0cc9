// The actor's per-target state, shaped for GET /customers/:id/sync: as this process's worker holds
// it in memory, where it runs one and holds the actor (current, even with steps not yet saved),
// else from its KV snapshot (which may be a step or two behind an actor with work in flight).
import type { SnapshotStore } from '../../../core/worker-ports.ts';
import { isErasedActor } from '../../../actors/runtime/erased.ts';
import {
  TARGET_NAMES,
  type CustomerMachine,
  type CustomerSnapshot,
  type TargetState,
} from '../../../actors/customer/index.ts';
import { decodeActor } from '../../../actors/customer/snapshot-codec.ts';
import type { TargetView } from '../../../adapters/http/routes/sync.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export function targetView(t: TargetState, desiredVersion: number | null): TargetView {
  return {
    status: t.status,
    external_id: t.externalId,
    desired_version: desiredVersion,
    synced_version: t.syncedVersion,
    pending: t.pending
      ? [
          {
            type: t.pending.type,
            key: t.pending.key,
            attempt: t.pending.attempt,
            not_before: iso(t.pending.notBefore),
            ...(t.pending.correlationId ? { correlation_id: t.pending.correlationId } : {}),
          },
        ]
      : [],
    attempts: t.attempts,
    last_error: t.lastError
      ? { failure: t.lastError.failure, reason: t.lastError.reason, at: iso(t.lastError.at) }
      : null,
  };
}

export function syncViews(
  store: SnapshotStore,
  machine?: CustomerMachine,
  live?: (customerId: string) => CustomerSnapshot | undefined,
) {
  const saved = async (customerId: string) => {
    const stored = await store.load(customerId);
    if (!stored || isErasedActor(stored.value)) return undefined;
    return decodeActor(customerId, stored.value, machine).context;
  };
  return async (customerId: string): Promise<Record<string, TargetView> | undefined> => {
    const context = live?.(customerId)?.context ?? (await saved(customerId));
    if (!context) return undefined;
    const desired = context.desired?.version ?? null;
    return Object.fromEntries(
      TARGET_NAMES.map((t) => [t, targetView(context.targets[t], desired)]),
    );
  };
}
