// What /readyz reports: whether Postgres, NATS and the migrations answer within a second, and,
// where this process runs a worker, the partitions it holds and those it waits to take back.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Readiness, WorkerReadiness } from '../../../adapters/http/routes/health.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { migrationsApplied, type Migration } from '../../../adapters/postgres/migrate.ts';
import type { WorkerStats } from '../worker/start-worker.ts';

export interface ReadinessDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly migrations: Migration[];
  readonly workerStats?: () => WorkerStats;
}

export function readiness(d: ReadinessDeps): () => Promise<Readiness> {
  const { sql, nats, workerStats } = d;
  return async () => ({
    postgres:
      (await withTimeout(
        sql`SELECT 1`.then(
          () => true,
          () => false,
        ),
        1_000,
      )) ?? false,
    nats:
      !nats.isClosed() &&
      ((await withTimeout(
        nats.flush().then(
          () => true,
          () => false,
        ),
        1_000,
      )) ??
        false),
    migrations:
      (await withTimeout(
        migrationsApplied(sql, d.migrations).catch(() => false),
        1_000,
      )) ?? false,
    ...(workerStats ? { worker: workerReadiness(workerStats()) } : {}),
  });
}

/** Until a restarted worker holds its partitions again, /readyz says which it waits for. */
function workerReadiness(stats: WorkerStats): WorkerReadiness {
  return {
    worker_id: stats.workerId,
    partitions_held: stats.ownedPartitions,
    partitions_taking_back: stats.reclaimingPartitions,
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
