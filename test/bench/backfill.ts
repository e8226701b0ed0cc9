// `npm run bench -- backfill`: an import of N Stripe customers (RTWS_BENCH_BACKFILL_CUSTOMERS,
// default 10,000) that the account held before rtws started, into a catalogue that is empty or
// holds RTWS_BENCH_BACKFILL_CATALOGUE customers of its own, with the Stripe pace raised
// (RTWS_BENCH_STRIPE_RATE / _CONCURRENCY, default 2,000/s and 32), against the stack of
// backfill-stack.ts. The import is started with POST /backfills {"source":"stripe"} and followed
// through GET /backfills/:id until the walk is done and every customer has its row in Postgres
// (origin `stripe`); with RTWS_BENCH_BACKFILL_WRITE_BACK=1 (`write_back`), also until every
// write-back of `metadata.rtws_id` is answered by Stripe. It starts
// once the worker has held its partitions for TAKEOVER_GRACE_MS, so that the steady state is
// measured rather than the checks a takeover makes before each push.
//
// Reported: customers per second for the walk (scanned) and for the import done; Stripe calls per
// 1,000 customers (list pages, write-backs, anything else) from the emulator's request log; actor
// steps per customer; rtws CPU per 1,000 customers with the other processes' split, and how much
// of the import rtws's event loop ran or waited for a core; and commit -> Stripe call done of live
// API edits made meanwhile at 20/s (RTWS_BENCH_BACKFILL_LIVE_RATE). Baselines, in the same run: the
// emulator alone walking the same list pages and taking metadata updates with as many in flight as
// rtws may have (before rtws starts), and the same live edits with no import running.
import { TAKEOVER_GRACE_MS } from '../../actors/runtime/intent-scheduler.ts';
import { streamCount, type BenchResult } from './capture.ts';
import { stackCpuGroups, webhookCounts } from './pipeline-stack.ts';
import {
  cpuSplit,
  groupDelta,
  memoryOf,
  phaseProfiler,
  sampleCpu,
  sleep,
  type Timing,
} from './report.ts';
import { requestFeed, type RequestFeed } from './request-feed.ts';
import {
  api,
  loopDelay,
  messages,
  minus,
  schedstat,
  storedRows,
  type View,
} from './backfill-probe.ts';
import { callTally, type CallTally } from './backfill-calls.ts';
import { figures } from './backfill-figures.ts';
import { liveLatency, startLiveEdits, waitForCalls, type LiveWrite } from './backfill-live.ts';
import {
  BACKFILL_LABEL,
  LIVE_PER_SECOND,
  WRITE_BACK,
  startBackfillStack,
  type BackfillStack,
} from './backfill-stack.ts';

/** A wait fails after this long without progress. */
const STALL_MS = 60_000;
const IDLE_MS = 2_000;

/** Until the walk is done, every row is in and every write-back asked for answered; the last view. */
async function untilImported(s: BackfillStack, tally: CallTally, id: number, customers: number) {
  let progress = -1;
  let progressAt = Date.now();
  // How far the rows trail the walk's inserts, and the write-backs the rows, at most.
  const behind = { rows: 0, writeBacks: 0 };
  for (;;) {
    const view = await api<View>(s.target, 'GET', `/backfills/${id}`);
    if (view.state === 'failed' || view.state === 'cancelled')
      throw new Error(`backfill ${id} ${view.state}: ${view.last_error}`);
    const rows = await storedRows(s);
    const writeBacks = tally.writeBacks.size;
    behind.rows = Math.max(behind.rows, (view.counts.insert ?? 0) - rows.n);
    behind.writeBacks = Math.max(behind.writeBacks, rows.n - writeBacks);
    if (view.state === 'done' && rows.n >= customers && (!WRITE_BACK || writeBacks >= customers))
      return { view, rows, behind };
    const now = view.scanned + rows.n + writeBacks;
    if (now > progress) [progress, progressAt] = [now, Date.now()];
    else if (Date.now() - progressAt > STALL_MS)
      throw new Error(
        `import stalled for ${STALL_MS} ms: backfill ${view.state}, scanned ${view.scanned}, ${rows.n} of ${customers} rows, ${writeBacks} write-backs`,
      );
    await sleep(100);
  }
}

const within = (writes: readonly LiveWrite[], from: number, to: number) =>
  writes.filter((w) => w.sentAt >= from && w.sentAt <= to);

/** Every write at Stripe and its webhook delivered and stored, then a moment for its steps. */
async function settled(s: BackfillStack, tally: CallTally, writes: readonly LiveWrite[]) {
  await waitForCalls(writes, tally.doneAt, STALL_MS);
  for (const end = Date.now() + STALL_MS; Date.now() < end; await sleep(100))
    if ((await webhookCounts(s.emulator.url)).pending === 0) break;
  await sleep(500);
}

/** What the processes use with nothing to do. */
async function idleCpu(s: BackfillStack): Promise<string> {
  const groups = await stackCpuGroups(s);
  const cpu0 = sampleCpu(groups);
  await sleep(IDLE_MS);
  return cpuSplit(cpu0, sampleCpu(groups)).text;
}

/** The live edits alone: the latency they have when nothing else runs. */
export type QuietRun = Awaited<ReturnType<typeof quietEdits>>;
export type ImportRun = Awaited<ReturnType<typeof importRun>>;

async function quietEdits(s: BackfillStack, tally: CallTally, timing: Timing) {
  const stream = s.env.names.streams.changes;
  const groups = await stackCpuGroups(s);
  const s0 = await streamCount(s.o.nats, stream);
  const m0 = await messages(s);
  const profile = phaseProfiler(timing, BACKFILL_LABEL, s.rtws.child.pid);
  const edits = startLiveEdits(s.target, s.live, LIVE_PER_SECOND);
  let stopped = false;
  try {
    await sleep(timing.warmupMs);
    profile.start();
    const [cpu0, from] = [sampleCpu(groups), Date.now()];
    await sleep(timing.measureMs);
    const [cpu1, to] = [sampleCpu(groups), Date.now()];
    await profile.stop('live edits');
    const { writes, errors } = await edits.stop();
    stopped = true;
    const measured = within(writes, from, to);
    await settled(s, tally, writes);
    const s1 = await streamCount(s.o.nats, stream);
    const latency = await liveLatency(s.o.nats, stream, [s0 + 1, s1], measured, tally.doneAt);
    const rtwsCores = groupDelta(cpu0, cpu1, 'rtws') / ((to - from) / 1000);
    const m = minus(await messages(s), m0);
    const n = Math.max(1, writes.length);
    const perEdit = { changes: m.changes / n, inbound: m.inbound / n, snapshots: m.snapshots / n };
    return { latency, errors, rtwsCores, perEdit, cpu: cpuSplit(cpu0, cpu1).text };
  } finally {
    if (!stopped) await edits.stop();
  }
}

async function importRun(
  s: BackfillStack,
  tally: CallTally,
  feed: RequestFeed,
  timing: Timing,
  customers: number,
) {
  const stream = s.env.names.streams.changes;
  const groups = await stackCpuGroups(s);
  const profile = phaseProfiler(timing, BACKFILL_LABEL, s.rtws.child.pid);
  const s0 = await streamCount(s.o.nats, stream);
  const m0 = await messages(s);
  const hooks0 = await webhookCounts(s.emulator.url);
  const pid = s.rtws.child.pid!;
  await loopDelay(s.target);
  const edits = startLiveEdits(s.target, s.live, LIVE_PER_SECOND);
  let stopped = false;
  try {
    profile.start();
    const cpu0 = sampleCpu(groups);
    const sched0 = schedstat(pid);
    const t0 = Date.now();
    const started = await api<View>(s.target, 'POST', '/backfills', {
      source: 'stripe',
      ...(WRITE_BACK ? { write_back: true } : {}),
    });
    const { view, rows, behind } = await untilImported(s, tally, started.id, customers);
    const cpu1 = sampleCpu(groups);
    const sched1 = schedstat(pid);
    const t1 = Date.now();
    const delay = await loopDelay(s.target);
    await profile.stop('import');
    const { writes, errors } = await edits.stop();
    stopped = true;
    await feed.flush();
    const startedAt = Date.parse(view.started_at);
    const walkEnd = Date.parse(view.ended_at ?? view.started_at);
    const writeBacksEnd = Math.max(0, ...tally.writeBacks.values());
    const doneAt = Math.max(rows.lastAt, writeBacksEnd);
    const measured = within(writes, t0, doneAt);
    await settled(s, tally, writes);
    const s1 = await streamCount(s.o.nats, stream);
    const m = minus(await messages(s), m0);
    const hooks1 = await webhookCounts(s.emulator.url);
    const seconds = (t1 - t0) / 1000;
    const per1000 = (group: string) => (groupDelta(cpu0, cpu1, group) / customers) * 1000;
    return {
      view,
      walk: { seconds: (walkEnd - startedAt) / 1000 },
      done: {
        seconds: (doneAt - startedAt) / 1000,
        rowsAt: (rows.lastAt - startedAt) / 1000,
        writeBacksAt: (writeBacksEnd - startedAt) / 1000,
      },
      behind,
      calls: tally.between(t0, doneAt),
      webhooks: hooks1.delivered - hooks0.delivered,
      live: await liveLatency(s.o.nats, stream, [s0 + 1, s1], measured, tally.doneAt),
      liveErrors: errors,
      liveSent: measured.length,
      liveAll: writes.length,
      messages: m,
      seconds,
      rtwsCpu: groupDelta(cpu0, cpu1, 'rtws'),
      loop: {
        busy: (sched1.cpu - sched0.cpu) / 1e9 / seconds,
        waited: (sched1.waited - sched0.waited) / 1e9 / seconds,
        delay,
      },
      othersPer1000: Object.keys(groups)
        .filter((g) => g !== 'rtws' && g !== 'bench' && g !== 'pg other')
        .map((g) => `${g} ${per1000(g).toFixed(2)}`)
        .join(', '),
      rss: memoryOf(s.rtws.child.pid!),
      cpu: cpuSplit(cpu0, cpu1).text,
      overruns: feed.overruns,
    };
  } finally {
    if (!stopped) await edits.stop();
  }
}

export async function benchBackfill(timing: Timing, customers: number): Promise<BenchResult> {
  const s = await startBackfillStack(timing, customers);
  const tally = callTally(s.seeded);
  const feed = requestFeed(s.emulator.url, (r) => tally.take(r));
  try {
    console.log(
      `\n## Backfill configuration\n\n${s.configuration.map((c) => `- ${c}`).join('\n')}`,
    );
    const idle = await idleCpu(s);
    const quiet = await quietEdits(s, tally, timing);
    await sleep(s.heldBy + TAKEOVER_GRACE_MS + 500 - Date.now());
    const run = await importRun(s, tally, feed, timing, customers);
    return {
      figures: figures(s, customers, quiet, run),
      cpu: [
        `backfill, nothing to do (${IDLE_MS / 1000} s): ${idle}`,
        `backfill, live edits alone (${LIVE_PER_SECOND}/s): ${quiet.cpu}`,
        `backfill import with live edits: ${run.cpu}`,
      ],
    };
  } finally {
    await feed.stop();
    await s.close();
  }
}
