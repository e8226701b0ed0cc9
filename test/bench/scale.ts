// `npm run bench -- scale`: the pipeline as separate processes on a private three-node JetStream
// cluster (nats-server processes on loopback ports): one `api,publisher` process and 1, 2 and 3
// worker processes with R3 streams and buckets, and 1 worker with R1 on the same cluster as the
// baseline. Each run loads RTWS_BENCH_SCALE_CUSTOMERS creates (default 2,000) through the API as
// fast as it takes them, then paces 100 creates a second for the measured phase. It reports
// changes per second (bulk), CPU per 1,000 changes (rtws processes and the three nats-servers)
// and the p99 of API answer → Stripe call done (paced).
//
// On two cores the figures do not grow with the workers: the point is what replication costs (R3
// against R1, in the same run) and that several processes share the work without breaking.
import http from 'node:http';
import { natsCluster, type NatsCluster } from '../harness/nats-cluster.ts';
import { apiUrlOf, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { authHeaders, testEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import type { BenchResult } from './capture.ts';
import { benchTuning, stopChild } from './capture.ts';
import { control, stopEmulator } from './pipeline-stack.ts';
import {
  cpuSplit,
  groupDelta,
  percentile,
  sampleCpu,
  sleep,
  type CpuGroups,
  type Figure,
  type Timing,
} from './report.ts';
import { startEmulatorProcess } from './stripe-emulator.ts';
import { changeKey, watchStripeCalls } from './stripe-calls.ts';

const LIVE_KEY = 'sk_live_rtws_bench_scale';
const PACED_PER_SECOND = 100;
const RUNS = [
  { replicas: 1, workers: 1 },
  { replicas: 3, workers: 1 },
  { replicas: 3, workers: 2 },
  { replicas: 3, workers: 3 },
] as const;

interface RunFigures {
  label: string;
  perSecond: number;
  rtwsCpuPer1000: number;
  natsCpuPer1000: number;
  p99: number;
  p50: number;
  n: number;
  cpu: string;
}

export async function benchScale(timing: Timing, customers: number): Promise<BenchResult> {
  const cluster = await natsCluster(3);
  try {
    await cluster.metaLeader();
    const results: RunFigures[] = [];
    for (const run of RUNS) results.push(await oneRun(cluster, run, customers, timing));
    const [base] = results;
    const figures: Figure[] = [];
    for (const r of results) {
      figures.push({
        name: `scale ${r.label}: changes per second, API -> Stripe call done`,
        value: Math.round(r.perSecond),
        unit: 'changes/s',
        ...(r === base ? {} : { baseline: Math.round(base!.perSecond) }),
        note: `bulk load of ${customers.toLocaleString('en-US')} creates (RTWS_BENCH_SCALE_CUSTOMERS)${r === base ? '; the baseline of the rows below' : ''}`,
      });
      figures.push({
        name: `scale ${r.label}: CPU per 1,000 changes, rtws processes`,
        value: Number(r.rtwsCpuPer1000.toFixed(2)),
        unit: 'CPU-s',
        ...(r === base ? {} : { baseline: Number(base!.rtwsCpuPer1000.toFixed(2)) }),
        note: `the api,publisher process and every worker; nats-servers together ${r.natsCpuPer1000.toFixed(2)} CPU-s per 1,000${r === base ? '' : ` (R1, 1 worker: ${base!.natsCpuPer1000.toFixed(2)})`}`,
      });
      figures.push({
        name: `scale ${r.label}, paced ${PACED_PER_SECOND}/s: API answer -> Stripe call done p99`,
        value: r.p99,
        unit: 'ms',
        ...(r === base ? {} : { baseline: base!.p99 }),
        note: `p50 ${r.p50} ms, n=${r.n}`,
      });
    }
    return { figures, cpu: results.map((r) => `scale ${r.label} bulk load: ${r.cpu}`) };
  } finally {
    await cluster.stop();
  }
}

async function oneRun(
  cluster: NatsCluster,
  run: { replicas: number; workers: number },
  customers: number,
  timing: Timing,
): Promise<RunFigures> {
  const label = `R${run.replicas}, ${run.workers} worker${run.workers > 1 ? 's' : ''}`;
  console.error(`bench: scale ${label}...`);
  const t = await testEnvironment({ natsUrl: cluster.urls[0]! });
  const closers: (() => Promise<void>)[] = [() => t.cleanup()];
  try {
    const emulator = await startEmulatorProcess();
    closers.push(() => stopEmulator(emulator.child));
    await control(emulator.url, 'DELETE', 'faults');
    const env = {
      ...t.env,
      ...benchTuning(),
      STRIPE_SECRET_KEY: LIVE_KEY,
      STRIPE_API_BASE: emulator.url,
      // Webhooks are not sent: the runs measure the way out.
      STRIPE_WEBHOOK_SECRET: 'whsec_rtws_bench_scale',
      NATS_URL: cluster.urls.join(','),
      RTWS_REPLICAS: String(run.replicas),
      RTWS_STRIPE_RATE: '2000',
      RTWS_STRIPE_CONCURRENCY: '32',
      RTWS_MATCH_BY: 'none',
      LOG_LEVEL: 'warn',
    };
    const processes: RtwsProcess[] = [];
    closers.push(async () => {
      for (const p of processes) await stopChild(p);
    });
    const main = spawnRtws({ ...env, RTWS_ROLES: 'api,publisher' });
    processes.push(main);
    const url = await apiUrlOf(main, 60_000);
    for (let i = 0; i < run.workers; i++)
      processes.push(spawnRtws({ ...env, RTWS_ROLES: 'worker' }));
    await allPartitionsHeld(url, run.workers);
    const calls = watchStripeCalls(emulator.url);
    closers.push(() => calls.stop());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    closers.push(async () => agent.destroy());
    const create = createVia(url, agent);

    const groups: CpuGroups = {
      rtws: processes.map((p) => p.child.pid!),
      nats: cluster.nodes.map((n) => n.pid()).filter((p): p is number => p !== undefined),
      'stripe emulator': [emulator.child.pid!],
    };
    const before = sampleCpu(groups);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < customers) {
          next++;
          await create(`Scale ${next}`);
        }
      }),
    );
    await calls.waitForDone(customers, 60_000);
    const seconds = (performance.now() - started) / 1000;
    const after = sampleCpu(groups);

    // Paced: each create's answer, then its call's, on the same machine's clock.
    await sleep(timing.warmupMs);
    const answered = new Map<string, number>();
    const until = Date.now() + timing.measureMs;
    const pending: Promise<void>[] = [];
    for (let i = 0; Date.now() < until; i++) {
      pending.push(create(`Paced ${i}`).then((id) => void answered.set(id, Date.now())));
      await sleep(1000 / PACED_PER_SECOND);
    }
    await Promise.all(pending);
    await calls.waitForDone(customers + answered.size, 60_000);
    const latencies = [...answered]
      .map(([id, at]) => calls.doneAt.get(changeKey(id, 1))! - at)
      .sort((a, b) => a - b);
    return {
      label,
      perSecond: customers / seconds,
      rtwsCpuPer1000: (groupDelta(before, after, 'rtws') / customers) * 1000,
      natsCpuPer1000: (groupDelta(before, after, 'nats') / customers) * 1000,
      p99: Math.max(0, percentile(latencies, 99)),
      p50: Math.max(0, percentile(latencies, 50)),
      n: latencies.length,
      cpu: cpuSplit(before, after).text,
    };
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
  }
}

async function allPartitionsHeld(url: string, workers: number): Promise<void> {
  const body = await eventually(
    async () => {
      const res = await fetch(new URL('/workers', url), { headers: authHeaders() });
      return (await res.json()) as { data: { partitions: unknown[] }[]; unowned: number[] };
    },
    (b) =>
      b.unowned.length === 0 && b.data.filter((w) => w.partitions.length > 0).length === workers,
    60_000,
    250,
  );
  if (body.unowned.length > 0) throw new Error(`the workers did not take every partition`);
}

function createVia(url: string, agent: http.Agent): (name: string) => Promise<string> {
  const target = new URL('/customers', url);
  return (name) =>
    new Promise((resolve, reject) => {
      const req = http.request(target, { method: 'POST', agent, headers: authHeaders() }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          if (res.statusCode !== 201)
            reject(new Error(`POST /customers: ${res.statusCode} ${body}`));
          else resolve((JSON.parse(body) as { id: string }).id);
        });
      });
      req.on('error', reject);
      req.end(JSON.stringify({ name }));
    });
}
