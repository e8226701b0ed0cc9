// What /readyz reports: whether Postgres, NATS and the migrations answer within a second, and,
// where this process runs a worker, the partitions it holds, those it waits to take back, and a
// lease round held up past the lease TTL. With Stripe, the webhook endpoint's health is a detail,
// as are, with Salesforce, the org's daily budget and which reader of its changes is active and
// why: none ever makes the process unready.
import type { NatsConnection } from '@nats-io/transport-node';
import type {
  Readiness,
  SalesforceReadiness,
  StripeReadiness,
  WorkerReadiness,
} from '../../../adapters/http/routes/health.ts';
import type { DailyBudgetStatus } from '../../../adapters/salesforce/daily-budget.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { migrationsApplied, type Migration } from '../../../adapters/postgres/migrate.ts';
import type { WorkerStats } from '../worker/start-worker.ts';
import type { WorkerRole } from '../worker/worker-role.ts';
import type { SalesforceReaderStatus } from '../inbound/salesforce-changes.ts';
import { withTimeout } from '../../../core/timeout.ts';

export interface ReadinessDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly migrations: Migration[];
  readonly workerStats?: () => WorkerStats;
  readonly stripeHealth?: () => Promise<StripeReadiness>;
  readonly salesforceBudget?: () => DailyBudgetStatus;
  readonly salesforceReader?: () => SalesforceReaderStatus;
}

/** What a process running a worker adds to its readiness. */
export function workerDetails(
  worker: WorkerRole | undefined,
): Pick<ReadinessDeps, 'workerStats' | 'salesforceBudget' | 'salesforceReader'> {
  if (!worker) return {};
  const { salesforceBudget: budget, salesforceReader: reader } = worker;
  return {
    workerStats: () => worker.worker.stats,
    ...(budget ? { salesforceBudget: () => budget.status() } : {}),
    ...(reader ? { salesforceReader: reader } : {}),
  };
}

export function readiness(d: ReadinessDeps): () => Promise<Readiness> {
  const { sql, nats, workerStats } = d;
  return async () => ({
    postgres: await answers(sql`SELECT 1`.then(() => true)),
    nats: !nats.isClosed() && (await answers(nats.flush().then(() => true))),
    migrations: await answers(migrationsApplied(sql, d.migrations)),
    ...(workerStats ? { worker: workerReadiness(workerStats()) } : {}),
    ...(await stripeDetails(d.stripeHealth)),
    ...(d.salesforceBudget || d.salesforceReader
      ? { salesforce: salesforceDetails(d.salesforceBudget?.(), d.salesforceReader?.()) }
      : {}),
  });
}

function salesforceDetails(
  s: DailyBudgetStatus | undefined,
  reader: SalesforceReaderStatus | undefined,
): SalesforceReadiness {
  return {
    ...(s
      ? {
          daily_budget: {
            state: s.state,
            used: s.used,
            limit: s.limit,
            budget: s.budget,
            backfill_budget: s.backfillBudget,
          },
        }
      : {}),
    ...(reader ? { reader } : {}),
  };
}

/** Left out when it cannot be read in time: the checks above already say why. */
async function stripeDetails(
  read: (() => Promise<StripeReadiness>) | undefined,
): Promise<{ stripe?: StripeReadiness }> {
  if (!read) return {};
  const stripe = await withTimeout(read(), 1_000, 'endpoint health').catch(() => undefined);
  return stripe ? { stripe } : {};
}

/** A probe that fails, or does not answer within a second, says not ready. */
function answers(probe: Promise<boolean>): Promise<boolean> {
  return withTimeout(probe, 1_000, 'readiness answer').catch(() => false);
}

/**
 * Until a restarted worker holds its partitions again, /readyz says which it waits for; while a
 * lease round is held up, what holds it.
 */
export function workerReadiness(stats: WorkerStats): WorkerReadiness {
  const stuck = stats.leaseRoundStuck;
  return {
    worker_id: stats.workerId,
    partitions_held: stats.ownedPartitions,
    partitions_taking_back: stats.reclaimingPartitions,
    ...(stuck
      ? {
          lease_round_stuck: {
            running_ms: Math.round(stuck.runningMs),
            waiting_for: [...stuck.waitingFor],
          },
        }
      : {}),
  };
}
