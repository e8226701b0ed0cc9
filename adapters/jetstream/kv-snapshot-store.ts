// Actor snapshots in a KV bucket, one key per actor, written with revision CAS. The bucket keeps
// only the latest value: the recorded events in the stream are the history.
import { StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { snapshotText, type SnapshotStore } from '../../core/worker-ports.ts';
import { casWrite } from './kv-errors.ts';
import { ensureBucketReplicas, type ReplicaOptions } from './replicas.ts';

export async function openSnapshotStore(
  js: JetStreamClient,
  bucket: string,
  options: ReplicaOptions = {},
): Promise<SnapshotStore> {
  const replicas = options.replicas ?? 1;
  const kv = await new Kvm(js).create(bucket, { history: 1, storage: StorageType.File, replicas });
  const jsm = await js.jetstreamManager();
  await ensureBucketReplicas(kv, jsm, options);
  return kvSnapshotStore(kv, { jsm, bucket });
}

/**
 * With the bucket's manager, keys are listed from the stream's subjects (one request to its
 * leader, paged) rather than with `kv.keys()`, whose ephemeral consumer nats-server 2.9 may fail
 * to place while one of the stream's peers is down: a takeover's resume must list them then.
 * Deleted keys are listed too; `load` finds nothing for them.
 */
export function kvSnapshotStore(
  kv: KV,
  lister?: { jsm: JetStreamManager; bucket: string },
): SnapshotStore {
  return {
    async load(actorId) {
      const entry = await kv.get(actorId);
      if (!entry || entry.operation !== 'PUT') return undefined;
      return { value: entry.json<unknown>(), revision: entry.revision };
    },
    async *keys() {
      if (!lister) {
        yield* await kv.keys();
        return;
      }
      const prefix = `$KV.${lister.bucket}.`;
      const info = await lister.jsm.streams.info(`KV_${lister.bucket}`, {
        subjects_filter: `${prefix}>`,
      });
      for (const subject of Object.keys(info.state.subjects ?? {}))
        yield subject.slice(prefix.length);
    },
    save(actorId, value, expectedRevision) {
      const data = snapshotText(value);
      return casWrite(`snapshot ${actorId}`, () =>
        expectedRevision === undefined
          ? kv.create(actorId, data)
          : kv.update(actorId, data, expectedRevision),
      );
    },
  };
}
