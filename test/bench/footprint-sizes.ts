// What one deployment's stores hold at a moment, for the footprint benchmark: each stream and KV
// bucket of its namespace (messages, stored bytes, last sequence, and the bytes of its folder in the
// server's store directory when that is readable here), and each table of its database with its
// indexes and TOAST. Differences between two readings are what the changes in between left behind.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sql } from '../../adapters/postgres/connect.ts';
import { natsServerPids } from './report.ts';

export interface StreamSize {
  /** Messages held now; a KV bucket keeps one per key. */
  messages: number;
  /** Stored bytes JetStream counts: each held message's subject, headers, payload and framing. */
  bytes: number;
  /** Messages ever written: for a bucket, its writes (puts, updates and deletes). */
  lastSeq: number;
  /** The stream's folder in the store directory (blocks, indexes, consumer state), summed over the
   * nodes that hold it, if readable. */
  disk: number | undefined;
}

export interface Sizes {
  at: number;
  /** By name without the namespace: CHANGES, INBOUND, DLQ, INVOICES, KV ACTORS, KV LEASES, ... */
  streams: Record<string, StreamSize>;
  /** pg_total_relation_size of each table of the database (heap, indexes, TOAST). */
  tables: Record<string, number>;
}

/** The store directory of the local nats-server on `port` (its `-sd`), when this process can read it. */
export function natsStoreDir(natsUrl: string): string | undefined {
  const url = new URL(natsUrl);
  if (!['127.0.0.1', 'localhost'].includes(url.hostname)) return undefined;
  for (const pid of natsServerPids(Number(url.port || 4222))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = args.findIndex((a) => a === '-sd' || a === '--store_dir');
      const dir = i >= 0 ? args[i + 1] : undefined;
      if (dir) return join(dir, 'jetstream', '$G', 'streams');
    } catch {
      // not ours to read
    }
  }
  return undefined;
}

function folderBytes(dir: string): number | undefined {
  try {
    let sum = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      sum += entry.isDirectory() ? (folderBytes(path) ?? 0) : statSync(path).size;
    }
    return sum;
  } catch {
    return undefined;
  }
}

/** A stream's folders summed over the nodes' store directories; undefined where none is readable. */
function onDisk(storeDirs: readonly string[], stream: string): number | undefined {
  const found = storeDirs
    .map((dir) => folderBytes(join(dir, stream)))
    .filter((n) => n !== undefined);
  return found.length ? found.reduce((a, b) => a + b, 0) : undefined;
}

/** The short name of one of the namespace's streams, or undefined if it is someone else's. */
function shortName(stream: string, namespace: string): string | undefined {
  if (stream.startsWith(`KV_${namespace}_`)) return `KV ${stream.slice(namespace.length + 4)}`;
  if (stream.startsWith(`${namespace}_`)) return stream.slice(namespace.length + 1);
  return undefined;
}

export async function readSizes(
  nc: NatsConnection,
  sql: Sql,
  namespace: string,
  storeDirs: readonly string[],
): Promise<Sizes> {
  const jsm = await jetstreamManager(nc);
  const streams: Record<string, StreamSize> = {};
  for await (const s of jsm.streams.list()) {
    const short = shortName(s.config.name, namespace);
    if (!short) continue;
    streams[short] = {
      messages: s.state.messages,
      bytes: s.state.bytes,
      lastSeq: s.state.last_seq,
      disk: onDisk(storeDirs, s.config.name),
    };
  }
  const rows = await sql<{ name: string; bytes: string }[]>`
    SELECT c.relname AS name, pg_total_relation_size(c.oid)::text AS bytes
    FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`;
  const tables = Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
  return { at: performance.now(), streams, tables };
}

/** Postgres's counters for this database, and the cluster's WAL position. */
export interface PgActivity {
  /** Transactions committed, read-only ones (polls, health checks) included. */
  commits: number;
  /** Rows inserted, updated and deleted. */
  rows: { inserted: number; updated: number; deleted: number };
  /** Bytes of WAL the whole cluster has written: other databases' writes count too. */
  wal: number;
}

/**
 * The counters other backends report only once idle for a while (up to 10 s in Postgres 15), so a
 * reading is only complete some seconds after the work.
 */
export async function readPgActivity(sql: Sql): Promise<PgActivity> {
  await sql`SELECT pg_stat_clear_snapshot()`;
  const [r] = await sql<
    { commits: string; inserted: string; updated: string; deleted: string; wal: string }[]
  >`
    SELECT xact_commit::text AS commits, tup_inserted::text AS inserted,
           tup_updated::text AS updated, tup_deleted::text AS deleted,
           pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal
    FROM pg_stat_database WHERE datname = current_database()`;
  return {
    commits: Number(r!.commits),
    rows: {
      inserted: Number(r!.inserted),
      updated: Number(r!.updated),
      deleted: Number(r!.deleted),
    },
    wal: Number(r!.wal),
  };
}

/**
 * Durable consumers on each of the namespace's streams: the JetStream assets a deployment adds.
 * Ephemeral ones (key listings, read-backs) come and go and are left out.
 */
export async function durableCounts(
  nc: NatsConnection,
  namespace: string,
): Promise<Record<string, number>> {
  const jsm = await jetstreamManager(nc);
  const out: Record<string, number> = {};
  for await (const s of jsm.streams.list()) {
    const short = shortName(s.config.name, namespace);
    if (!short) continue;
    out[short] = 0;
    for await (const c of jsm.consumers.list(s.config.name))
      if (c.config.durable_name) out[short]++;
  }
  return out;
}

export interface Tally {
  count: number;
  bytes: number;
}

/**
 * Messages `fromSeq..toSeq` of a stream by kind: the message's `type` where it is one of ours, else
 * its subject's last token (an INBOUND event's type). Bytes are payload bytes.
 */
export async function tallyKinds(
  nc: NatsConnection,
  stream: string,
  fromSeq: number,
  toSeq: number,
): Promise<Map<string, Tally>> {
  const out = new Map<string, Tally>();
  if (toSeq < fromSeq) return out;
  const consumer = await jetstream(nc).consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
  });
  const iter = await consumer.consume({ max_messages: 1000 });
  for await (const m of iter) {
    let kind = m.subject.split('.').slice(-2).join('.');
    try {
      const type = m.json<{ type?: unknown }>().type;
      if (typeof type === 'string') kind = type;
    } catch {
      kind = '(not JSON)';
    }
    const t = out.get(kind) ?? { count: 0, bytes: 0 };
    t.count++;
    t.bytes += m.data.length;
    out.set(kind, t);
    if (m.seq >= toSeq || m.info.pending === 0) break;
  }
  await iter.close();
  return out;
}
