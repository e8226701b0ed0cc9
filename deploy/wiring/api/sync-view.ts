// The actor's per-target state, read from its KV snapshot and shaped for GET /customers/:id/sync.
import type { SnapshotStore } from '../../../core/worker-ports.ts';
import { isErasedActor } from '../../../actors/runtime/erased.ts';
import {
  TARGET_NAMES,
  type CustomerMachine,
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

export function syncViews(store: SnapshotStore, machine?: CustomerMachine) {
  return async (customerId: string): Promise<Record<string, TargetView> | undefined> => {
    const stored = await store.load(customerId);
    if (!stored || isErasedActor(stored.value)) return undefined;
    const { context } = decodeActor(customerId, stored.value, machine);
    const desired = context.desired?.version ?? null;
    return Object.fromEntries(
      TARGET_NAMES.map((t) => [t, targetView(context.targets[t], desired)]),
    );
  };
}
