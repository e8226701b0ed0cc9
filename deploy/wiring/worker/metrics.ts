// The worker's Prometheus metrics: gauges read from its stats on scrape, and per-call counters and
// latencies reported by its executors.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DailyBudgetStatus } from '../../../adapters/salesforce/daily-budget.ts';
import type { Worker } from './start-worker.ts';

export interface WorkerMetrics {
  /** Registers the metrics; the worker, once started, is read on each scrape. */
  register(registry: Registry): void;
  /** The executors' report of one call. */
  executed(target: string, outcome: string, ms: number): void;
  attach(worker: Worker): void;
  /** A Stripe customer event mapped to our customer, by the rule that mapped it. */
  inboundMapped(route: string): void;
  /** Stripe's echo of a write of ours, recognised and dropped at mapping. */
  echoDropped(): void;
  /** A write decided on changes seen in Stripe, carried out, with the conflicts it recorded. */
  inboundApplied(kind: string, conflictWinners: readonly string[]): void;
  /** A difference a reconciliation found, by target and kind (`differs`, `orphan`, …). */
  driftFound(target: string, kind: string): void;
  /** A Postgres write decided on a reconciliation's observation: drift repaired in the catalogue. */
  driftRepaired(target: string): void;
  /** The Salesforce org's daily budget, read on each scrape. */
  salesforceBudget(status: () => DailyBudgetStatus): void;
}

const BUDGET_STATES = ['unknown', 'open', 'live_only', 'spent'] as const;

export function workerMetrics(): WorkerMetrics {
  let worker: Worker | undefined;
  let calls: Counter | undefined;
  let latency: Histogram | undefined;
  let mapped: Counter | undefined;
  let echoes: Counter | undefined;
  let applied: Counter | undefined;
  let conflicts: Counter | undefined;
  let driftFound: Counter | undefined;
  let driftRepaired: Counter | undefined;
  let budget: (() => DailyBudgetStatus) | undefined;
  const gauge = (
    registry: Registry,
    name: string,
    help: string,
    read: (w: Worker) => number | Promise<number>,
  ) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        if (worker) this.set(await read(worker));
      },
    });
  return {
    register(registry) {
      const counter = (name: string, help: string, label: string) =>
        new Counter({ name, help, labelNames: [label], registers: [registry] });
      calls = new Counter({
        name: 'rtws_intents_executed_total',
        help: 'External calls made for recorded intents, by target and outcome',
        labelNames: ['target', 'outcome'],
        registers: [registry],
      });
      mapped = counter(
        'rtws_inbound_events_mapped_total',
        'Stripe customer events mapped to a customer, by rule (rtws_id, link, email, stripe_born)',
        'route',
      );
      echoes = new Counter({
        name: 'rtws_inbound_echoes_dropped_total',
        help: "Stripe's echoes of rtws's own writes, recognised and dropped before reaching the actor",
        registers: [registry],
      });
      applied = counter(
        'rtws_inbound_writes_total',
        'Postgres writes made for changes seen in Stripe, by kind (insert, update, delete)',
        'kind',
      );
      conflicts = counter(
        'rtws_conflicts_total',
        'Fields changed on both sides at once, by the side that won',
        'winner',
      );
      latency = new Histogram({
        name: 'rtws_executor_call_seconds',
        help: 'Duration of external calls, by target',
        labelNames: ['target'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      });
      gauge(
        registry,
        'rtws_facts_consumed_total',
        'Messages the actors have consumed (a gauge of the counter, read on scrape)',
        (w) => w.stats.factsConsumed,
      );
      gauge(
        registry,
        'rtws_actors_active',
        'Actors with work queued or running',
        (w) => w.stats.activeActors,
      );
      gauge(registry, 'rtws_actors_cached', 'Actors held in memory', (w) => w.stats.cachedActors);
      gauge(
        registry,
        'rtws_actor_steps_unsaved',
        'Steps of actors not yet saved to KV (write-behind); their messages are acked once saved',
        (w) => w.stats.unsavedSteps,
      );
      gauge(
        registry,
        'rtws_partitions_owned',
        'Partitions this worker holds',
        (w) => w.stats.ownedPartitions.length,
      );
      gauge(
        registry,
        'rtws_lease_round_stuck_seconds',
        'How long the lease round has run, once past the lease TTL (0 otherwise): no lease is renewed or claimed until it ends',
        (w) => (w.stats.leaseRoundStuck?.runningMs ?? 0) / 1000,
      );
      gauge(
        registry,
        'rtws_executor_calls_in_flight',
        'External calls running now',
        (w) => w.stats.callsInFlight,
      );
      driftFound = new Counter({
        name: 'rtws_drift_found_total',
        help: 'Differences reconciliations found, by target and kind (differs and deleted_in_stripe are handed to the actors; the others are reported)',
        labelNames: ['target', 'kind'],
        registers: [registry],
      });
      driftRepaired = counter(
        'rtws_drift_repaired_total',
        "Catalogue writes decided on a reconciliation's observation, by target",
        'target',
      );
      gauge(
        registry,
        'rtws_outcome_record_failures_total',
        'Outcomes that had to be recorded again',
        (w) => w.stats.outcomeRecordFailures,
      );
      gauge(
        registry,
        'rtws_messages_dead_lettered_total',
        'Messages this worker sent to the DLQ',
        (w) => w.stats.deadLettered,
      );
      new Gauge({
        name: 'rtws_intents_waiting',
        help: 'Recorded intents waiting to run (backoff or a free slot), by target',
        labelNames: ['target'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [target, n] of Object.entries(worker?.stats.intentsWaiting ?? {}))
            this.set({ target }, n);
        },
      });
      gauge(registry, 'rtws_consumer_lag', 'Messages of the held partitions not yet handled', (w) =>
        w.consumerLag(),
      );
      registerBudget(registry, () => budget?.());
    },
    executed(target, outcome, ms) {
      calls?.inc({ target, outcome });
      latency?.observe({ target }, ms / 1000);
    },
    attach(w) {
      worker = w;
    },
    inboundMapped(route) {
      mapped?.inc({ route });
    },
    echoDropped() {
      echoes?.inc();
    },
    inboundApplied(kind, winners) {
      applied?.inc({ kind });
      for (const winner of winners) conflicts?.inc({ winner });
    },
    driftFound(target, kind) {
      driftFound?.inc({ target, kind });
    },
    driftRepaired(target) {
      driftRepaired?.inc({ target });
    },
    salesforceBudget(status) {
      budget = status;
    },
  };
}

/** The org's usage as every worker shares it, and which calls may go (one state at 1). */
function registerBudget(registry: Registry, read: () => DailyBudgetStatus | undefined): void {
  new Gauge({
    name: 'rtws_salesforce_daily_api_calls',
    help: "The Salesforce org's daily API calls: used (by anyone), limit (the org's allocation), budget (rtws's share, RTWS_SALESFORCE_DAILY_BUDGET) and backfill_budget (past which backfills wait)",
    labelNames: ['of'],
    registers: [registry],
    collect() {
      this.reset();
      const s = read();
      if (!s || s.state === 'unknown') return;
      this.set({ of: 'used' }, s.used);
      this.set({ of: 'limit' }, s.limit);
      this.set({ of: 'budget' }, s.budget);
      this.set({ of: 'backfill_budget' }, s.backfillBudget);
    },
  });
  new Gauge({
    name: 'rtws_salesforce_budget_state',
    help: "1 for the state of rtws's Salesforce daily budget: open, live_only (backfills wait), spent (every Salesforce call waits), unknown (not read yet)",
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const s = read();
      if (!s) return;
      for (const state of BUDGET_STATES) this.set({ state }, s.state === state ? 1 : 0);
    },
  });
}
