// `npm run bench [-- capture api stripe-emulator pipeline inbound target-writes salesforce-inbound
// backfill reconcile scale footprint]`: the capture, API, emulator, end-to-end pipeline, inbound
// (Stripe's and Salesforce's edits; Postgres's share of a dashboard edit's write), Stripe import,
// reconciliation and scale-out (worker processes on a
// three-node cluster) benchmarks, each figure printed next to a baseline taken in the same run,
// with the machine and the CPU split; and the footprint of a change in the streams, KV and Postgres, for sizing (docs/scaling.md).
// RTWS_BENCH_SECONDS sets the length of each measured phase (default 6; a warm-up precedes it);
// RTWS_BENCH_PIPELINE_CUSTOMERS the pipeline's bulk load (default 100,000);
// RTWS_BENCH_PROCESSES=two runs the worker of the pipeline and inbound benches in a process of its own (default one);
// RTWS_BENCH_BARE_SECONDS each phase of the bare pipeline, the pipeline's limit (default 20);
// RTWS_BENCH_SF_EDITS the Salesforce person edits measured per phase (default 40);
// RTWS_BENCH_TARGET_WRITES_CUSTOMERS the rows the target writes cycle through (default 2,000);
// RTWS_BENCH_BACKFILL_CUSTOMERS the Stripe customers the import brings in (default 10,000),
// RTWS_BENCH_BACKFILL_CATALOGUE the customers the catalogue holds before it (default 0), and
// RTWS_BENCH_BACKFILL_WRITE_BACK=1 has it write rtws_id onto each at once;
// RTWS_BENCH_RECONCILE_CUSTOMERS the linked customers a reconciliation compares (default 10,000);
// RTWS_BENCH_SCALE_CUSTOMERS the creates of each scale-out run (default 2,000);
// RTWS_BENCH_FOOTPRINT_CUSTOMERS the customers the footprint creates and updates (default 1,000),
// RTWS_BENCH_FOOTPRINT_REPLICAS=3 measures it on a private three-node cluster (default 1, the shared server);
// RTWS_BENCH_STRIPE_RATE / _CONCURRENCY rtws's Stripe pace in the pipeline and the import (default
// 2,000/s, 32); RTWS_BENCH_PROFILE=<dir> makes the rtws children write CPU profiles there and
// prints a summary.
import { existsSync, mkdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import { sharedServices } from '../harness/services.ts';
import { benchCapture, type BenchResult } from './capture.ts';
import { benchApi } from './api.ts';
import { benchPipeline } from './pipeline.ts';
import { benchBarePipeline, type BareFigures } from './bare-pipeline.ts';
import { benchInbound } from './inbound.ts';
import { benchTargetWrites } from './target-writes.ts';
import { benchSalesforceInbound } from './salesforce-inbound.ts';
import { benchBackfill } from './backfill.ts';
import { benchReconcile } from './reconcile.ts';
import { benchScale } from './scale.ts';
import { benchFootprint } from './footprint.ts';
import {
  machine,
  profileFiles,
  summariseProfile,
  table,
  type Figure,
  type Timing,
  type Versions,
} from './report.ts';

const BENCHES = [
  'capture',
  'api',
  'stripe-emulator',
  'bare-pipeline',
  'pipeline',
  'inbound',
  'target-writes',
  'salesforce-inbound',
  'backfill',
  'reconcile',
  'scale',
  'footprint',
] as const;
type Bench = (typeof BENCHES)[number];

class BenchUsageError extends Error {}

function timingFrom(raw: string | undefined, profileDir: string | undefined): Timing {
  const seconds = raw === undefined || raw === '' ? 6 : Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 120) {
    throw new BenchUsageError(
      `RTWS_BENCH_SECONDS must be a number of seconds in (0, 120], got ${JSON.stringify(raw)}`,
    );
  }
  const timing: Timing = {
    warmupMs: Math.min(2_000, (seconds * 1_000) / 3),
    measureMs: seconds * 1_000,
  };
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    timing.profileDir = resolve(profileDir);
  }
  return timing;
}

function customersFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 100 || n > 1_000_000) {
    throw new BenchUsageError(
      `${name} must be a whole number in [100, 1000000], got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

function replicasFrom(raw: string | undefined): 1 | 3 {
  if (raw === undefined || raw === '' || raw === '1') return 1;
  if (raw === '3') return 3;
  throw new BenchUsageError(
    `RTWS_BENCH_FOOTPRINT_REPLICAS must be 1 or 3, got ${JSON.stringify(raw)}`,
  );
}

function selected(args: readonly string[]): Bench[] {
  const unknown = args.filter((a) => !(BENCHES as readonly string[]).includes(a));
  if (unknown.length)
    throw new BenchUsageError(
      `unknown bench ${unknown.join(', ')}; choose from ${BENCHES.join(', ')}`,
    );
  const chosen = args.length ? (args as Bench[]) : [...BENCHES];
  // The pipeline is measured against the bare pipeline, which runs first.
  return chosen.includes('pipeline') && !chosen.includes('bare-pipeline')
    ? ['bare-pipeline', ...chosen]
    : chosen;
}

async function versions(): Promise<Versions> {
  const { postgresAdminUrl, natsUrl } = await sharedServices();
  const sql = connectPostgres(postgresAdminUrl, { max: 1, applicationName: 'rtws-bench' });
  const nc = await connectNats({ servers: [natsUrl], name: 'rtws-bench' });
  try {
    const [pg] = await sql<{ v: string }[]>`SELECT current_setting('server_version') AS v`;
    await jetstreamManager(nc); // fails early when JetStream is off
    return { postgres: pg?.v ?? 'unknown', nats: nc.info?.version ?? 'unknown' };
  } finally {
    await nc.close();
    await sql.end();
  }
}

type EmulatorBench = () => Promise<{ name: string; value: number; unit: string; note?: string }[]>;

/** The Stripe emulator's own benchmark lives in its own file, which may not be there. */
async function benchStripeEmulator(): Promise<BenchResult> {
  const file = new URL('./stripe-emulator.ts', import.meta.url);
  if (!existsSync(file))
    return { figures: [], cpu: ['stripe-emulator: no benchmark file, skipped'] };
  const mod = (await import(file.href)) as { benchStripeEmulator?: EmulatorBench };
  if (!mod.benchStripeEmulator)
    return { figures: [], cpu: ['stripe-emulator: no benchStripeEmulator export, skipped'] };
  const rows = await mod.benchStripeEmulator();
  return {
    figures: rows.map((r): Figure => ({
      ...r,
      name: /^stripe/i.test(r.name) ? r.name : `stripe emulator: ${r.name}`,
    })),
    cpu: [],
  };
}

function printProfiles(dir: string): void {
  for (const file of profileFiles(dir)) {
    console.log(
      `\n## CPU profile ${basename(file)}\n\n${summariseProfile(file)
        .map((l) => `    ${l}`)
        .join('\n')}`,
    );
  }
}

function runners(
  customers: number,
  imported: number,
  reconciled: number,
  scaled: number,
  footprint: { customers: number; replicas: 1 | 3 },
  targetWrites: number,
): Record<Bench, (timing: Timing) => Promise<BenchResult>> {
  let bare: BareFigures | undefined;
  return {
    capture: benchCapture,
    api: benchApi,
    'stripe-emulator': () => benchStripeEmulator(),
    'bare-pipeline': async () => {
      const r = await benchBarePipeline();
      bare = r.bare;
      return r.result;
    },
    // The pipeline's figures are printed as multiples of the bare pipeline's from this run.
    pipeline: (timing) => benchPipeline(timing, customers, bare),
    inbound: benchInbound,
    'target-writes': (timing) => benchTargetWrites(timing, targetWrites),
    'salesforce-inbound': benchSalesforceInbound,
    backfill: (timing) => benchBackfill(timing, imported),
    reconcile: () => benchReconcile(reconciled),
    scale: (timing) => benchScale(timing, scaled),
    footprint: (timing) => benchFootprint(timing, footprint.customers, footprint.replicas),
  };
}

async function main(): Promise<void> {
  const timing = timingFrom(process.env.RTWS_BENCH_SECONDS, process.env.RTWS_BENCH_PROFILE);
  const benches = selected(process.argv.slice(2));
  const run = runners(
    customersFrom('RTWS_BENCH_PIPELINE_CUSTOMERS', 100_000),
    customersFrom('RTWS_BENCH_BACKFILL_CUSTOMERS', 10_000),
    customersFrom('RTWS_BENCH_RECONCILE_CUSTOMERS', 10_000),
    customersFrom('RTWS_BENCH_SCALE_CUSTOMERS', 2_000),
    {
      customers: customersFrom('RTWS_BENCH_FOOTPRINT_CUSTOMERS', 1_000),
      replicas: replicasFrom(process.env.RTWS_BENCH_FOOTPRINT_REPLICAS),
    },
    customersFrom('RTWS_BENCH_TARGET_WRITES_CUSTOMERS', 2_000),
  );
  const started = performance.now();
  const header = `## Machine\n${machine(await versions())}\n- phases: ${timing.warmupMs / 1000} s warm-up, ${timing.measureMs / 1000} s measured`;
  console.log(header);
  const figures: Figure[] = [];
  const cpu: string[] = [];
  for (const b of benches) {
    console.error(`bench: ${b}...`);
    const r = await run[b](timing);
    figures.push(...r.figures);
    cpu.push(...r.cpu);
    console.log(`\n${table(r.figures)}`);
  }
  console.log(`\n## Results\n\n${table(figures)}`);
  console.log(`\n## Where the CPU went (cores)\n\n${cpu.map((c) => `- ${c}`).join('\n')}`);
  if (timing.profileDir) printProfiles(timing.profileDir);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

try {
  await main();
  // Pools of the shared harness may keep the loop alive; everything this run started is closed.
  process.exit(0);
} catch (err) {
  console.error(err instanceof BenchUsageError ? `bench: ${err.message}` : err);
  process.exit(1);
}
