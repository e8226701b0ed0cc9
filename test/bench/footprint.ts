// `npm run bench -- footprint`: what a change leaves behind, for sizing (docs/scaling.md). Against
// the pipeline's stack (pipeline-stack.ts: rtws with every role, the Stripe emulator posting the
// webhook echo of every write), N customers (RTWS_BENCH_FOOTPRINT_CUSTOMERS, default 1,000) with
// every synced field filled are created through the API, then updated through the API twice each,
// then a quarter of them are edited in Stripe (the SDK with no rtws key, as a dashboard does). After
// each phase, once everything it caused is done, the bench reads each stream and KV bucket of the
// namespace and each table of the database, and reports per change: the bytes stored in the
// streams and the messages by kind, the KV writes, the Postgres growth and the CPU of each process.
// At the end: the bytes of an actor's snapshot, Postgres per customer and the rows it wrote per
// change, the store folders against the bytes JetStream counts, the JetStream assets (streams,
// buckets, durable consumers) a deployment holds, the cores it uses idle for 10 s, and Postgres
// per row with the bench's rows copied to 100,000 (footprint-pg.ts).
// RTWS_BENCH_FOOTPRINT_REPLICAS=3 runs it on a private three-node cluster with RTWS_REPLICAS=3.
// The measured phases start once the worker has held its partitions for TAKEOVER_GRACE_MS, so
// that no push waits for a retrieve.
import Stripe from 'stripe';
import { TAKEOVER_GRACE_MS } from '../../actors/runtime/intent-scheduler.ts';
import { writeCustomer } from './api.ts';
import { outboxRows, type BenchResult } from './capture.ts';
import {
  PIPELINE_LIVE_KEY,
  stackCpuGroups,
  startStack,
  webhookCounts,
  type Stack,
} from './pipeline-stack.ts';
import { cpuSplit, groupDelta, sampleCpu, sleep, type CpuSample, type Timing } from './report.ts';
import {
  durableCounts,
  readPgActivity,
  readSizes,
  tallyKinds,
  type Sizes,
} from './footprint-sizes.ts';
import { footprintFigures, type Phase } from './footprint-figures.ts';
import { footprintNats } from './footprint-nats.ts';
import { postgresAtScale } from './footprint-pg.ts';

const CLIENTS = 16;
/** Writes answered but not yet at Stripe, at most, as in the pipeline's bulk load. */
const BACKLOG = 500;
const UPDATE_ROUNDS = 2;
/** A wait fails after this long without progress. */
const STALL_MS = 60_000;
/** Nothing moved in the stores for this long: the phase's work is done. */
const QUIET_MS = 2_000;
/** Rows each table is copied to for its size per row at scale (footprint-pg.ts). */
const SCALE_ROWS = 100_000;
/** The idle reading at the end. */
const IDLE_MS = 10_000;
/** Renewed on a timer, not per change; left out of the quiet check. */
const TIMED_BUCKETS = ['KV LEASES'];

/** A customer with every synced field filled, about what a real catalogue holds. */
function fullCustomer(n: number) {
  return {
    name: `Footprint Customer ${n}`,
    email: `footprint.customer.${n}@example.com`,
    phone: `+4420794600${String(n % 100).padStart(2, '0')}`,
    address: {
      line1: `${n} Example Street`,
      line2: 'Floor 2',
      city: 'London',
      state: null,
      postal_code: 'EC1A 1BB',
      country: 'GB',
    },
    metadata: { plan: 'pro', region: 'eu-west', account_manager: 'a.smith' },
  };
}

const UPDATES = [
  (n: number) => ({ name: `Footprint Customer ${n} Ltd` }),
  (n: number) => ({
    phone: `+4420794601${String(n % 100).padStart(2, '0')}`,
    metadata: { plan: 'enterprise' },
  }),
];

interface Context {
  s: Stack;
  storeDirs: readonly string[];
  groups: Awaited<ReturnType<typeof stackCpuGroups>>;
}

const sizesOf = (c: Context) => readSizes(c.s.o.nats, c.s.o.sql, c.s.env.namespace, c.storeDirs);

/** Waits until the emulator has no webhook left to deliver and the stores stop moving. */
async function quiet(c: Context): Promise<void> {
  let last = '';
  let since = Date.now();
  for (;;) {
    const [hooks, outbox, sizes] = await Promise.all([
      webhookCounts(c.s.emulator.url),
      outboxRows(c.s.o.sql),
      readSizes(c.s.o.nats, c.s.o.sql, c.s.env.namespace, []),
    ]);
    const seqs = Object.entries(sizes.streams)
      .filter(([name]) => !TIMED_BUCKETS.includes(name))
      .map(([name, st]) => `${name}:${st.lastSeq}`);
    const now = JSON.stringify([hooks.delivered, hooks.pending, outbox, seqs]);
    if (now !== last) [last, since] = [now, Date.now()];
    else if (hooks.pending === 0 && outbox === 0 && Date.now() - since >= QUIET_MS) return;
    if (Date.now() - since > STALL_MS)
      throw new Error(`footprint: not quiet after ${STALL_MS} ms: ${now}`);
    await sleep(250);
  }
}

/** `count` writes by CLIENTS closed loops, never more than BACKLOG ahead of Stripe. */
async function writeAll(
  s: Stack,
  count: number,
  write: (i: number) => Promise<unknown>,
  awaitStripe = true,
) {
  const base = s.calls.done;
  let next = 0;
  let ok = 0;
  let errors = 0;
  let lastError: unknown;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < count) {
        while (awaitStripe && next - (s.calls.done - base) >= BACKLOG) await sleep(10);
        const i = next++;
        try {
          await write(i);
          ok++;
        } catch (err) {
          errors++;
          lastError = err;
        }
      }
    }),
  );
  if (ok === 0) throw new Error(`footprint: every write failed: ${String(lastError)}`);
  if (awaitStripe) await s.calls.waitForDone(base + ok, STALL_MS);
  return { ok, errors };
}

/** Runs one phase and reads what it left behind once it is done. */
async function phase(
  c: Context,
  name: string,
  run: () => Promise<{ ok: number; errors: number }>,
): Promise<Phase> {
  const from = await sizesOf(c);
  const cpu0: CpuSample = sampleCpu(c.groups);
  const started = performance.now();
  const { ok, errors } = await run();
  await quiet(c);
  const cpu1 = sampleCpu(c.groups);
  const to = await sizesOf(c);
  const kinds = async (stream: string, short: string) =>
    tallyKinds(
      c.s.o.nats,
      stream,
      (from.streams[short]?.lastSeq ?? 0) + 1,
      to.streams[short]?.lastSeq ?? 0,
    );
  const cpuPer1000: Record<string, number> = {};
  for (const g of Object.keys(c.groups)) cpuPer1000[g] = (groupDelta(cpu0, cpu1, g) / ok) * 1000;
  return {
    name,
    changes: ok,
    errors,
    seconds: (performance.now() - started) / 1000,
    from,
    to,
    changesByKind: await kinds(c.s.env.names.streams.changes, 'CHANGES'),
    inboundByKind: await kinds(c.s.env.names.streams.inbound, 'INBOUND'),
    cpuPer1000,
    cpuText: cpuSplit(cpu0, cpu1).text,
  };
}

async function appliedFromStripe(s: Stack): Promise<number> {
  const [r] = await s.o.sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM inbox WHERE source = 'stripe'`;
  return r!.n;
}

async function stripeIds(s: Stack, ids: string[], n: number): Promise<string[]> {
  const rows = await s.o.sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links
    WHERE target = 'stripe' AND customer_id = ANY(${s.o.sql.array(ids.slice(0, n))}::uuid[])`;
  return rows.map((r) => r.external_id);
}

/** Dashboard edits: one per Stripe customer, through the SDK with no rtws idempotency key. */
async function editInStripe(s: Stack, stripe: Stripe, targets: string[]) {
  const base = await appliedFromStripe(s);
  const done = await writeAll(
    s,
    targets.length,
    (i) => stripe.customers.update(targets[i]!, { name: `Edited in Stripe ${i}` }),
    false,
  );
  let seen = base;
  let progressAt = Date.now();
  while (seen < base + done.ok) {
    if (Date.now() - progressAt > STALL_MS)
      throw new Error(`footprint: ${seen - base} of ${done.ok} Stripe edits applied, stalled`);
    await sleep(100);
    const now = await appliedFromStripe(s);
    if (now > seen) [seen, progressAt] = [now, Date.now()];
  }
  return done;
}

function sdk(emulatorUrl: string): Stripe {
  const base = new URL(emulatorUrl);
  return new Stripe(PIPELINE_LIVE_KEY, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
  });
}

/** Cores each process group keeps busy with nothing to do: leases, polls, heartbeats. */
async function idleCores(c: Context): Promise<Record<string, number>> {
  const before = sampleCpu(c.groups);
  await sleep(IDLE_MS);
  const after = sampleCpu(c.groups);
  const seconds = (after.at - before.at) / 1000;
  return Object.fromEntries(
    Object.keys(c.groups).map((g) => [g, groupDelta(before, after, g) / seconds]),
  );
}

/** The phases, once the worker has held its partitions for the grace; the reading before them. */
async function run(c: Context, customers: number, readyAt: number) {
  const { s } = c;
  await sleep(readyAt + TAKEOVER_GRACE_MS - Date.now());
  await quiet(c);
  const start: Sizes = await sizesOf(c);
  const pgFrom = await readPgActivity(s.o.sql);
  const ids: string[] = [];
  const phases: Phase[] = [];
  phases.push(
    await phase(c, 'create', () =>
      writeAll(s, customers, async (i) => {
        ids.push((await writeCustomer(s.target, 'POST', '/customers', fullCustomer(i))).id);
      }),
    ),
  );
  for (const [round, body] of UPDATES.slice(0, UPDATE_ROUNDS).entries()) {
    phases.push(
      await phase(c, `update ${round + 1}`, () =>
        writeAll(s, ids.length, (i) =>
          writeCustomer(s.target, 'PATCH', `/customers/${ids[i]}`, body(i)),
        ),
      ),
    );
  }
  const targets = await stripeIds(s, ids, Math.max(1, Math.floor(ids.length / 4)));
  const stripe = sdk(s.emulator.url);
  phases.push(await phase(c, 'Stripe edit', () => editInStripe(s, stripe, targets)));
  // The idle reading also gives the backends time to report their counters.
  const idle = await idleCores(c);
  const pg = { from: pgFrom, to: await readPgActivity(s.o.sql) };
  const atScale = await postgresAtScale(s.o.sql, SCALE_ROWS);
  return { start, phases, customers: ids.length, idle, pg, atScale };
}

export async function benchFootprint(
  timing: Timing,
  customers: number,
  replicas: 1 | 3,
): Promise<BenchResult> {
  const nats = await footprintNats(replicas);
  try {
    const s = await startStack(timing, customers, {
      sizeVariable: 'RTWS_BENCH_FOOTPRINT_CUSTOMERS',
      ...(nats.natsUrl ? { natsUrl: nats.natsUrl } : {}),
      env: nats.env,
    });
    const readyAt = Date.now();
    try {
      const lines = [
        ...s.configuration,
        replicas === 1
          ? 'JetStream: the shared server, R1'
          : `JetStream: a private three-node cluster (nats-server pids ${nats.pids()?.join(', ')}), R3`,
        `store folders read: ${nats.storeDirs.join(', ') || 'none (not readable here)'}`,
      ];
      console.log(`\n## Footprint configuration\n\n${lines.map((l) => `- ${l}`).join('\n')}`);
      const groups = await stackCpuGroups(s);
      const pids = nats.pids();
      if (pids) groups.nats = pids;
      const c: Context = { s, storeDirs: nats.storeDirs, groups };
      const result = await run(c, customers, readyAt);
      return footprintFigures({
        ...result,
        replicas,
        consumers: await durableCounts(s.o.nats, s.env.namespace),
        storeDirs: nats.storeDirs,
      });
    } finally {
      await s.close();
    }
  } finally {
    await nats.stop();
  }
}
