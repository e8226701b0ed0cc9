// Starts the roles this process runs, in dependency order, and stops them in reverse.
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/ports.ts';
import { names as subjectNames } from '../core/subjects.ts';
import { connectPostgres, ensureDatabase, type Sql } from '../adapters/postgres/connect.ts';
import { loadMigrations, migrate, migrationsApplied } from '../adapters/postgres/migrate.ts';
import {
  startOutboxPublisher,
  type OutboxPublisher,
} from '../adapters/postgres/outbox/publisher.ts';
import { connectNats } from '../adapters/jetstream/connect.ts';
import { ensureStreams } from '../adapters/jetstream/streams.ts';
import { jetStreamPublisher } from '../adapters/jetstream/durable-publisher.ts';
import { jetStreamDeadLetters } from '../adapters/jetstream/dead-letters.ts';
import { buildServer } from '../adapters/http/server.ts';
import { deadLetterQueue } from '../adapters/jetstream/dlq.ts';
import { inboundPublisher } from '../adapters/jetstream/inbound.ts';
import { openSnapshotStore } from '../adapters/jetstream/kv-snapshot-store.ts';
import { syncViews } from './wiring/worker/sync-view.ts';
import { startWorker, type WorkerStats } from './wiring/worker/start-worker.ts';
import { startCustomerInbound } from './wiring/inbound/stripe-customer-inbound.ts';
import { stripeCatchUp } from './wiring/inbound/stripe-catch-up.ts';
import { checkStripeBinding } from './wiring/binding/stripe-binding.ts';
import { checkTargetBinding } from './wiring/binding/target-binding.ts';
import { salesforceOrganization } from '../adapters/salesforce/client.ts';
import { resyncer } from './wiring/backfill/resync.ts';
import {
  backfillRunner,
  type BackfillRunner,
  type BackfillSources,
} from './wiring/backfill/backfill-runner.ts';
import { latestBackfills, progressOf } from '../adapters/postgres/backfills.ts';
import { exportToNewTargets } from './wiring/backfill/auto-export.ts';
import { stripeClient } from '../adapters/stripe/client.ts';
import { lockWorkerIdentity } from '../adapters/postgres/worker-identity.ts';
import { startInvoiceInbound } from './wiring/invoices/invoice-inbound.ts';
import { workerMetrics } from './wiring/worker/metrics.ts';
import { invoiceWorkerOptions } from './wiring/invoices/invoice-wiring.ts';
import { targetExecutors } from './wiring/worker/executors.ts';
import { catalogueEffects } from '../adapters/postgres/catalogue-effects.ts';
import { withTimeout } from '../core/timeout.ts';
import {
  createCustomerMachine,
  DEFAULT_POLICIES,
  type TargetName,
} from '../actors/customer/index.ts';

export interface Rtws {
  /** The API's base URL, when this process runs the api role. */
  readonly url: string | undefined;
  readonly apiToken: string;
  /** True when the token was generated here (the banner is the one place it is shown). */
  readonly generatedToken: boolean;
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly publisher: OutboxPublisher | undefined;
  close(): Promise<void>;
}

export async function startRtws(config: Config, log: Logger): Promise<Rtws> {
  const names = subjectNames(config.namespace, config.partitions);
  await ensureDatabase(config.databaseUrl);
  const sql = connectPostgres(config.databaseUrl, { applicationName: 'rtws' });
  const migrations = await loadMigrations();
  const applied = await migrate(sql, migrations);
  if (applied.length) log.info({ applied }, 'migrations applied');

  // Checked before anything starts: a start against another account refuses to run.
  const { secretKey, apiBase } = config.stripe;
  const { callTimeoutMs } = config.worker;
  const stripe = secretKey
    ? stripeClient({ secretKey, apiBase, timeoutMs: callTimeoutMs })
    : undefined;
  const binding =
    stripe && secretKey && config.roles.includes('worker')
      ? await checkStripeBinding({ stripe, secretKey, sql, log }).catch(async (err: unknown) => {
          await sql.end({ timeout: 5 });
          throw err;
        })
      : undefined;
  const stripeReady = () => binding?.bound ?? true;
  const stripeBinding = () => binding?.accountId;
  const sf = config.salesforce;
  const salesforceBinding =
    sf.loginUrl && sf.clientId && sf.clientSecret && config.roles.includes('worker')
      ? await checkTargetBinding({
          target: 'salesforce',
          credentials: 'credentials',
          account: () =>
            salesforceOrganization({
              loginUrl: sf.loginUrl!,
              clientId: sf.clientId!,
              clientSecret: sf.clientSecret!,
              timeoutMs: callTimeoutMs,
            }),
          sql,
          log,
        }).catch(async (err: unknown) => {
          binding?.stop();
          await sql.end({ timeout: 5 });
          throw err;
        })
      : undefined;
  const salesforceReady = () => salesforceBinding?.bound ?? true;

  const nats = await connectNats({ servers: config.natsServers, name: 'rtws' });
  const jsm = await jetstreamManager(nats);
  await ensureStreams(jsm, names, config.retention);

  const closers: (() => Promise<void>)[] = [];
  if (binding) closers.push(async () => binding.stop());
  if (salesforceBinding) closers.push(async () => salesforceBinding.stop());
  const apiToken = config.apiToken ?? randomBytes(24).toString('base64url');

  let publisher: OutboxPublisher | undefined;
  if (config.roles.includes('publisher')) {
    publisher = await startOutboxPublisher({
      databaseUrl: config.databaseUrl,
      names,
      publisher: jetStreamPublisher(jetstream(nats)),
      log: log.child({ role: 'publisher' }),
      ...config.publisher,
    });
    closers.push(() => publisher!.stop());
  }

  const dlq = await deadLetterQueue(nats, names);
  const snapshots = await openSnapshotStore(jetstream(nats), names.bucket('ACTORS'));

  const targets: TargetName[] = config.salesforce.loginUrl ? ['stripe', 'salesforce'] : ['stripe'];
  if (!config.salesforce.loginUrl)
    log.info({}, 'Salesforce is off: no SALESFORCE_LOGIN_URL / credentials');
  const machine = createCustomerMachine(DEFAULT_POLICIES, { targets });

  const metrics = workerMetrics();
  let workerStats: (() => WorkerStats) | undefined;
  const resync = resyncer({ sql, publisher: jetStreamPublisher(jetstream(nats)), names, targets });
  // Backfills go after live changes: they wait for room in the Stripe budget of this process.
  let whenIdle: (() => Promise<void>) | undefined;
  const backfillSources: BackfillSources = {
    postgres: resync,
    ...(stripe
      ? {
          stripe: {
            stripe,
            sql,
            publisher: jetStreamPublisher(jetstream(nats)),
            publishInbound: inboundPublisher(jetstream(nats)),
            names,
            match: config.match,
            binding: stripeBinding,
          },
        }
      : {}),
    paced: async () => {
      if (!stripeReady()) throw new Error('the Stripe account is not verified yet');
      await whenIdle?.();
    },
  };
  let backfills: BackfillRunner | undefined;
  if (config.roles.includes('worker')) {
    const { loginUrl, clientId, clientSecret } = config.salesforce;
    const catchUp = stripe
      ? stripeCatchUp({
          stripe,
          ready: stripeReady,
          sql,
          nats,
          names,
          log,
          publish: inboundPublisher(jetstream(nats)),
          intervalS: config.stripe.catchUpIntervalS,
          marginS: config.stripe.catchUpMarginS,
        })
      : undefined;
    if (catchUp) closers.push(() => catchUp.stop());
    const worker = await startWorker({
      ...(catchUp ? { beforeResume: () => catchUp.run() } : {}),
      stripeBinding,
      targetReady: (target) =>
        target === 'stripe' ? stripeReady() : target === 'salesforce' ? salesforceReady() : true,
      // A stable identity, held exclusively, lets a restart take its partitions back early.
      ...(config.workerId
        ? {
            workerId: config.workerId,
            identity: { lock: (id: string) => lockWorkerIdentity(config.databaseUrl, id) },
          }
        : {}),
      nats,
      names,
      log,
      machine,
      ...config.worker,
      catalogue: catalogueEffects(sql, {
        onApplied: (apply) =>
          metrics.inboundApplied(
            apply.kind,
            apply.conflicts.map((c) => c.winner),
          ),
      }),
      onExecuted: (target, outcome, ms) => metrics.executed(target, outcome, ms),
      executors: targetExecutors({
        sql,
        callTimeoutMs,
        ...(secretKey ? { stripe: { ...config.stripe, secretKey, match: config.match } } : {}),
        ...(loginUrl && clientId && clientSecret
          ? { salesforce: { ...config.salesforce, loginUrl, clientId, clientSecret } }
          : {}),
      }),
      invoices: invoiceWorkerOptions(
        sql,
        secretKey ? { secretKey, apiBase, timeoutMs: callTimeoutMs } : undefined,
      ),
    });
    metrics.attach(worker);
    workerStats = () => worker.stats;
    closers.push(() => worker.stop());
    whenIdle = () => worker.whenIdle('stripe');
    backfills = backfillRunner({ sql, sources: backfillSources, log });
    // Stopped before the worker, so that a page in progress is saved first.
    closers.unshift(() => backfills!.stop());
    // Changes made in Stripe flow back only where rtws writes to Stripe.
    if (secretKey) {
      const inbound = await startCustomerInbound({
        nats,
        names,
        sql,
        log,
        deadLetters: jetStreamDeadLetters(jetstream(nats), names),
        publisher: jetStreamPublisher(jetstream(nats)),
        onMapped: (route) => metrics.inboundMapped(route),
        binding: stripeBinding,
        inboxRetentionSeconds: config.retention.maxAgeSeconds,
      });
      closers.push(() => inbound.stop());
      const invoiceInbound = await startInvoiceInbound({
        nats,
        names,
        sql,
        log,
        deadLetters: jetStreamDeadLetters(jetstream(nats), names),
      });
      closers.push(() => invoiceInbound.stop());
    }
    catchUp?.start();
    await exportToNewTargets({ sql, targets, enabled: config.autoExport, log });
    backfills.start();
  }

  let server: FastifyInstance | undefined;
  let url: string | undefined;
  if (config.roles.includes('api')) {
    server = await buildServer({
      sql,
      apiToken,
      bodyLimit: config.bodyLimit,
      logLevel: config.logLevel,
      readiness: async () => ({
        postgres: await withTimeout(
          sql`SELECT 1`.then(
            () => true,
            () => false,
          ),
          1_000,
        ).catch(() => false),
        nats:
          !nats.isClosed() &&
          (await withTimeout(
            nats.flush().then(
              () => true,
              () => false,
            ),
            1_000,
          ).catch(() => false)),
        migrations: await withTimeout(
          migrationsApplied(sql, migrations).catch(() => false),
          1_000,
        ).catch(() => false),
        ...(workerStats ? { worker: workerReadiness(workerStats()) } : {}),
      }),
      dlq: async () => dlq,
      resync: { resync: (id) => resync.customer(id), targets },
      backfills: {
        sources: backfillSources,
        targets,
        ...(backfills ? { kick: () => backfills.kick() } : {}),
      },
      ...(config.stripe.webhookSecrets.length > 0
        ? {
            stripeWebhooks: {
              secrets: config.stripe.webhookSecrets,
              names,
              publish: inboundPublisher(jetstream(nats)),
              log: log.child({ component: 'stripe-webhooks' }),
            },
          }
        : {}),
      syncTargets: syncViews(snapshots, machine),
      metrics: {
        dlqDepth: () => dlq.depth(),
        outboxDepth: async () =>
          (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`)[0]?.n ?? 0,
        publisher: () => publisher?.stats,
        backfills: async () =>
          (await latestBackfills(sql)).map((b) => ({ ...b, etaS: progressOf(b).etaS })),
        register: (registry) => metrics.register(registry),
      },
    });
    url = await server.listen({ host: config.host, port: config.port });
    // Stop accepting first, so in-flight requests finish before their dependencies go.
    closers.unshift(() => server!.close());
  }

  return {
    url,
    apiToken,
    generatedToken: config.apiToken === undefined,
    sql,
    nats,
    publisher,
    async close() {
      for (const close of closers) await close();
      await nats.drain().catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}

/** Until a restarted worker holds its partitions again, /readyz says which it waits for. */
function workerReadiness(stats: WorkerStats) {
  return {
    worker_id: stats.workerId,
    partitions_held: stats.ownedPartitions,
    partitions_taking_back: stats.reclaimingPartitions,
  };
}
