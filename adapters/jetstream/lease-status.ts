// The partition leases and worker presence the lease bucket holds now (see kv-lease-store.ts for
// its keys), for operators. The api role may run without a worker, so this asks NATS, never this
// process's own worker. The bucket is looked at, never created: before any worker ran, it shows
// nothing.
//
// Expiry: the bucket's max age is the lease TTL, and the server drops an entry that long after it
// stored it. An entry therefore expires at the stored time of its last write plus the bucket's max
// age, both on the NATS server's clock; each renewal (or heartbeat) is a new write and moves it on.
// Holders stop acting on a lease earlier than that (a margin, see actors/runtime/leases.ts).
import { jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Names } from '../../core/subjects.ts';
import { LEASE_PREFIX, PRESENCE_PREFIX } from './kv-lease-store.ts';
import { isStreamNotFound } from './streams.ts';

/** One partition's lease as the bucket shows it. */
export interface LeaseEntry {
  readonly partition: number;
  readonly holder: string;
  /** The revision its holder renews at. */
  readonly revision: number;
  /** When the server stored its last claim or renewal. */
  readonly writtenAt: Date;
  readonly expiresAt: Date;
}

/** A worker's presence: its last heartbeat, which the server drops unless another follows. */
export interface PresenceEntry {
  readonly workerId: string;
  readonly heartbeatAt: Date;
  readonly expiresAt: Date;
}

export interface LeaseStatus {
  /** The bucket's max age; undefined when no worker has created the bucket yet. */
  readonly ttlMs: number | undefined;
  readonly leases: readonly LeaseEntry[];
  readonly workers: readonly PresenceEntry[];
}

/** A status read answers within this, or fails as NATS being unavailable, rather than hang. */
const REQUEST_TIMEOUT_MS = 2_000;
const NANOS_PER_MS = 1_000_000;

export async function readLeaseStatus(nc: NatsConnection, names: Names): Promise<LeaseStatus> {
  const jsm = await jetstreamManager(nc, { timeout: REQUEST_TIMEOUT_MS, checkAPI: false });
  const bucket = names.bucket('LEASES');
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams
    .info(stream, { subjects_filter: `${prefix}>` })
    .catch((err: unknown) => {
      if (isStreamNotFound(err)) return undefined;
      throw err;
    });
  if (!info) return { ttlMs: undefined, leases: [], workers: [] };
  const ttlMs = Math.round(info.config.max_age / NANOS_PER_MS);
  // Gone between the two reads (expired, released, purged): `getMessage` answers null.
  const entries = await Promise.all(
    Object.keys(info.state.subjects ?? {}).map((subject) =>
      jsm.streams.getMessage(stream, { last_by_subj: subject }),
    ),
  );
  const leases: LeaseEntry[] = [];
  const workers: PresenceEntry[] = [];
  for (const m of entries) {
    if (!m || !isPut(m)) continue;
    const key = m.subject.slice(prefix.length);
    const expiresAt = new Date(m.time.getTime() + ttlMs);
    const partition = leasedPartition(key);
    if (partition !== undefined)
      leases.push({
        partition,
        holder: holderOf(m),
        revision: m.seq,
        writtenAt: m.time,
        expiresAt,
      });
    else if (key.startsWith(PRESENCE_PREFIX))
      workers.push({ workerId: key.slice(PRESENCE_PREFIX.length), heartbeatAt: m.time, expiresAt });
  }
  return { ttlMs, leases, workers };
}

/** A release leaves a delete marker behind: the partition is free. */
function isPut(m: StoredMsg): boolean {
  const op = m.header.get('KV-Operation');
  return !op || op === 'PUT';
}

/** `p.p07` → 7. */
function leasedPartition(key: string): number | undefined {
  const token = /^p(\d+)$/.exec(key.slice(LEASE_PREFIX.length));
  return key.startsWith(LEASE_PREFIX) && token ? Number(token[1]) : undefined;
}

function holderOf(m: StoredMsg): string {
  return m.json<{ holder: string }>().holder;
}
