// What the pipeline benchmark runs against, pinned: a fresh database and namespace, the Stripe
// emulator in its own process with no rate limit, rtws (api, publisher and worker) with a live-mode
// key and Salesforce off, in one process of its own or, as deploy/compose.yaml and deploy/k8s run
// it, in two (api and publisher; worker), and the emulator posting the signed webhook echo of every
// write to rtws's POST /webhooks/stripe.
import http from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import type { RtwsProcess } from '../harness/process.ts';
import { apiUrl, type Target } from './api.ts';
import { cpuGroups, spawnAndWait, spawnRoles, stopChild } from './capture.ts';
import {
  gcProbe,
  joinNodeOptions,
  memoryOf,
  profileEnv,
  sleep,
  type CpuGroups,
  type MemoryAfterGc,
  type Timing,
} from './report.ts';
import { startEmulatorProcess } from './stripe-emulator.ts';
import { watchStripeCalls, type StripeCalls } from './stripe-calls.ts';

/**
 * rtws paces Stripe calls (by default 80/s for a live key, Stripe's budget). The emulator has no
 * budget, so the benchmark sets the pace (RTWS_BENCH_STRIPE_RATE, default 2,000/s, 32 in flight)
 * to measure rtws rather than Stripe's limit; `RTWS_BENCH_STRIPE_RATE=80` measures the default.
 * For the same reason creates are sent without the lookup by email (RTWS_BENCH_MATCH_BY, default
 * `none`): with it, creates go at Stripe's search limit (18/s), whatever rtws costs.
 */
export const PIPELINE_LIVE_KEY = 'sk_live_rtws_bench_pipeline';
const STRIPE_RATE = process.env.RTWS_BENCH_STRIPE_RATE || '2000';
const STRIPE_CONCURRENCY = process.env.RTWS_BENCH_STRIPE_CONCURRENCY || '32';
const MATCH_BY = process.env.RTWS_BENCH_MATCH_BY || 'none';
const WEBHOOK_SECRET = 'whsec_rtws_bench_pipeline';
export const PIPELINE_LABEL = 'pipeline';
/** The profiles' label of the worker's own process, when apart. */
export const PIPELINE_WORKER_LABEL = 'pipeline-worker';

export interface Stack {
  readonly env: TestEnvironment;
  readonly o: Observer;
  readonly emulator: { child: ChildProcess; url: string };
  /** The process with the API (and, unless `worker` is set, every role). */
  readonly rtws: RtwsProcess;
  /** The worker's own process, when the stack runs two, and where it answers /metrics. */
  readonly worker?: { readonly process: RtwsProcess; readonly url: URL };
  readonly target: Target;
  readonly calls: StripeCalls;
  /** rtws's memory right after a full garbage collection (of each process, summed). */
  memoryAfterGc(): Promise<MemoryAfterGc>;
  /** The pinned configuration, one line per item, for the printout. */
  readonly configuration: string[];
  close(): Promise<void>;
}

/** A call to the emulator's control API. */
export async function control(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${url}/_emulator/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`emulator ${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Stops an emulator process and waits for it to exit. */
export async function stopEmulator(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** What every bench stack starts from; `closers` undo it (and what is added) in reverse. */
export interface BenchBase {
  readonly env: TestEnvironment;
  readonly o: Observer;
  readonly emulator: { child: ChildProcess; url: string };
  readonly closers: (() => Promise<void>)[];
  readonly close: () => Promise<void>;
}

/**
 * A fresh database and namespace with an observer, and the Stripe emulator in its own process
 * with its faults, delays and rate limit off. `natsUrl`: another NATS than the shared one.
 */
export async function benchBase(natsUrl?: string): Promise<BenchBase> {
  const env = await testEnvironment(natsUrl ? { natsUrl } : {});
  const closers: (() => Promise<void>)[] = [() => env.cleanup()];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const o = await observe(env);
    closers.push(() => o.close());
    const emulator = await startEmulatorProcess();
    closers.push(() => stopEmulator(emulator.child));
    await control(emulator.url, 'DELETE', 'faults');
    return { env, o, emulator, closers, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The CPU groups of a stack's processes, the emulator's included; `rtws` holds all of rtws's. */
export async function stackCpuGroups(s: {
  o: Observer;
  env: TestEnvironment;
  rtws: RtwsProcess;
  worker?: { process: RtwsProcess };
  emulator: { child: ChildProcess };
}): Promise<CpuGroups> {
  const groups = await cpuGroups(s.o.sql, s.env.natsUrl, s.rtws, {
    'pg rtws': 'rtws',
    'pg publisher': 'rtws-publisher',
  });
  const rtws = [...(groups.rtws ?? []), ...(s.worker ? [s.worker.process.child.pid!] : [])];
  return { ...groups, rtws, 'stripe emulator': [s.emulator.child.pid!] };
}

/** The worker in a process of its own, which `closers` stop; and where it answers /metrics. */
export async function startWorkerApart(
  env: TestEnvironment,
  extra: Record<string, string>,
  closers: (() => Promise<void>)[],
): Promise<{ process: RtwsProcess; url: URL }> {
  const worker = spawnRoles(env, 'worker', extra);
  closers.push(() => stopChild(worker));
  return { process: worker, url: await probeUrl(worker) };
}

/** Where a process without the API answers /healthz, /readyz and /metrics, from its banner. */
async function probeUrl(p: RtwsProcess): Promise<URL> {
  const deadline = Date.now() + 30_000;
  const found = () => /probes:\s+(http\S+)\/healthz/.exec(p.output())?.[1];
  while (!found() && p.child.exitCode === null && Date.now() < deadline) await sleep(50);
  const url = found();
  if (!url) throw new Error(`rtws (worker) printed no probe URL:\n${p.output()}`);
  return new URL(url);
}

export interface StackOptions {
  /** The setting the size came from, for the printout. */
  readonly sizeVariable?: string;
  /** Another NATS than the shared one, for the observer; rtws takes its seeds from `env`. */
  readonly natsUrl?: string;
  /** More settings for rtws, printed with the configuration. */
  readonly env?: Readonly<Record<string, string>>;
  /** `two`: the worker in a process of its own, apart from the API and the publisher. */
  readonly processes?: Processes;
}

export type Processes = 'one' | 'two';

/** RTWS_BENCH_PROCESSES: how many processes rtws runs in, `one` (the default) or `two`. */
export function processesFromEnv(): Processes {
  const v = process.env.RTWS_BENCH_PROCESSES || 'one';
  if (v !== 'one' && v !== 'two')
    throw new Error(`RTWS_BENCH_PROCESSES must be one or two, not ${JSON.stringify(v)}`);
  return v;
}

export async function startStack(
  timing: Timing,
  customers: number,
  options: StackOptions = {},
): Promise<Stack> {
  const {
    sizeVariable = 'RTWS_BENCH_PIPELINE_CUSTOMERS',
    natsUrl,
    env: extra = {},
    processes = 'one',
  } = options;
  const { env, o, emulator, closers, close } = await benchBase(natsUrl);
  try {
    const calls = watchStripeCalls(emulator.url);
    closers.push(() => calls.stop());
    const gc = gcProbe();
    closers.push(async () => gc.close());
    const settings = {
      STRIPE_SECRET_KEY: PIPELINE_LIVE_KEY,
      STRIPE_API_BASE: emulator.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      RTWS_STRIPE_RATE: STRIPE_RATE,
      RTWS_STRIPE_CONCURRENCY: STRIPE_CONCURRENCY,
      RTWS_MATCH_BY: MATCH_BY,
      ...extra,
    };
    const apart = processes === 'two';
    const rtws = await spawnAndWait(env, o, apart ? 'api,publisher' : 'api,publisher,worker', {
      ...settings,
      ...joinNodeOptions(profileEnv(timing, PIPELINE_LABEL), gc.env),
    });
    closers.push(() => stopChild(rtws));
    const worker = apart
      ? await startWorkerApart(
          env,
          { ...settings, ...joinNodeOptions(profileEnv(timing, PIPELINE_WORKER_LABEL), gc.env) },
          closers,
        )
      : undefined;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    closers.push(async () => agent.destroy());
    const url = await apiUrl(rtws);
    await control(emulator.url, 'POST', 'webhooks/endpoints', {
      url: new URL('/webhooks/stripe', url).href,
      secret: WEBHOOK_SECRET,
    });
    // The probe row spawnAndWait wrote reaches Stripe once the worker holds its partitions.
    await calls.waitForDone(1, 60_000);
    const configuration = [
      `size: ${customers.toLocaleString('en-US')} customers (${sizeVariable})`,
      worker
        ? `rtws: two processes (RTWS_BENCH_PROCESSES=two), roles api and publisher (pid ${rtws.child.pid}) and worker (pid ${worker.process.child.pid}), as deploy/compose.yaml and deploy/k8s run them; figures for rtws are both together; Salesforce off (no SALESFORCE_* set)`
        : `rtws: one process (pid ${rtws.child.pid}), roles api, publisher, worker (RTWS_BENCH_PROCESSES=one); Salesforce off (no SALESFORCE_* set)`,
      `Stripe pace: RTWS_STRIPE_RATE=${STRIPE_RATE}/s, RTWS_STRIPE_CONCURRENCY=${STRIPE_CONCURRENCY} (RTWS_BENCH_STRIPE_RATE / _CONCURRENCY; rtws's default for a live key is 80/s with 8 in flight), taken from the shared budget in KV (the default)`,
      `creates: RTWS_MATCH_BY=${MATCH_BY} (RTWS_BENCH_MATCH_BY; rtws's default, email, looks each new email up first, at Stripe's search limit of 18/s)`,
      'worker: 16 partitions, 64 customers at once, actors passivated after 60 s idle or beyond 10,000 held (start-worker.ts defaults; deploy/rtws.ts sets none)',
      'publisher: batch 1,000, 512 publishes in flight, safety poll 200 ms',
      `Stripe emulator: its own process (pid ${emulator.child.pid}), no rate limit, no faults; webhooks on: every write's signed event is posted to rtws's POST /webhooks/stripe (8 deliveries in flight)`,
      `fresh database ${env.db.name}, namespace ${env.namespace}`,
      ...Object.entries(extra).map(([k, v]) => `rtws also has ${k}=${v}`),
      'API clients: node:http with a keep-alive agent (64 sockets), JSON bodies, bearer token',
      "commit: the outbox row's occurred_at (clock_timestamp() in the capture trigger, the last statement before COMMIT), read back from the CHANGES stream",
      "Stripe call done: the emulator's request log (its clock, ms, once the reply is ready), matched by rtws's idempotency key; polled every 250 ms",
    ];
    return {
      env,
      o,
      emulator,
      rtws,
      ...(worker ? { worker } : {}),
      target: { url, token: env.env.RTWS_API_TOKEN!, agent },
      calls,
      async memoryAfterGc() {
        const api = await gc.measure(rtws.child.pid!);
        if (!worker) return api;
        const w = await gc.measure(worker.process.child.pid!);
        return {
          rss: api.rss + w.rss,
          heapUsed: api.heapUsed + w.heapUsed,
          heapTotal: api.heapTotal + w.heapTotal,
          external: api.external + w.external,
        };
      },
      configuration,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Webhook deliveries the emulator has made and those that failed for good. */
export async function webhookCounts(
  emulatorUrl: string,
): Promise<{ delivered: number; failed: number; pending: number }> {
  const res = await fetch(`${emulatorUrl}/_emulator/health`);
  const { stats: s } = (await res.json()) as {
    stats: { webhooksDelivered: number; webhooksFailed: number; webhooksPending: number };
  };
  return { delivered: s.webhooksDelivered, failed: s.webhooksFailed, pending: s.webhooksPending };
}

export interface RtwsMemory {
  rss: number;
  peak: number;
  /** From rtws's GET /metrics: V8's heap (used includes garbage not yet collected), off-heap buffers. */
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Customer actors held in memory. */
  actors: number;
}

/** rtws's memory now; with two processes, both summed (the peak is the sum of their peaks). */
export async function rtwsMemory(s: Stack): Promise<RtwsMemory> {
  const api = await processMemory(s.rtws, s.target.url, s.target.token);
  if (!s.worker) return api;
  const w = await processMemory(s.worker.process, s.worker.url, s.target.token);
  return {
    rss: api.rss + w.rss,
    peak: api.peak + w.peak,
    heapUsed: api.heapUsed + w.heapUsed,
    heapTotal: api.heapTotal + w.heapTotal,
    external: api.external + w.external,
    actors: w.actors,
  };
}

/** What rtws's main NATS connections have sent and received so far, in messages (summed). */
export async function natsMessages(s: Stack): Promise<{ sent: number; received: number }> {
  const urls = [s.target.url, ...(s.worker ? [s.worker.url] : [])];
  const total = { sent: 0, received: 0 };
  for (const url of urls) {
    const text = await metricsText(url, s.target.token);
    for (const direction of ['sent', 'received'] as const) {
      const re = new RegExp(`^rtws_nats_messages_total\\{direction="${direction}"\\} (\\d+)$`, 'm');
      const found = re.exec(text)?.[1];
      if (found === undefined)
        throw new Error(`${url.origin}/metrics has no NATS ${direction} count`);
      total[direction] += Number(found);
    }
  }
  return total;
}

/** A process's /metrics text; rejects on any answer but 200 (a wrong token would read as 0). */
export async function metricsText(url: URL, token: string): Promise<string> {
  const res = await fetch(new URL('/metrics', url), {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`GET ${url.origin}/metrics: ${res.status} ${await res.text()}`);
  return res.text();
}

async function processMemory(p: RtwsProcess, url: URL, token: string): Promise<RtwsMemory> {
  const { rss, peak } = memoryOf(p.child.pid!);
  const text = await metricsText(url, token);
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  return {
    rss,
    peak,
    heapUsed: metric('rtws_process_nodejs_heap_size_used_bytes'),
    heapTotal: metric('rtws_process_nodejs_heap_size_total_bytes'),
    external: metric('rtws_process_nodejs_external_memory_bytes'),
    actors: metric('rtws_actors_cached'),
  };
}
