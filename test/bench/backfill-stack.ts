// What the backfill benchmark runs against, pinned: a fresh database and namespace; the Stripe
// emulator in its own process (no rate limit, no faults) holding N customers made before rtws
// started; rtws (api, publisher, worker) in its own process with a live-mode key, the Stripe pace
// raised and Salesforce off, the emulator posting the signed webhook of every write to rtws; and
// customers created through rtws's API and linked to Stripe, for the live edits.
import http from 'node:http';
import type { ChildProcess } from 'node:child_process';
import type Stripe from 'stripe';
import type { Observer, TestEnvironment } from '../harness/rtws.ts';
import type { RtwsProcess } from '../harness/process.ts';
import { apiUrl, createCustomer, type Target } from './api.ts';
import { spawnAndWait, stopChild } from './capture.ts';
import { waitFor } from './inbound-stack.ts';
import { benchBase, control } from './pipeline-stack.ts';
import { profileEnv, type Timing } from './report.ts';
import { TAKEOVER_GRACE_MS } from '../../actors/runtime/intent-scheduler.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import {
  SEED_IN_FLIGHT,
  pastCatchUpWindow,
  sdkClient,
  seedCustomers,
  updateRate,
  walkRate,
} from './backfill-seed.ts';

const LIVE_KEY = 'sk_live_rtws_bench_backfill';
const WEBHOOK_SECRET = 'whsec_rtws_bench_backfill';
/** The same knobs, and defaults, as the pipeline benchmark's. */
export const STRIPE_RATE = Number(process.env.RTWS_BENCH_STRIPE_RATE || '2000');
export const STRIPE_CONCURRENCY = Number(process.env.RTWS_BENCH_STRIPE_CONCURRENCY || '32');
export const BACKFILL_LABEL = 'backfill';
/** Live edits per second during the import and the quiet phase (RTWS_BENCH_BACKFILL_LIVE_RATE). */
export const LIVE_PER_SECOND = Number(process.env.RTWS_BENCH_BACKFILL_LIVE_RATE || '20');
/**
 * The import writes `metadata.rtws_id` onto each customer at once (`write_back`), rather than with
 * the first push rtws makes to it, the default (RTWS_BENCH_BACKFILL_WRITE_BACK=1).
 */
export const WRITE_BACK = process.env.RTWS_BENCH_BACKFILL_WRITE_BACK === '1';
/**
 * Customers the catalogue holds before rtws first starts, as a company adopting rtws has them
 * (RTWS_BENCH_BACKFILL_CATALOGUE, default 0). None is in Stripe or shares an email with a Stripe
 * customer: each page of the import looks its emails up among them and finds none.
 */
export const CATALOGUE = Number(process.env.RTWS_BENCH_BACKFILL_CATALOGUE || '0');
if (!Number.isInteger(CATALOGUE) || CATALOGUE < 0)
  throw new Error('RTWS_BENCH_BACKFILL_CATALOGUE must be a whole number of customers, 0 or more');
/** Customers the live edits rotate over: each is edited every LIVE_CUSTOMERS / rate seconds. */
const LIVE_CUSTOMERS = 100;
const UPDATE_BASELINE_MS = 3_000;

export interface BackfillStack {
  readonly env: TestEnvironment;
  readonly o: Observer;
  readonly emulator: { child: ChildProcess; url: string };
  readonly rtws: RtwsProcess;
  readonly target: Target;
  readonly stripe: Stripe;
  /** The Stripe ids the account held before rtws started: what the import brings in. */
  readonly seeded: ReadonlySet<string>;
  /** Catalogue customers made through the API and linked, for the live edits. */
  readonly live: readonly string[];
  /** By then the worker held its partitions: the live customers were linked. */
  readonly heldBy: number;
  /** The emulator alone, before rtws started. */
  readonly baseline: {
    seedPerSecond: number;
    walk: Awaited<ReturnType<typeof walkRate>>;
    updates: Awaited<ReturnType<typeof updateRate>>;
  };
  readonly configuration: string[];
  close(): Promise<void>;
}

async function linkedCount(o: Observer, ids: readonly string[]): Promise<number> {
  const [r] = await o.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM customer_links
    WHERE target = 'stripe' AND customer_id = ANY(${o.sql.array([...ids])}::uuid[])`;
  return r!.n;
}

/**
 * Rows from before capture: written with the capture trigger off, so they reach no outbox, and
 * rtws starts with RTWS_AUTO_EXPORT=false, so it does not push them to Stripe either.
 */
async function seedCatalogue(o: Observer, n: number): Promise<number> {
  const startedAt = performance.now();
  await migrate(o.sql);
  await o.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await tx`
      INSERT INTO customers (name, email)
      SELECT 'Catalogue ' || i, 'Catalogue.' || i || '@Example.com' FROM generate_series(1, ${n}) i`;
  });
  await o.sql`ANALYZE customers`;
  return (performance.now() - startedAt) / 1000;
}

async function createLinked(o: Observer, target: Target, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 16)
    ids.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(16, n - i) }, (_, k) => createCustomer(target, i + k)),
      )),
    );
  await waitFor('live customers linked to Stripe', () => linkedCount(o, ids), n);
  return ids;
}

export async function startBackfillStack(
  timing: Timing,
  customers: number,
): Promise<BackfillStack> {
  const { env, o, emulator, closers, close } = await benchBase();
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    closers.push(async () => agent.destroy());
    const stripe = sdkClient(emulator.url, LIVE_KEY, agent);
    const seed = await seedCustomers(stripe, customers);
    const walk = await walkRate(stripe);
    const updates = await updateRate(stripe, seed.ids, STRIPE_CONCURRENCY, UPDATE_BASELINE_MS);
    const catalogueSeconds = CATALOGUE > 0 ? await seedCatalogue(o, CATALOGUE) : 0;
    await pastCatchUpWindow();
    const rtws = await spawnAndWait(env, o, 'api,publisher,worker', {
      STRIPE_SECRET_KEY: LIVE_KEY,
      STRIPE_API_BASE: emulator.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      RTWS_STRIPE_RATE: String(STRIPE_RATE),
      RTWS_STRIPE_CONCURRENCY: String(STRIPE_CONCURRENCY),
      RTWS_CATCHUP_MARGIN_S: '0',
      ...(CATALOGUE > 0 ? { RTWS_AUTO_EXPORT: 'false' } : {}),
      ...profileEnv(timing, BACKFILL_LABEL),
    });
    closers.push(() => stopChild(rtws));
    const url = await apiUrl(rtws);
    await control(emulator.url, 'POST', 'webhooks/endpoints', {
      url: new URL('/webhooks/stripe', url).href,
      secret: WEBHOOK_SECRET,
    });
    const target: Target = { url, token: env.env.RTWS_API_TOKEN!, agent };
    const live = await createLinked(o, target, LIVE_CUSTOMERS);
    const heldBy = Date.now();
    const configuration = [
      `account: ${customers.toLocaleString('en-US')} customers (RTWS_BENCH_BACKFILL_CUSTOMERS) created with the SDK before rtws started (${Math.round(seed.perSecond)}/s, ${SEED_IN_FLIGHT} in flight), each with its own email and no rtws_id; rtws started over a second later with RTWS_CATCHUP_MARGIN_S=0, so catch-up lists none of their events and only the import brings them in`,
      CATALOGUE > 0
        ? `catalogue: ${CATALOGUE.toLocaleString('en-US')} customers (RTWS_BENCH_BACKFILL_CATALOGUE) written before rtws first started (${catalogueSeconds.toFixed(1)} s), with capture off and RTWS_AUTO_EXPORT=false, none in Stripe nor sharing an email with a Stripe customer; the table analyzed`
        : 'catalogue: empty before rtws started (RTWS_BENCH_BACKFILL_CATALOGUE=N writes N customers into it first)',
      `rtws: one process (pid ${rtws.child.pid}), roles api, publisher, worker; Salesforce off; live-mode key; RTWS_MATCH_BY=email (the default)`,
      `Stripe pace: RTWS_STRIPE_RATE=${STRIPE_RATE}/s, RTWS_STRIPE_CONCURRENCY=${STRIPE_CONCURRENCY} (RTWS_BENCH_STRIPE_RATE / _CONCURRENCY; rtws's default for a live key is 80/s with 8 in flight)`,
      `Stripe emulator: its own process (pid ${emulator.child.pid}), no rate limit, no faults; every write's signed webhook posted to rtws's POST /webhooks/stripe (8 in flight), registered after the seeding`,
      `live edits: PATCH /customers/:id { name } over ${LIVE_CUSTOMERS} customers created through the API and linked before the import; commit = the outbox row's occurred_at read back from the CHANGES stream, call done = the emulator's request log (its clock), matched by idempotency key`,
      WRITE_BACK
        ? 'the import asks for write_back: metadata.rtws_id written onto each customer at once (RTWS_BENCH_BACKFILL_WRITE_BACK=1)'
        : "the import as started by default: each customer's rtws_id goes with the first push rtws makes to it, so none is written here (RTWS_BENCH_BACKFILL_WRITE_BACK=1 writes them at once)",
      `the import starts once the worker has held its partitions for ${TAKEOVER_GRACE_MS / 1000} s (TAKEOVER_GRACE_MS): until then a push decided in them, a write-back too, is sent only after a retrieve that checks Stripe has not moved`,
      `Stripe calls: every request in the emulator's log (polled every 200 ms) between the backfill's start and the last customer done; a write-back is a POST /v1/customers/<seeded id>`,
      `fresh database ${env.db.name}, namespace ${env.namespace}`,
    ];
    return {
      env,
      o,
      emulator,
      rtws,
      target,
      stripe,
      seeded: new Set(seed.ids),
      live,
      heldBy,
      baseline: { seedPerSecond: seed.perSecond, walk, updates },
      configuration,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
