// What the inbound benchmark runs against, pinned: a fresh database and namespace, the Stripe
// emulator in its own process (no rate limit, no faults, webhooks posted to rtws's
// POST /webhooks/stripe) and rtws with a live-mode key and Salesforce off. The full stack runs
// every role, in one process or (RTWS_BENCH_PROCESSES=two) in two: api and publisher, and
// the worker; the receiver-only stack runs the api role alone, so verified events are stored in
// INBOUND and nothing consumes them.
import http from 'node:http';
import type { ChildProcess } from 'node:child_process';
import Stripe from 'stripe';
import type { Observer, TestEnvironment } from '../harness/rtws.ts';
import type { RtwsProcess } from '../harness/process.ts';
import { eventually } from '../harness/stream.ts';
import { apiUrl, createCustomer, type Target } from './api.ts';
import { spawnAndWait, spawnRoles, stopChild } from './capture.ts';
import { profileEnv, sleep, type Timing } from './report.ts';
import {
  benchBase,
  control,
  metricsText,
  startWorkerApart,
  type Processes,
} from './pipeline-stack.ts';

/** rtws paces its own Stripe calls at 80/s for a live key (20/s for a test key). */
const LIVE_KEY = 'sk_live_rtws_bench_inbound';
export const WEBHOOK_SECRET = 'whsec_rtws_bench_inbound';
export const INBOUND_LABEL = 'inbound';
/** The profiles' label of the worker's own process, when apart. */
export const INBOUND_WORKER_LABEL = 'inbound-worker';
const SEED_CLIENTS = 16;
/** A wait (seeding, linking, draining) fails after this long without progress. */
export const STALL_MS = 60_000;

export type Roles = 'api,publisher,worker' | 'api,publisher' | 'api';

export interface InboundStack {
  readonly env: TestEnvironment;
  readonly o: Observer;
  readonly emulator: { child: ChildProcess; url: string };
  /** The process with the API (and, unless `worker` is set, every role of the full stack). */
  readonly rtws: RtwsProcess;
  /** The worker's own process, when the full stack runs two, and where it answers /metrics. */
  readonly worker?: { readonly process: RtwsProcess; readonly url: URL };
  readonly target: Target;
  /** The SDK as a person at the dashboard uses it: no rtws idempotency key. */
  readonly stripe: Stripe;
  close(): Promise<void>;
}

/** rtws with `roles`; without the publisher role there is no probe to wait for, only the banner. */
async function spawnStarted(
  env: TestEnvironment,
  o: Observer,
  roles: Roles,
  extra: Record<string, string>,
): Promise<RtwsProcess> {
  const rtws =
    roles === 'api' ? spawnRoles(env, roles, extra) : await spawnAndWait(env, o, roles, extra);
  const deadline = Date.now() + 30_000;
  while (!/API:/.test(rtws.output()) && rtws.child.exitCode === null && Date.now() < deadline)
    await sleep(50);
  if (!/API:/.test(rtws.output())) {
    await stopChild(rtws);
    throw new Error(`rtws (${roles}) did not start:\n${rtws.output()}`);
  }
  return rtws;
}

/**
 * `full`: every role, in one process or, with `processes` two, the worker in a process of its
 * own; `receiver`: the api role alone.
 */
export async function startInboundStack(
  timing: Timing,
  stack: 'full' | 'receiver',
  processes: Processes = 'one',
): Promise<InboundStack> {
  const { env, o, emulator, closers, close } = await benchBase();
  try {
    const settings = {
      STRIPE_SECRET_KEY: LIVE_KEY,
      STRIPE_API_BASE: emulator.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    };
    const apart = stack === 'full' && processes === 'two';
    const roles: Roles =
      stack === 'receiver' ? 'api' : apart ? 'api,publisher' : 'api,publisher,worker';
    const rtws = await spawnStarted(env, o, roles, {
      ...settings,
      ...(roles === 'api' ? {} : profileEnv(timing, INBOUND_LABEL)),
    });
    closers.push(() => stopChild(rtws));
    const worker = apart
      ? await startWorkerApart(
          env,
          { ...settings, ...profileEnv(timing, INBOUND_WORKER_LABEL) },
          closers,
        )
      : undefined;
    const url = await apiUrl(rtws);
    await control(emulator.url, 'POST', 'webhooks/endpoints', {
      url: new URL('/webhooks/stripe', url).href,
      secret: WEBHOOK_SECRET,
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    closers.push(async () => agent.destroy());
    const base = new URL(emulator.url);
    const stripe = new Stripe(LIVE_KEY, {
      host: base.hostname,
      port: Number(base.port),
      protocol: 'http',
      maxNetworkRetries: 0,
      telemetry: false,
      httpClient: Stripe.createNodeHttpClient(agent),
    });
    return {
      env,
      o,
      emulator,
      rtws,
      ...(worker ? { worker } : {}),
      target: { url, token: env.env.RTWS_API_TOKEN!, agent },
      stripe,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function linked(s: InboundStack, ids: string[]): Promise<{ external_id: string }[]> {
  return s.o.sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links
    WHERE target = 'stripe' AND customer_id = ANY(${s.o.sql.array(ids)}::uuid[])`;
}

/** Waits until `count` passes `want`, failing after STALL_MS without progress. */
export async function waitFor(what: string, count: () => Promise<number>, want: number) {
  let seen = await count();
  let progressAt = Date.now();
  while (seen < want) {
    if (Date.now() - progressAt > STALL_MS)
      throw new Error(`${what}: ${seen} of ${want}, no progress for ${STALL_MS} ms`);
    await sleep(100);
    const now = await count();
    if (now > seen) [seen, progressAt] = [now, Date.now()];
  }
}

/**
 * Creates `n` customers through the API and waits until rtws has linked each to its Stripe
 * customer; returns their Stripe ids. The creates' echoes come back as webhooks and are dropped.
 */
export async function seedLinked(s: InboundStack, n: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: SEED_CLIENTS }, async () => {
      while (next < n) ids.push(await createCustomer(s.target, next++));
    }),
  );
  await waitFor('customers linked to Stripe', async () => (await linked(s, ids)).length, n);
  return (await linked(s, ids)).map((r) => r.external_id);
}

/** Creates `n` customers in Stripe directly (the receiver-only stack has no worker to link them). */
export async function seedInStripe(s: InboundStack, n: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: SEED_CLIENTS }, async () => {
      while (next < n) ids.push((await s.stripe.customers.create({ name: `Seed ${next++}` })).id);
    }),
  );
  return ids;
}

/** Webhook deliveries the emulator has made, those that failed for good, and those waiting. */
export async function webhookCounts(emulatorUrl: string) {
  const { stats } = (await control(emulatorUrl, 'GET', 'health')) as {
    stats: { webhooksDelivered: number; webhooksFailed: number; webhooksPending: number };
  };
  return {
    delivered: stats.webhooksDelivered,
    failed: stats.webhooksFailed,
    pending: stats.webhooksPending,
  };
}

/** Once the emulator has nothing left to deliver, and then `settleMs` for the work it caused. */
export async function quiet(s: InboundStack, settleMs: number): Promise<void> {
  const left = await eventually(
    () => webhookCounts(s.emulator.url),
    (c) => c.pending === 0,
    STALL_MS,
    100,
  );
  if (left.pending > 0)
    throw new Error(`${left.pending} webhooks still pending after ${STALL_MS} ms`);
  await sleep(settleMs);
}

/** Stripe events applied to Postgres so far: the applying transaction records each id in the inbox. */
export async function inboxCount(s: InboundStack): Promise<number> {
  const [r] = await s.o.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM inbox WHERE source = 'stripe'`;
  return r!.n;
}

/** What Stripe names each of `stripeIds`: what Postgres must show once their events are in. */
export async function namesInStripe(
  s: InboundStack,
  stripeIds: Iterable<string>,
): Promise<Map<string, string>> {
  const ids = [...new Set(stripeIds)];
  const names = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: SEED_CLIENTS }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const c = await s.stripe.customers.retrieve(id);
        if (!c.deleted && c.name) names.set(id, c.name);
      }
    }),
  );
  return names;
}

/**
 * How many of the Stripe customers in `expected` Postgres shows with the name given there. An edit
 * that a later one of the same customer overtook on the way may be settled by a fetch of the later
 * content (the actor's staleness rule), and never be committed, nor its event recorded, on its own;
 * so the work the edits caused is done once each customer holds the name Stripe holds.
 */
export async function holdingNames(
  s: InboundStack,
  expected: ReadonlyMap<string, string>,
): Promise<number> {
  const [r] = await s.o.sql<{ n: number }[]>`
    SELECT count(*)::int AS n
    FROM unnest(${[...expected.keys()]}::text[], ${[...expected.values()]}::text[])
      AS x (stripe_id, name)
    JOIN customer_links l ON l.target = 'stripe' AND l.external_id = x.stripe_id
    JOIN customers c ON c.id = l.customer_id AND c.name = x.name`;
  return r!.n;
}

/** prom-client's `eventLoopMonitoringPrecision`, its default: rtws sets none. */
const LOOP_TIMER_MS = 10;

/**
 * The event loop's delay in the process that receives the webhooks, from its /metrics: prom-client
 * times a 10 ms timer (`monitorEventLoopDelay`), and what it took beyond its 10 ms is the delay.
 * Each read of /metrics starts the window again, so a read after a phase gives the phase's delay
 * when a read began it.
 */
export async function loopDelay(s: InboundStack): Promise<string> {
  const text = await metricsText(s.target.url, s.target.token);
  const ms = (stat: string) => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`rtws_process_nodejs_eventloop_lag_${stat}_seconds `));
    if (line === undefined) return '?';
    return Math.max(0, Number(line.split(' ').at(-1)) * 1000 - LOOP_TIMER_MS).toFixed(1);
  };
  return `${ms('p50')} / ${ms('p99')} / ${ms('max')} ms`;
}

/**
 * Sum of a Prometheus counter's series whose labels start with `labels`, from the /metrics of the
 * process that runs the worker.
 */
export async function counter(s: InboundStack, metric: string, labels = ''): Promise<number> {
  const text = await metricsText(s.worker?.url ?? s.target.url, s.target.token);
  const prefix = labels ? `${metric}{${labels}` : metric;
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}
