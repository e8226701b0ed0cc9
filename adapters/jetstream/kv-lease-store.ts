// Partition leases and worker presence in one KV bucket whose max age is the lease TTL: the server
// itself expires an entry that was not renewed, so no worker compares its clock with another's.
// Keys: `p.p07` holds partition 7 (value: the holder), `w.<workerId>` announces a live worker.
// nats-server 2.9 has no per-message TTL; the bucket-wide max age is what makes this work.
import {
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Lease, LeaseStore } from '../../core/worker-ports.ts';
import { partitionToken } from '../../core/subjects.ts';
import { casWrite } from './kv-errors.ts';
import { ensureBucketReplicas, type ReplicaOptions } from './replicas.ts';

export interface LeaseStoreOptions extends ReplicaOptions {
  readonly bucket: string;
  /**
   * The lease TTL. An existing bucket with a shorter one is raised to it (a worker still running
   * with the shorter one only renews early and starts calls with time to spare); one with a
   * longer one keeps it, as a shorter TTL would let leases lapse under workers counting on it.
   */
  readonly ttlMs: number;
}

/** Keys under `p.` are partition leases, under `w.` worker presence (lease-status.ts reads both). */
export const LEASE_PREFIX = 'p.';
export const PRESENCE_PREFIX = 'w.';
const leaseKey = (p: number) => `${LEASE_PREFIX}${partitionToken(p)}`;
const presenceKey = (workerId: string) => `${PRESENCE_PREFIX}${workerId}`;
const encoder = new TextEncoder();

export async function openLeaseStore(
  nc: NatsConnection,
  options: LeaseStoreOptions,
): Promise<LeaseStore> {
  // Lease writes must answer well inside a renewal period, or the lease runs out while we wait.
  const timeout = Math.max(250, Math.min(2_000, Math.round(options.ttlMs / 3)));
  const js = jetstream(nc, { timeout });
  const kv = await new Kvm(js).create(options.bucket, {
    history: 1,
    ttl: options.ttlMs,
    storage: StorageType.File,
    replicas: options.replicas ?? 1,
  });
  const jsm = await jetstreamManager(nc, { timeout });
  await ensureBucketReplicas(kv, jsm, options);
  const kept = (await kv.status()).ttl;
  if (kept > 0 && kept < options.ttlMs)
    await jsm.streams.update(`KV_${options.bucket}`, { max_age: options.ttlMs * 1_000_000 });
  const ttlMs = (await kv.status()).ttl;
  return kvLeaseStore(kv, jsm, options.bucket, ttlMs || options.ttlMs);
}

function kvLeaseStore(kv: KV, jsm: JetStreamManager, bucket: string, ttlMs: number): LeaseStore {
  const stream = `KV_${bucket}`;
  const subjectPrefix = `$KV.${bucket}.`;
  const value = (workerId: string) => encoder.encode(JSON.stringify({ holder: workerId }));
  return {
    ttlMs,
    async heartbeat(workerId) {
      await kv.put(presenceKey(workerId), value(workerId));
    },
    async leave(workerId) {
      // A purge through the stream leaves no delete marker, so the worker stops counting at once.
      await jsm.streams.purge(stream, { filter: `${subjectPrefix}${presenceKey(workerId)}` });
    },
    async liveWorkers() {
      const presence = `${subjectPrefix}${PRESENCE_PREFIX}`;
      const info = await jsm.streams.info(stream, { subjects_filter: `${presence}>` });
      return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(presence.length));
    },
    async holders(partitions) {
      const entries = await Promise.all(
        Array.from({ length: partitions }, (_, p) => kv.get(leaseKey(p))),
      );
      const out = new Map<number, Lease>();
      entries.forEach((entry, p) => {
        if (entry?.operation !== 'PUT') return;
        out.set(p, { holder: entry.json<{ holder: string }>().holder, revision: entry.revision });
      });
      return out;
    },
    async claim(partition, workerId) {
      try {
        return await casWrite(`lease ${partition}`, () =>
          kv.create(leaseKey(partition), value(workerId)),
        );
      } catch (err) {
        if ((err as { code?: string }).code === 'concurrency') return undefined;
        throw err;
      }
    },
    renew(partition, workerId, revision) {
      return casWrite(`lease ${partition}`, () =>
        kv.update(leaseKey(partition), value(workerId), revision),
      );
    },
    async release(partition, revision) {
      await kv.delete(leaseKey(partition), { previousSeq: revision });
    },
  };
}
