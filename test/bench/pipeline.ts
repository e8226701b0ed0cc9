// The end-to-end pipeline: API write -> Postgres -> outbox -> JetStream -> customer actor -> Stripe
// call done, against the stack of pipeline-stack.ts. Phases: a bulk load of N customers with a
// bounded backlog (sustained throughput, CPU per change, RSS after the first 10,000 and after N);
// 16 API clients flat out (the capture rate the throughput is held against); then open loops of
// creates and patches at half the sustained rate, at the sustained rate and at 500 changes/s;
// last, the RSS once the idle actors have been passivated.
import type { BareFigures } from './bare-pipeline.ts';
import { readLanded, streamCount, type BenchResult } from './capture.ts';
import { createCustomer, startClients, writeCustomer } from './api.ts';
import { changeKey } from './stripe-calls.ts';
import {
  PIPELINE_LABEL,
  PIPELINE_WORKER_LABEL,
  natsMessages,
  processesFromEnv,
  rtwsMemory,
  stackCpuGroups,
  startStack,
  webhookCounts,
  type RtwsMemory,
  type Stack,
} from './pipeline-stack.ts';
import {
  cpuSplit,
  groupDelta,
  phaseProfiler,
  sampleCpu,
  sleep,
  spread,
  type CpuGroups,
  type CpuSample,
  type Figure,
  type MemoryAfterGc,
  type Spread,
  type Timing,
} from './report.ts';

const CLIENTS = 16;
const PACED_PER_SECOND = 500;
/** The bulk load keeps at most this many creates answered but not yet at Stripe. */
const BACKLOG = 500;
const CHECKPOINT = 10_000;
/** A wait for the pipeline to drain fails after this long without one call done. */
const STALL_MS = 60_000;
/** How long a paced phase waits for the webhook echoes of the phases before it to be delivered. */
const ECHO_DRAIN_MS = 120_000;
/** The worker evicts actors idle for 60 s, looking every 30 s (start-worker.ts defaults). */
const PASSIVATED_MS = 95_000;

const MiB = 2 ** 20;

interface Window {
  cpu: CpuSample;
  at: number;
  done: number;
}

function mark(s: Stack, groups: CpuGroups): Window {
  return { cpu: sampleCpu(groups), at: performance.now(), done: s.calls.done };
}

/** CPU seconds the worker's own process used between two marks (0 with one process). */
function workerCpu(s: Stack, from: Window, to: Window): number {
  const pid = s.worker?.process.child.pid;
  if (pid === undefined) return 0;
  return (to.cpu.used.rtws?.get(pid) ?? 0) - (from.cpu.used.rtws?.get(pid) ?? 0);
}

/** With two processes: how much of rtws's CPU was the worker's. */
function workerShare(s: Stack, part: number, whole: number): string {
  return s.worker ? `, the worker's process ${((part / whole) * 100).toFixed(0)}% of it` : '';
}

/** Creates `total` customers, never more than BACKLOG ahead of Stripe; returns their ids. */
async function bulk(s: Stack, total: number, checkpoint: number) {
  const groups = await stackCpuGroups(s);
  const nats0 = await natsMessages(s);
  const base = s.calls.done;
  const ids: string[] = [];
  let issued = 0;
  let errors = 0;
  let from: Window | undefined;
  let atCheckpoint: Promise<RtwsMemory> | undefined;
  let gcAtCheckpoint: Promise<MemoryAfterGc> | undefined;
  const watch = setInterval(() => {
    const synced = s.calls.done - base;
    if (!from && synced >= total / 10) from = mark(s, groups); // the first tenth warms up
    if (!atCheckpoint && synced >= checkpoint) {
      atCheckpoint = rtwsMemory(s);
      gcAtCheckpoint = atCheckpoint.then(() => s.memoryAfterGc());
    }
  }, 100);
  try {
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (issued < total) {
          while (issued - (s.calls.done - base) >= BACKLOG) await sleep(10);
          const n = issued++;
          try {
            ids.push(await createCustomer(s.target, n));
          } catch {
            errors++;
          }
        }
      }),
    );
    await s.calls.waitForDone(base + ids.length, STALL_MS);
  } finally {
    clearInterval(watch);
  }
  const to = mark(s, groups);
  const nats1 = await natsMessages(s);
  const start = from ?? to;
  const synced = to.done - start.done;
  const all = Math.max(1, to.done - base);
  const seconds = (to.at - start.at) / 1000;
  return {
    ids,
    errors,
    rate: synced / seconds,
    window: { synced, seconds },
    cpuPer1000: (groupDelta(start.cpu, to.cpu, 'rtws') / synced) * 1000,
    workerCpuPer1000: (workerCpu(s, start, to) / synced) * 1000,
    natsPerChange: {
      sent: (nats1.sent - nats0.sent) / all,
      received: (nats1.received - nats0.received) / all,
    },
    cpu: cpuSplit(start.cpu, to.cpu),
    perThousand: Object.keys(groups)
      .filter((g) => g !== 'rtws' && g !== 'bench')
      .map((g) => `${g} ${((groupDelta(start.cpu, to.cpu, g) / synced) * 1000).toFixed(2)}`)
      .join(', '),
    atCheckpoint: await (atCheckpoint ?? rtwsMemory(s)),
    gcAtCheckpoint: await (gcAtCheckpoint ?? s.memoryAfterGc()),
    atEnd: await rtwsMemory(s),
    gcAtEnd: await s.memoryAfterGc(),
  };
}

/** 16 closed-loop clients through a warm-up and the measured window; then the backlog drains. */
async function flatOut(s: Stack, timing: Timing) {
  const groups = await stackCpuGroups(s);
  const base = s.calls.done;
  const load = startClients(s.target, CLIENTS);
  let stopped = false;
  try {
    await sleep(timing.warmupMs);
    const n0 = load.done.count;
    const w0 = mark(s, groups);
    await sleep(timing.measureMs);
    const n1 = load.done.count;
    const w1 = mark(s, groups);
    await load.stop();
    stopped = true;
    const backlog = base + load.done.count - s.calls.done;
    await s.calls.waitForDone(base + load.done.count, STALL_MS);
    const drained = mark(s, groups);
    const perSecond = (n: number) => (n * 1000) / timing.measureMs;
    return {
      capture: perSecond(n1 - n0),
      synced: perSecond(w1.done - w0.done),
      backlog,
      drain: (drained.done - w1.done) / ((drained.at - w1.at) / 1000),
      errors: load.done.errors,
      cpu: cpuSplit(w0.cpu, w1.cpu),
    };
  } finally {
    if (!stopped) await load.stop();
  }
}

interface Write {
  key: string;
  sentAt: number;
}

/**
 * Waits until the emulator has delivered the webhook echoes of the writes so far (8 at a time),
 * for at most ECHO_DRAIN_MS: the receiver shares rtws's event loop (and the worker's, in one
 * process), so a backlog left by an earlier phase would be measured as this one's latency.
 * Returns the echoes still pending, and the wait.
 */
async function echoesDrained(s: Stack): Promise<{ pending: number; waitedMs: number }> {
  const from = Date.now();
  for (;;) {
    const { pending } = await webhookCounts(s.emulator.url);
    if (pending === 0 || Date.now() - from >= ECHO_DRAIN_MS)
      return { pending, waitedMs: Date.now() - from };
    await sleep(200);
  }
}

/**
 * Open loop at `perSecond`: every other write patches a customer the bulk load synced (taken from
 * `patchable`), the rest create one; each change is one Stripe call. The phase starts once the
 * echoes of the phases before it are delivered. Latency counts the writes sent in the measured
 * window, once the pipeline has drained.
 */
async function paced(s: Stack, timing: Timing, perSecond: number, patchable: string[]) {
  const before = await echoesDrained(s);
  const stream = s.env.names.streams.changes;
  const groups = await stackCpuGroups(s);
  const profiles = [
    phaseProfiler(timing, PIPELINE_LABEL, s.rtws.child.pid),
    phaseProfiler(timing, PIPELINE_WORKER_LABEL, s.worker?.process.child.pid),
  ];
  const s0 = await streamCount(s.o.nats, stream);
  const base = s.calls.done;
  const measured: Write[] = [];
  const inflight = new Set<Promise<void>>();
  let ok = 0;
  let errors = 0;
  let answered = 0;
  let w0: Window | undefined;
  let nats0: { sent: number; received: number } | undefined;
  const start = Date.now();
  const measureFrom = start + timing.warmupMs;
  const end = measureFrom + timing.measureMs;
  let sent = 0;
  for (let now = Date.now(); now < end; now = Date.now()) {
    if (now >= measureFrom && !w0) {
      for (const p of profiles) p.start();
      w0 = mark(s, groups);
      nats0 = await natsMessages(s);
    }
    const due = Math.floor(((now - start) * perSecond) / 1000);
    for (; sent < due; sent++) {
      const at = Date.now();
      const id = sent % 2 === 1 ? patchable.pop() : undefined;
      const write = id
        ? writeCustomer(s.target, 'PATCH', `/customers/${id}`, { name: `Patched ${sent}` })
        : writeCustomer(s.target, 'POST', '/customers', { name: `Paced ${sent}` });
      const p = write.then(
        (r) => {
          ok++;
          const done = Date.now();
          if (done >= measureFrom && done < end) answered++;
          if (at >= measureFrom) measured.push({ key: changeKey(r.id, r.version), sentAt: at });
        },
        () => void errors++,
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await sleep(1);
  }
  const w1 = mark(s, groups);
  const nats1 = await natsMessages(s);
  const calls = Math.max(1, w1.done - (w0 ?? w1).done);
  for (const p of profiles) await p.stop(`paced ${Math.round(perSecond)} per s`);
  const echoesAfter = (await webhookCounts(s.emulator.url)).pending;
  await Promise.all(inflight);
  const backlog = base + ok - s.calls.done;
  await s.calls.waitForDone(base + ok, STALL_MS);
  const s1 = await streamCount(s.o.nats, stream);
  const landed = new Map(
    (await readLanded(s.o.nats, stream, s0 + 1, s1)).map((l) => [
      changeKey(l.customerId, l.version),
      l,
    ]),
  );
  const commitToDone: number[] = [];
  const commitToAck: number[] = [];
  const ackToDone: number[] = [];
  const requestToDone: number[] = [];
  for (const w of measured) {
    const done = s.calls.doneAt.get(w.key);
    const l = landed.get(w.key);
    if (done === undefined) continue;
    requestToDone.push(done - w.sentAt);
    if (l === undefined) continue;
    commitToDone.push(done - l.occurredAtMs);
    commitToAck.push(l.storedAtMs - l.occurredAtMs);
    ackToDone.push(done - l.storedAtMs);
  }
  return {
    perSecond,
    answered: (answered * 1000) / timing.measureMs,
    commit: spread(commitToDone),
    toAck: spread(commitToAck),
    fromAck: spread(ackToDone),
    request: spread(requestToDone),
    backlog,
    errors,
    echoes: { before, after: echoesAfter },
    cpu: cpuSplit((w0 ?? w1).cpu, w1.cpu),
    workerCores: workerCpu(s, w0 ?? w1, w1) / ((w1.at - (w0 ?? w1).at) / 1000 || 1),
    // Per Stripe call done in the measured window, webhook echoes included.
    natsPerCall: {
      sent: (nats1.sent - (nats0 ?? nats1).sent) / calls,
      received: (nats1.received - (nats0 ?? nats1).received) / calls,
    },
  };
}

const inside = (m: RtwsMemory) =>
  `V8 heap ${(m.heapUsed / MiB).toFixed(0)} MiB used of ${(m.heapTotal / MiB).toFixed(0)}, external ${(m.external / MiB).toFixed(0)} MiB, ${m.actors} actors held`;

const ms = (x: Spread) =>
  `p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms, max ${x.max.toFixed(0)} ms, n=${x.n}`;

export async function benchPipeline(
  timing: Timing,
  customers: number,
  bare?: BareFigures,
): Promise<BenchResult> {
  const checkpoint = Math.min(CHECKPOINT, Math.max(1, Math.floor(customers / 10)));
  const s = await startStack(timing, customers, { processes: processesFromEnv() });
  try {
    console.log(
      `\n## Pipeline configuration\n\n${s.configuration.map((c) => `- ${c}`).join('\n')}`,
    );
    const load = await bulk(s, customers, checkpoint);
    const burst = await flatOut(s, timing);
    const sustained = load.rate;
    const light = await paced(s, timing, Math.max(1, sustained / 2), load.ids);
    const full = await paced(s, timing, sustained, load.ids);
    const fast = await paced(s, timing, PACED_PER_SECOND, load.ids);
    const hooks = await webhookCounts(s.emulator.url);
    await sleep(PASSIVATED_MS);
    const idle = await rtwsMemory(s);
    const ratio = load.gcAtEnd.rss / load.gcAtCheckpoint.rss;
    const afterGc = (m: MemoryAfterGc) =>
      `V8 heap ${(m.heapUsed / MiB).toFixed(0)} MiB used of ${(m.heapTotal / MiB).toFixed(0)}, external ${(m.external / MiB).toFixed(0)} MiB`;
    const latency = (name: string, r: typeof light, target?: Figure['target']): Figure => ({
      name: `pipeline, paced ${Math.round(r.perSecond)}/s${name}: commit -> Stripe call done p99`,
      value: r.commit.p99,
      unit: 'ms',
      ...(target ? { target } : {}),
      note: `${ms(r.commit)}; of which commit -> PubAck p50 ${r.toAck.p50.toFixed(1)} / p99 ${r.toAck.p99.toFixed(1)} ms and PubAck -> call done p50 ${r.fromAck.p50.toFixed(1)} / p99 ${r.fromAck.p99.toFixed(1)} ms; request -> call done ${ms(r.request)}; answered ${Math.round(r.answered)}/s, ${r.backlog} changes not yet at Stripe when the loop stopped, ${r.errors} errors; webhook echoes pending at the start ${r.echoes.before.pending} (after waiting ${(r.echoes.before.waitedMs / 1000).toFixed(1)} s for them), at the end ${r.echoes.after}; NATS messages on rtws's main connections per Stripe call done in the window: ${r.natsPerCall.sent.toFixed(2)} sent, ${r.natsPerCall.received.toFixed(2)} received${s.worker ? `; the worker's process used ${r.workerCores.toFixed(2)} of a core` : ''}`,
    });
    const figures: Figure[] = [
      {
        name: 'pipeline: API capture rate, 16 clients, worker running',
        value: burst.capture,
        unit: 'writes/s',
        note: `HTTP 201s while the worker runs; ${Math.round(burst.synced)} calls/s done at Stripe meanwhile; ${burst.errors} errors`,
      },
      {
        name: 'pipeline: sustained throughput, API -> Stripe call done',
        value: sustained,
        unit: 'changes/s',
        baseline: burst.capture,
        target: { text: '>= 50%', met: sustained >= 0.5 * burst.capture },
        note: `bulk load of ${customers.toLocaleString('en-US')} creates with at most ${BACKLOG} ahead of Stripe, measured over the last ${load.window.synced} (${load.window.seconds.toFixed(0)} s); ${load.errors} errors`,
      },
      {
        name: 'pipeline: draining the 16-client burst',
        value: burst.drain,
        unit: 'changes/s',
        baseline: burst.capture,
        note: `${burst.backlog} changes behind when the clients stopped`,
      },
      latency(' (half the sustained rate)', light),
      latency(' (sustained rate)', full),
      latency('', fast, { text: '< 50 ms', met: fast.commit.p99 < 50 }),
      {
        name: 'pipeline: rtws CPU per 1,000 synced changes',
        value: load.cpuPer1000,
        unit: 'CPU-s',
        note: `api, publisher, worker and webhook echo, ${s.worker ? 'in two processes together' : 'in one process'}${workerShare(s, load.workerCpuPer1000, load.cpuPer1000)}; the others per 1,000: ${load.perThousand}`,
      },
      {
        name: 'pipeline: NATS messages per synced change, sent by rtws',
        value: load.natsPerChange.sent,
        unit: 'messages',
        note: `and ${load.natsPerChange.received.toFixed(2)} received, over the whole bulk load, on rtws's main connections (rtws_nats_messages_total); the publisher's thread adds a publish and its PubAck per change on its own; the webhook echo's are included`,
      },
      {
        name: `pipeline: rtws RSS after ${checkpoint.toLocaleString('en-US')} customers synced`,
        value: load.atCheckpoint.rss / MiB,
        unit: 'MiB',
        note: inside(load.atCheckpoint),
      },
      {
        name: `pipeline: rtws RSS after ${customers.toLocaleString('en-US')} customers synced`,
        value: load.atEnd.rss / MiB,
        unit: 'MiB',
        baseline: load.atCheckpoint.rss / MiB,
        note: `${inside(load.atEnd)}; peak RSS ${(load.atEnd.peak / MiB).toFixed(0)} MiB`,
      },
      {
        name: `pipeline: rtws RSS after a full GC, after ${checkpoint.toLocaleString('en-US')} customers`,
        value: load.gcAtCheckpoint.rss / MiB,
        unit: 'MiB',
        note: `${afterGc(load.gcAtCheckpoint)}; sampled right after the row above, the load still running`,
      },
      {
        name: `pipeline: rtws RSS after a full GC, after ${customers.toLocaleString('en-US')} customers`,
        value: load.gcAtEnd.rss / MiB,
        unit: 'MiB',
        baseline: load.gcAtCheckpoint.rss / MiB,
        target: { text: '<= 130%', met: ratio <= 1.3 },
        note: `${afterGc(load.gcAtEnd)}; heap used after the GC ${((load.gcAtEnd.heapUsed / load.gcAtCheckpoint.heapUsed) * 100).toFixed(0)}% of the first`,
      },
      {
        name: `pipeline: rtws RSS idle ${PASSIVATED_MS / 1000} s after the last change`,
        value: idle.rss / MiB,
        unit: 'MiB',
        baseline: load.atCheckpoint.rss / MiB,
        note: `${inside(idle)}; idle actors are passivated after 60 s`,
      },
      ...(bare ? againstBare(bare, sustained, load.cpuPer1000, fast.commit.p99) : []),
    ];
    const cpu = [
      `pipeline bulk load: ${load.cpu.text}`,
      `pipeline 16 clients: ${burst.cpu.text}`,
      `pipeline paced ${Math.round(light.perSecond)}/s: ${light.cpu.text}`,
      `pipeline paced ${Math.round(full.perSecond)}/s: ${full.cpu.text}`,
      `pipeline paced ${PACED_PER_SECOND}/s: ${fast.cpu.text}`,
      `pipeline webhook echo: ${hooks.delivered} delivered to rtws, ${hooks.failed} failed, ${hooks.pending} pending; Stripe answers other than 200: ${s.calls.failed}; request-log overruns: ${s.calls.overruns}`,
    ];
    return { figures, cpu };
  } finally {
    await s.close();
  }
}

/**
 * rtws's figures as multiples of the bare pipeline's from the same run: what the engine costs over
 * the least a change can cost here. The bare CPU is its bench process (clients, relay, consumer);
 * rtws's is its own processes (API, publisher, worker), so the ratio is close, not exact.
 */
function againstBare(
  bare: BareFigures,
  sustained: number,
  cpuPerChangeMs: number,
  p99Ms: number,
): Figure[] {
  return [
    {
      name: 'pipeline vs bare: throughput',
      value: sustained,
      unit: 'changes/s',
      baseline: bare.perSecond,
    },
    {
      name: 'pipeline vs bare: CPU per change',
      value: cpuPerChangeMs,
      unit: 'ms',
      baseline: bare.cpuPerChangeMs,
    },
    {
      name: `pipeline vs bare: commit -> call done p99 at ${PACED_PER_SECOND}/s`,
      value: p99Ms,
      unit: 'ms',
      baseline: bare.p99Ms,
    },
  ];
}
