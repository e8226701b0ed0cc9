// Actor snapshots in a KV bucket, one key per actor, written with revision CAS. The bucket keeps
// only the latest value: the recorded events in the stream are the history.
import { StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { SnapshotStore } from '../../core/worker-ports.ts';
import { casWrite } from './kv-errors.ts';
import { ensureBucketReplicas, type ReplicaOptions } from './replicas.ts';

export async function openSnapshotStore(
  js: JetStreamClient,
  bucket: string,
  options: ReplicaOptions = {},
): Promise<SnapshotStore> {
  const replicas = options.replicas ?? 1;
  const kv = await new Kvm(js).create(bucket, { history: 1, storage: StorageType.File, replicas });
  await ensureBucketReplicas(kv, await js.jetstreamManager(), options);
  return kvSnapshotStore(kv);
}

export function kvSnapshotStore(kv: KV): SnapshotStore {
  return {
    async load(actorId) {
      const entry = await kv.get(actorId);
      if (!entry || entry.operation !== 'PUT') return undefined;
      return { value: entry.json<unknown>(), revision: entry.revision };
    },
    async *keys() {
      yield* await kv.keys();
    },
    save(actorId, value, expectedRevision) {
      const data = JSON.stringify(value);
      return casWrite(`snapshot ${actorId}`, () =>
        expectedRevision === undefined
          ? kv.create(actorId, data)
          : kv.update(actorId, data, expectedRevision),
      );
    },
  };
}
