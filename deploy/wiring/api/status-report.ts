// What GET /status reports, gathered from where each number lives: Postgres (bindings, pauses,
// outbox, conflicts, backfills), JetStream (streams and consumers) and the actors' snapshots
// (customers by sync status, counted in the background). Every read is one query or one request.
import { lazyManager } from '../../../adapters/jetstream/connect.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Names } from '../../../core/subjects.ts';
import { TARGET_NAMES } from '../../../actors/customer/index.ts';
import type { StatusReport } from '../../../adapters/http/routes/status.ts';
import { streamStats } from '../../../adapters/jetstream/stream-stats.ts';
import { latestBackfills, progressOf } from '../../../adapters/postgres/backfills.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { outboxBacklog } from '../../../adapters/postgres/outbox/depth.ts';
import { listPauses } from '../../../adapters/postgres/target-pauses.ts';
import { noCounts, syncCounter } from './sync-counts.ts';

export interface StatusDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly names: Names;
  /** The targets this deployment syncs to; the others are reported `off`. */
  readonly targets: readonly string[];
}

const STREAMS = ['changes', 'invoices', 'inbound', 'dlq'] as const;

export function statusReport(d: StatusDeps): () => Promise<StatusReport> {
  const { sql, nats, names } = d;
  const counter = syncCounter({
    nats,
    bucket: names.bucket('ACTORS'),
    targets: TARGET_NAMES,
    paused: async () => new Set((await listPauses(sql)).map((p) => p.target)),
  });
  const jsm = lazyManager(nats);

  async function targets(): Promise<StatusReport['targets']> {
    const [pauses, bindings, counted] = await Promise.all([
      listPauses(sql),
      sql<{ target: string; account_id: string; livemode: boolean; bound_at: Date }[]>`
        SELECT target, account_id, livemode, bound_at FROM target_bindings`,
      // No snapshot bucket yet (no worker ever ran): nothing to count.
      counter.current().catch(() => undefined),
    ]);
    return TARGET_NAMES.map((name) => {
      const b = bindings.find((r) => r.target === name);
      return {
        name,
        state: !d.targets.includes(name)
          ? 'off'
          : pauses.some((p) => p.target === name)
            ? 'paused'
            : 'on',
        account: b
          ? { id: b.account_id, livemode: b.livemode, bound_at: b.bound_at.toISOString() }
          : null,
        customers: counted?.byTarget[name] ?? noCounts(),
        counted_at: counted?.at.toISOString() ?? null,
      };
    });
  }

  async function streams(): Promise<StatusReport['streams']> {
    const manager = await jsm();
    return Promise.all(
      STREAMS.map(async (s) => {
        const name = names.streams[s];
        const stats = await streamStats(manager, name);
        return {
          stream: s.toUpperCase(),
          name,
          messages: stats.messages,
          consumer_lag: stats.consumerLag,
          consumers: stats.consumers,
        };
      }),
    );
  }

  async function work(): Promise<StatusReport['work']> {
    const active = (await latestBackfills(sql)).filter(
      (b) => b.state === 'running' || b.state === 'paused',
    );
    return active.map((b) => ({
      id: b.id,
      kind: b.source === 'reconcile' ? 'reconciliation' : 'backfill',
      source: b.source,
      state: b.state as 'running' | 'paused',
      done: b.scanned,
      total: b.totalEstimate,
      eta_s: progressOf(b).etaS,
      started_at: b.startedAt.toISOString(),
    }));
  }

  return async () => {
    const [t, outbox, s, conflicts, w] = await Promise.all([
      targets(),
      outboxBacklog(sql),
      streams(),
      sql<{ n: number }[]>`SELECT count(*)::int AS n FROM conflicts`,
      work(),
    ]);
    const dlq = s.find((x) => x.stream === 'DLQ')?.messages ?? 0;
    return {
      targets: t,
      outbox: { depth: outbox.depth, oldest_age_s: outbox.oldestAgeS },
      streams: s,
      dlq: { depth: dlq },
      conflicts: { total: conflicts[0]?.n ?? 0 },
      work: w,
    };
  };
}
