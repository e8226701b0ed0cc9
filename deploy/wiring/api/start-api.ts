// The api role: the HTTP API over the catalogue, with the views the other roles offer it (the
// actors' sync state, the DLQ, the workers' leases, backfills, the metrics) and, with webhook secrets,
// Stripe's webhooks.
import type { ApiToken } from '../../../core/api-tokens.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { SnapshotStore } from '../../../core/worker-ports.ts';
import type { CustomerMachine, TargetName } from '../../../actors/customer/index.ts';
import { buildServer } from '../../../adapters/http/server.ts';
import type { DeadLetterQueue } from '../../../adapters/jetstream/dlq.ts';
import type { InboundPublish } from '../../../adapters/jetstream/inbound.ts';
import { readLeaseStatus } from '../../../adapters/jetstream/lease-status.ts';
import { latestBackfills, progressOf } from '../../../adapters/postgres/backfills.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import type { Migration } from '../../../adapters/postgres/migrate.ts';
import { outboxDepth } from '../../../adapters/postgres/outbox/depth.ts';
import type { OutboxPublisher } from '../../../adapters/postgres/outbox/publisher.ts';
import { dryRunBackfill, type BackfillSources } from '../backfill/backfill-runner.ts';
import type { Resync } from '../backfill/resync.ts';
import type { WorkerMetrics } from '../worker/metrics.ts';
import { syncViews } from './sync-view.ts';
import { statusReport } from './status-report.ts';
import { customerTimeline } from './customer-timeline.ts';
import type { WorkerRole } from '../worker/worker-role.ts';
import { readiness, workerDetails } from './readiness.ts';
import { stripeEndpointHealth } from '../inbound/endpoint-health.ts';
import { webhookHeartbeat } from '../inbound/webhook-heartbeat.ts';
import type { Bindings } from '../binding/check-bindings.ts';

export interface ApiDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly names: Names;
  readonly log: Logger;
  /** Publishes verified webhooks to INBOUND: the one this process's catch-up uses too. */
  readonly inboundPublish: InboundPublish;
  readonly apiTokens: readonly ApiToken[];
  /** Webhooks are stored only once this process knows its Stripe key's account is the bound one. */
  readonly bindings: Pick<Bindings, 'ready'>;
  readonly migrations: Migration[];
  readonly dlq: DeadLetterQueue;
  readonly snapshots: SnapshotStore;
  readonly machine: CustomerMachine;
  readonly targets: TargetName[];
  readonly resync: Resync;
  readonly sources: BackfillSources;
  readonly publisher: OutboxPublisher | undefined;
  readonly metrics: WorkerMetrics;
  /** The worker role, where this process runs one. */
  readonly worker: WorkerRole | undefined;
}

export interface Api {
  readonly url: string;
  /** Stops accepting, and returns once the requests in flight have finished. */
  close(): Promise<void>;
}

export async function startApi(config: Config, d: ApiDeps): Promise<Api> {
  const { sql, nats, names, dlq, publisher, worker, targets } = d;
  const webhooks = config.stripe.webhookSecrets.length > 0;
  const stripeHealth = webhooks
    ? stripeEndpointHealth(sql, config.stripe.webhookSilenceAlertS)
    : undefined;
  const syncTargets = syncViews(d.snapshots, d.machine, (id) => worker?.worker.liveCustomer(id));
  const server = await buildServer({
    sql,
    apiTokens: d.apiTokens,
    configuredTargets: targets,
    erasure: { remote: config.erasure.remote },
    rateLimits: {
      perTokenPerMin: config.apiRateLimit,
      webhookPerIpPerMin: config.webhookRateLimit,
      webhookAllowIps: config.webhookAllowIps,
    },
    log: d.log,
    bodyLimit: config.bodyLimit,
    logLevel: config.logLevel,
    readiness: readiness({
      sql,
      nats,
      migrations: d.migrations,
      ...workerDetails(worker),
      ...(stripeHealth ? { stripeHealth } : {}),
    }),
    dlq: async () => dlq,
    workers: { partitions: names.partitions, status: () => readLeaseStatus(nats, names) },
    resync: { resync: (id, correlationId) => d.resync.customer(id, correlationId), targets },
    backfills: {
      canImport: d.sources.stripe !== undefined,
      dryRun: (source, options) => dryRunBackfill(d.sources, source, options),
      targets,
      ...(worker ? { kick: () => worker.backfills.kick() } : {}),
    },
    reconciliations: {
      canReconcile: d.sources.reconcile !== undefined,
      ...(worker ? { kick: () => worker.backfills.kick() } : {}),
    },
    ...(webhooks
      ? {
          stripeWebhooks: {
            secrets: config.stripe.webhookSecrets,
            names,
            publish: d.inboundPublish,
            log: d.log.child({ component: 'stripe-webhooks' }),
            onVerified: webhookHeartbeat({ sql, log: d.log }).heard,
            accountVerified: () => d.bindings.ready('stripe'),
          },
        }
      : {}),
    syncTargets,
    status: statusReport({ sql, nats, names, targets }),
    timeline: customerTimeline({ sql, nats, names, targets: syncTargets }),
    metrics: {
      dlqDepth: () => dlq.depth(),
      outboxDepth: () => outboxDepth(sql),
      publisher: () => publisher?.stats,
      nats: () => nats.stats(),
      backfills: async () =>
        (await latestBackfills(sql)).map((b) => ({ ...b, etaS: progressOf(b).etaS })),
      register: (registry) => d.metrics.register(registry),
      ...(stripeHealth
        ? {
            stripeHealth: async () => {
              const h = await stripeHealth();
              return {
                silenceS: h.webhook_silence_s,
                beyondRetention: h.beyond_retention !== null,
              };
            },
          }
        : {}),
    },
  });
  const url = await server.listen({ host: config.host, port: config.port });
  return { url, close: () => server.close() };
}
