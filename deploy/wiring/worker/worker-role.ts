// The worker role of a process: the worker itself, and beside it the flows that feed it or wait
// for it — the Stripe catch-up, the consumers of Stripe's events, the backfills, and the schedule
// of reconciliations.
import type Stripe from 'stripe';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  RECONCILE_EVENT_PREFIX,
  type CustomerMachine,
  type TargetName,
} from '../../../actors/customer/index.ts';
import { catalogueEffects } from '../../../adapters/postgres/catalogue-effects.ts';
import { postgresLetterLedger } from '../../../adapters/postgres/letter-ledger.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { lockWorkerIdentity } from '../../../adapters/postgres/worker-identity.ts';
import { exportToNewTargets } from '../backfill/auto-export.ts';
import {
  backfillRunner,
  type BackfillRunner,
  type BackfillSources,
} from '../backfill/backfill-runner.ts';
import type { BackfillPacing } from '../backfill/backfill-sources.ts';
import { reconcileSchedule } from '../backfill/reconcile-schedule.ts';
import { clearRetentionGap } from '../../../adapters/postgres/webhook-health.ts';
import type { Bindings } from '../binding/check-bindings.ts';
import { catchUpFrom, inboundConsumers } from '../inbound/start-inbound.ts';
import type { StripeCatchUp } from '../inbound/stripe-catch-up.ts';
import { invoiceWorkerOptions } from '../invoices/invoice-wiring.ts';
import { openSharedBudget, type SharedBudget } from '../../../adapters/jetstream/kv-budget.ts';
import { defaultStripeRate, lookupsPerSecond } from '../../../adapters/stripe/rate-limits.ts';
import type { SalesforceDailyBudget } from '../../../adapters/salesforce/daily-budget.ts';
import type { InboundPublish } from '../../../adapters/jetstream/inbound.ts';
import { buildExecutors } from './executors.ts';
import { allWork, type PartitionWork } from './partition-work.ts';
import { watchPausedTargets, type PausedTargets } from './paused-targets.ts';
import { salesforceChanges, type SalesforceReaderStatus } from '../inbound/salesforce-changes.ts';
import { jetStreamPublisher } from '../../../adapters/jetstream/durable-publisher.ts';
import { jetstream } from '@nats-io/jetstream';
import type { WorkerMetrics } from './metrics.ts';
import { startWorker, type Worker } from './start-worker.ts';

export interface WorkerRoleDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly names: Names;
  readonly log: Logger;
  /** The Stripe client, when a key is configured: Stripe's changes then flow back. */
  readonly stripe: Stripe | undefined;
  readonly bindings: Bindings;
  /** Publishes to INBOUND: the one this process's webhook receiver uses too. */
  readonly inboundPublish: InboundPublish;
  readonly machine: CustomerMachine;
  readonly targets: readonly TargetName[];
  readonly metrics: WorkerMetrics;
  readonly sources: BackfillSources;
  readonly pacing: BackfillPacing;
  /** rtws's share of the Salesforce org's daily calls, when Salesforce is configured. */
  readonly salesforceBudget: SalesforceDailyBudget | undefined;
}

export interface WorkerRole {
  readonly worker: Worker;
  readonly backfills: BackfillRunner;
  readonly salesforceBudget: SalesforceDailyBudget | undefined;
  /** The reader of Salesforce's changes, where they are read back. */
  readonly salesforceReader: (() => SalesforceReaderStatus) | undefined;
  /** The catch-up, the worker (with its partitions' consumers of Stripe's events), then the rest of them. */
  stop(): Promise<void>;
}

export async function startWorkerRole(config: Config, d: WorkerRoleDeps): Promise<WorkerRole> {
  const paused = await watchPausedTargets(d.sql, d.log);
  // The schedule and the catch-up come first; the runner they tell about new work comes later, and
  // so does the worker whose actors the mapping reads.
  const later: { backfills?: BackfillRunner; worker?: Worker } = {};
  const reconciling = d.sources.reconcile
    ? reconcileSchedule({
        sql: d.sql,
        log: d.log,
        intervalS: config.stripe.reconcileIntervalS,
        kick: () => later.backfills?.kick(),
      })
    : undefined;
  const catchUp = d.stripe
    ? catchUpFrom(config, d.stripe, d, () =>
        reconciling ? reconciling.now('catch-up cannot reach back far enough') : Promise.resolve(),
      )
    : undefined;
  // Each partition's Stripe events are consumed by the worker holding it, with its actors, whose
  // state in memory tells an echo of our own write at mapping.
  const inbound = d.stripe
    ? inboundConsumers(config, {
        ...d,
        onMapped: (route) => d.metrics.inboundMapped(route),
        onEcho: () => d.metrics.echoDropped(),
        liveActor: (customerId) => later.worker?.liveCustomer(customerId),
      })
    : undefined;
  // Salesforce's edits, read by the worker holding partition 0.
  const sf = d.sources.reconcile?.salesforce;
  const sfChanges =
    sf && config.salesforce.pollS > 0
      ? salesforceChanges({
          sql: d.sql,
          publisher: jetStreamPublisher(jetstream(d.nats)),
          names: d.names,
          log: d.log,
          salesforce: sf,
          org: d.bindings.salesforceOrg,
          ready: () =>
            d.bindings.ready('salesforce') && (d.salesforceBudget?.allows('live') ?? true),
          binding: d.bindings.stripeStamp,
          pollS: config.salesforce.pollS,
          sweepS: config.salesforce.sweepS,
          overlapS: config.salesforce.pollOverlapS,
          changeEvents: config.salesforce.changeEvents,
          ...(config.salesforce.importNew
            ? { importNew: { matchBy: config.match.by, merge: config.match.merge } }
            : {}),
        })
      : undefined;
  const worker = await startCustomerWorker(
    config,
    d,
    paused,
    catchUp,
    allWork([inbound?.partitions, sfChanges?.work]),
  );
  later.worker = worker;
  d.pacing.follow(worker);
  const sfBudget = d.salesforceBudget;
  if (sfBudget) d.metrics.salesforceBudget(() => sfBudget.status());
  const backfills = (later.backfills = backfillRunner({
    sql: d.sql,
    sources: d.sources,
    log: d.log,
    // A reconciliation done covers whatever catch-up could not reach back to.
    onPage: (b) => {
      if (b.source === 'reconcile' && b.state === 'done' && d.stripe)
        void clearRetentionGap(d.sql, 'stripe').catch((err: unknown) =>
          d.log.warn({ err: String(err) }, 'the retention gap could not be cleared'),
        );
    },
    onDifferences: (found) => {
      for (const x of found) d.metrics.driftFound(x.target, x.kind);
    },
  }));
  await inbound?.start();
  catchUp?.start();
  await exportToNewTargets({
    sql: d.sql,
    targets: d.targets,
    enabled: config.autoExport,
    log: d.log,
  });
  backfills.start();
  return {
    worker,
    backfills,
    salesforceBudget: d.salesforceBudget,
    salesforceReader: sfChanges ? () => sfChanges.status() : undefined,
    async stop() {
      paused.stop();
      reconciling?.stop();
      await sfChanges?.stop();
      await catchUp?.stop();
      await worker.stop();
      await inbound?.stop();
    },
  };
}

async function startCustomerWorker(
  config: Config,
  d: WorkerRoleDeps,
  paused: PausedTargets,
  catchUp: StripeCatchUp | undefined,
  partitionWork: PartitionWork | undefined,
): Promise<Worker> {
  const { sql, metrics } = d;
  const { secretKey, apiBase } = config.stripe;
  // One budget for the account, however many workers run: each takes its calls from it, and its
  // lookups before creates from a second one, Stripe's search limit (RTWS_STRIPE_SHARED_BUDGET).
  const stripeBudgets =
    secretKey && config.stripe.sharedBudget
      ? await openStripeBudgets(d.nats, {
          bucket: d.names.bucket('BUDGETS'),
          perSecond: config.stripe.rate ?? defaultStripeRate(secretKey),
          replicas: config.replicas,
        })
      : undefined;
  const worker = await startWorker({
    ...(catchUp ? { beforeResume: () => catchUp.run() } : {}),
    ...(partitionWork ? { partitionWork } : {}),
    stripeBinding: d.bindings.stripeStamp,
    // Salesforce's calls also wait while rtws's share of the org's daily calls is spent, and
    // any target's while an operator has paused it.
    targetReady: (target) =>
      !paused.has(target) &&
      d.bindings.ready(target) &&
      (target !== 'salesforce' || (d.salesforceBudget?.allows('live') ?? true)),
    // A stable identity, held exclusively, lets a restart take its partitions back early.
    ...(config.workerId
      ? {
          workerId: config.workerId,
          identity: {
            lock: (id: string) => lockWorkerIdentity(config.databaseUrl, id, { log: d.log }),
          },
        }
      : {}),
    nats: d.nats,
    names: d.names,
    log: d.log,
    machine: d.machine,
    replicas: config.replicas,
    ...config.worker,
    erasures: { sql, ...config.erasure },
    letters: postgresLetterLedger(sql, config.retention.maxAgeSeconds),
    catalogue: catalogueEffects(sql, {
      log: d.log,
      onApplied: (apply) => {
        metrics.inboundApplied(
          apply.kind,
          apply.conflicts.map((c) => c.winner),
        );
        if (apply.eventIds.some((id) => id.startsWith(RECONCILE_EVENT_PREFIX)))
          metrics.driftRepaired('stripe');
      },
    }),
    onExecuted: (target, outcome, ms) => metrics.executed(target, outcome, ms),
    executors: buildExecutors(config, sql, stripeBudgets, d.salesforceBudget, d.log),
    invoices: invoiceWorkerOptions(
      sql,
      secretKey ? { secretKey, apiBase, timeoutMs: config.worker.callTimeoutMs } : undefined,
      d.log,
    ),
  });
  metrics.attach(worker);
  return worker;
}

/** The Stripe account's call budget and its search budget, in one KV bucket. */
async function openStripeBudgets(
  nats: NatsConnection,
  o: { bucket: string; perSecond: number; replicas: number },
): Promise<{ calls: SharedBudget; searches: SharedBudget }> {
  const calls = await openSharedBudget(nats, { ...o, key: 'stripe' });
  const searches = await openSharedBudget(nats, {
    ...o,
    key: 'stripe-search',
    perSecond: lookupsPerSecond(o.perSecond),
  });
  return { calls, searches };
}
