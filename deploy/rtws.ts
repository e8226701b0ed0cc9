// Starts the roles this process runs, in dependency order, and stops them (see `close`).
import { apiTokensOf } from '../core/api-tokens.ts';
import { fieldOwnersOf } from '../core/policy/merge.ts';
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type Stripe from 'stripe';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/ports.ts';
import { names as subjectNames, type Names } from '../core/subjects.ts';
import {
  createCustomerMachine,
  DEFAULT_POLICIES,
  type TargetName,
} from '../actors/customer/index.ts';
import { connectNats } from '../adapters/jetstream/connect.ts';
import { jetStreamPublisher } from '../adapters/jetstream/durable-publisher.ts';
import { startPublisherThread } from './wiring/publisher-thread.ts';
import { deadLetterQueue } from '../adapters/jetstream/dlq.ts';
import {
  forgetOnDisconnect,
  inboundPublisher,
  rememberingPublisher,
  type InboundPublish,
} from '../adapters/jetstream/inbound.ts';
import { openSnapshotStore } from '../adapters/jetstream/kv-snapshot-store.ts';
import { ensureStreams } from '../adapters/jetstream/streams.ts';
import { connectPostgres, ensureDatabase, type Sql } from '../adapters/postgres/connect.ts';
import { loadMigrations, migrate } from '../adapters/postgres/migrate.ts';
import {
  startOutboxPublisher,
  type OutboxPublisher,
} from '../adapters/postgres/outbox/publisher.ts';
import { stripeClient } from '../adapters/stripe/client.ts';
import { logStripeCalls } from '../adapters/stripe/call-log.ts';
import { startApi } from './wiring/api/start-api.ts';
import { startProbes } from './wiring/api/start-probes.ts';
import { backfillPacing, backfillSources } from './wiring/backfill/backfill-sources.ts';
import { resyncer } from './wiring/backfill/resync.ts';
import { checkPartitions } from '../adapters/postgres/deployment-settings.ts';
import { partitionsInStreams } from '../adapters/jetstream/partition-consumer-config.ts';
import {
  checkBindings,
  verifiedStripeAccount,
  type Bindings,
} from './wiring/binding/check-bindings.ts';
import { salesforceTarget } from './wiring/salesforce-target.ts';
import { workerMetrics } from './wiring/worker/metrics.ts';
import { openSalesforceBudget } from './wiring/worker/salesforce-budget.ts';
import { startWorkerRole } from './wiring/worker/worker-role.ts';

export interface Rtws {
  /** The API's base URL, when this process runs the api role. */
  readonly url: string | undefined;
  /** Without the api role: where this process answers /healthz and /readyz. */
  readonly probeUrl: string | undefined;
  /** The admin token (RTWS_API_TOKEN, or generated); none when only RTWS_API_TOKENS are set. */
  readonly apiToken: string | undefined;
  /** True when the token was generated here (the banner is the one place it is shown). */
  readonly generatedToken: boolean;
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly publisher: OutboxPublisher | undefined;
  close(): Promise<void>;
  /** During `close`: the part it is waiting for (the API, the worker, …), for a shutdown's log. */
  closing(): string | undefined;
}

/** A part of the shutdown that takes longer than this is logged with its time. */
const SLOW_CLOSE_MS = 1_000;

export async function startRtws(config: Config, log: Logger): Promise<Rtws> {
  const names = subjectNames(config.namespace, config.partitions);
  // The field map is read before anything opens: a bad file stops the start at once.
  salesforceTarget(config);
  const { sql, migrations } = await openCatalogue(config, log);
  const stripe = stripeFrom(config, log);
  // Checked before anything starts: a start against another account refuses to run.
  const bindings = await checkBindings(config, { sql, stripe, log }).catch(async (err: unknown) => {
    await sql.end({ timeout: 5 });
    throw err;
  });
  const nats = await openStreams(config, names, log).catch(async (err: unknown) => {
    bindings.stop();
    await sql.end({ timeout: 5 });
    throw err;
  });
  // Before anything reads or writes a partition's subject.
  await checkPartitions(sql, config.partitions, async () => {
    const jsm = await jetstreamManager(nats);
    const seen = await partitionsInStreams(jsm, names);
    if (seen === undefined || seen === config.partitions) return seen;
    // A worker of the old version may be recreating a durable just now: a second look decides.
    await new Promise((r) => setTimeout(r, 2_000));
    return partitionsInStreams(jsm, names);
  }).catch(async (err: unknown) => {
    bindings.stop();
    await nats.close();
    await sql.end({ timeout: 5 });
    throw err;
  });
  // With no token configured at all, an admin token is generated and shown in the banner.
  const generated =
    config.apiToken === undefined && config.apiTokens.length === 0
      ? randomBytes(24).toString('base64url')
      : undefined;
  const apiToken = config.apiToken ?? generated;
  const apiTokens = apiTokensOf(config.apiTokens, apiToken);
  const publisher = config.roles.includes('publisher')
    ? await startPublisher(config, { names, nats, log })
    : undefined;
  const dlq = await deadLetterQueue(nats, names);
  const snapshots = await openSnapshotStore(jetstream(nats), names.bucket('ACTORS'), {
    replicas: config.replicas,
    log,
  });
  const targets = targetsFrom(config, log);
  const machine = createCustomerMachine(DEFAULT_POLICIES, {
    targets,
    owners: fieldOwnersOf(config.fieldOwners),
  });
  const metrics = workerMetrics();
  const resync = resyncer({ sql, publisher: jetStreamPublisher(jetstream(nats)), names, targets });
  // Only a worker calls Salesforce: its calls and its backfills' reads.
  const salesforceBudget = config.roles.includes('worker')
    ? await openSalesforceBudget(config, { nats, names, log })
    : undefined;
  const pacing = backfillPacing(bindings, salesforceBudget);
  const sources = backfillSources(config, {
    sql,
    nats,
    names,
    stripe,
    resync,
    bindings,
    pacing,
    salesforceBudget,
  });
  const inboundPublish = inboundPublishOf(config, nats, bindings);
  const parts = {
    sql,
    nats,
    names,
    log,
    stripe,
    bindings,
    inboundPublish,
    machine,
    targets,
    metrics,
  };
  const worker = config.roles.includes('worker')
    ? await startWorkerRole(config, { ...parts, sources, pacing, salesforceBudget })
    : undefined;
  const api = config.roles.includes('api')
    ? await startApi(config, {
        ...parts,
        apiTokens,
        migrations,
        dlq,
        snapshots,
        resync,
        sources,
        publisher,
        worker,
      })
    : undefined;
  const probes = api
    ? undefined
    : await startProbes(config, { sql, nats, migrations, worker, publisher, metrics });

  let closing: string | undefined;
  return {
    url: api?.url,
    probeUrl: probes?.url,
    apiToken,
    generatedToken: generated !== undefined,
    sql,
    nats,
    publisher,
    closing: () => closing,
    async close() {
      const part = async (name: string, stop: () => Promise<unknown> | undefined) => {
        closing = name;
        const started = Date.now();
        await stop();
        const ms = Date.now() - started;
        if (ms > SLOW_CLOSE_MS) log.info({ part: name, ms }, 'shutdown: a part took long');
      };
      // Stop accepting first, so in-flight requests finish before their dependencies go.
      await part('api', () => api?.close());
      await part('probes', () => probes?.close());
      // Before the worker, so that a page in progress is saved first; a page waiting for the
      // Salesforce budget stops waiting.
      await part('backfills', () => {
        const stopped = worker?.backfills.stop();
        salesforceBudget?.close();
        return stopped;
      });
      bindings.stop();
      await part('publisher', () => publisher?.stop());
      await part('worker', () => worker?.stop());
      await part('nats', () => nats.drain().catch(() => {}));
      await part('postgres', () => sql.end({ timeout: 5 }));
      closing = undefined;
    },
  };
}

/**
 * What the webhook receiver and the catch-up publish to INBOUND through, each event stamped with
 * the Stripe account this process verified its key belongs to. Where one process runs
 * both, one that remembers what it stored: the catch-up's publish of an event its webhook brought,
 * within the duplicate window, then costs no round trip.
 */
function inboundPublishOf(
  config: Config,
  nats: NatsConnection,
  bindings: Bindings,
): InboundPublish {
  const publish = inboundPublisher(jetstream(nats), { account: verifiedStripeAccount(bindings) });
  if (!config.roles.includes('api') || !config.roles.includes('worker')) return publish;
  const remembering = rememberingPublisher(publish);
  forgetOnDisconnect(nats, remembering);
  return remembering;
}

/** Creates the database if needed, connects, and applies the migrations not applied yet. */
async function openCatalogue(config: Config, log: Logger) {
  await ensureDatabase(config.databaseUrl);
  const sql = connectPostgres(config.databaseUrl, { applicationName: 'rtws' });
  const migrations = await loadMigrations();
  const applied = await migrate(sql, migrations);
  if (applied.length) log.info({ applied }, 'migrations applied');
  return { sql, migrations };
}

/** The client of the calls that serve no one intent; each is logged with Stripe's request id. */
function stripeFrom(config: Config, log: Logger): Stripe | undefined {
  const { secretKey, apiBase } = config.stripe;
  const timeoutMs = config.worker.callTimeoutMs;
  return secretKey
    ? logStripeCalls(stripeClient({ secretKey, apiBase, timeoutMs }), log)
    : undefined;
}

async function openStreams(config: Config, names: Names, log: Logger): Promise<NatsConnection> {
  const nats = await connectNats({ servers: config.natsServers, name: 'rtws' });
  try {
    await ensureStreams(await jetstreamManager(nats), names, config.retention, {
      replicas: config.replicas,
      log,
    });
  } catch (err) {
    // A refused stream leaves nothing open behind it: the start fails and the process can end.
    await nats.close();
    throw err;
  }
  return nats;
}

/**
 * On a thread of its own when the process runs other roles too (RTWS_PUBLISHER_THREAD), else on
 * the process's event loop.
 */
function startPublisher(
  config: Config,
  d: { names: Names; nats: NatsConnection; log: Logger },
): Promise<OutboxPublisher> {
  const { thread, ...options } = config.publisher;
  const log = d.log.child({ role: 'publisher' });
  if (thread && config.roles.some((r) => r !== 'publisher'))
    return startPublisherThread(
      {
        databaseUrl: config.databaseUrl,
        natsServers: config.natsServers,
        namespace: config.namespace,
        partitions: config.partitions,
        options,
      },
      log,
    );
  return startOutboxPublisher({
    databaseUrl: config.databaseUrl,
    names: d.names,
    publisher: jetStreamPublisher(jetstream(d.nats)),
    log,
    ...options,
  });
}

/** The targets that are on: Stripe always, Salesforce when it is configured. */
function targetsFrom(config: Config, log: Logger): TargetName[] {
  if (!config.salesforce.loginUrl)
    log.info({}, 'Salesforce is off: no SALESFORCE_LOGIN_URL / credentials');
  return config.salesforce.loginUrl ? ['stripe', 'salesforce'] : ['stripe'];
}
