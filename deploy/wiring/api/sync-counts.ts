// How many customers stand where, per target, for GET /status: counted from the actors' KV
// snapshots (the only place the per-target status lives; no Postgres table mirrors it). A count
// reads the whole bucket, so it is cached: a poll older than the refresh interval starts a new
// count in the background and answers with the last one, stamped with when it was taken.
import type { NatsConnection } from '@nats-io/transport-node';
import type { TargetStatus } from '../../../actors/customer/context.ts';
import { scanBucket } from '../../../adapters/jetstream/snapshot-scan.ts';

export const SYNC_COUNTS = [
  'synced',
  'pending',
  'retrying',
  'failed',
  'unlinked',
  'waiting',
] as const;
export type SyncCount = (typeof SYNC_COUNTS)[number];
export type SyncCounts = Record<SyncCount, number>;

export interface CountedTargets {
  readonly byTarget: Readonly<Record<string, SyncCounts>>;
  /** When the count was taken. */
  readonly at: Date;
}

/** Every count at 0. */
export const noCounts = (): SyncCounts =>
  Object.fromEntries(SYNC_COUNTS.map((c) => [c, 0])) as SyncCounts;

/**
 * The count a target's state falls under, as GET /customers/:id/sync shows it: a pending intent
 * of a target an operator paused is `waiting`; a Salesforce quota pause counts as `retrying`.
 * `new`, `deleted` and `off` are not counted.
 */
export function countOf(
  t: { status: TargetStatus; pending: unknown },
  paused: boolean,
): SyncCount | undefined {
  if (paused && t.pending) return 'waiting';
  switch (t.status) {
    case 'synced':
    case 'pending':
    case 'retrying':
    case 'failed':
    case 'unlinked':
      return t.status;
    case 'paused':
      return 'retrying';
    case 'new':
    case 'deleted':
    case 'off':
      return undefined;
    default: {
      const never: never = t.status;
      return never;
    }
  }
}

type Targets = Record<string, { status: TargetStatus; pending: unknown } | undefined>;

/** Adds one stored actor to the counts; values of another shape are left out. */
export function addSnapshot(
  counts: Record<string, SyncCounts>,
  stored: unknown,
  paused: ReadonlySet<string>,
): void {
  const targets = (stored as { snapshot?: { context?: { targets?: Targets } } } | null)?.snapshot
    ?.context?.targets;
  if (!targets) return;
  for (const [name, counted] of Object.entries(counts)) {
    const t = targets[name];
    const c = t && countOf(t, paused.has(name));
    if (c) counted[c]++;
  }
}

export interface SyncCounter {
  /** The latest count; the first call waits for one. */
  current(): Promise<CountedTargets>;
}

/**
 * A count is taken again at most every `minIntervalMs`, and never more than 5 % of the time: a
 * small catalogue's count is mostly waiting on NATS, so a tighter bound would leave the overview
 * stale for long on a busy machine (300 ms at 1 % is a count every 30 s).
 */
export function syncCounter(o: {
  nats: NatsConnection;
  bucket: string;
  targets: readonly string[];
  paused: () => Promise<ReadonlySet<string>>;
  minIntervalMs?: number;
}): SyncCounter {
  const minInterval = o.minIntervalMs ?? 5_000;
  let last: CountedTargets | undefined;
  let lastCostMs = 0;
  let running: Promise<CountedTargets> | undefined;

  async function count(): Promise<CountedTargets> {
    const started = Date.now();
    const paused = await o.paused();
    const byTarget: Record<string, SyncCounts> = Object.fromEntries(
      o.targets.map((t) => [t, noCounts()]),
    );
    await scanBucket(o.nats, o.bucket, (_key, value) => addSnapshot(byTarget, value, paused));
    lastCostMs = Date.now() - started;
    return { byTarget, at: new Date(started) };
  }

  function refresh(): Promise<CountedTargets> {
    running ??= count()
      .then((c) => (last = c))
      .finally(() => (running = undefined));
    return running;
  }

  return {
    async current() {
      if (!last) return refresh();
      const age = Date.now() - last.at.getTime();
      if (age >= Math.max(minInterval, lastCostMs * 20))
        refresh().catch(() => {
          // The next poll tries again; the last count stands meanwhile.
        });
      return last;
    },
  };
}
