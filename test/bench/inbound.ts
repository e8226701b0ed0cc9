// The inbound path: a Stripe write -> webhook -> Postgres applied. Stripe writes are dashboard
// edits (the official SDK, no rtws key) of one customer's name, spread over customers rtws created
// and linked first, against the Stripe emulator in its own process (inbound-stack.ts).
//
// - Stripe write: the wall clock just before the SDK call (so the figure includes Stripe's own
//   answer and its webhook delivery); the SDK's answer is reported too.
// - Postgres commit: the captured change's `occurred_at`, the capture trigger's clock_timestamp()
//   while the applying transaction runs, its last statements before COMMIT; read back from the
//   CHANGES stream, matched to the edit by the name it set. On the way: INBOUND's store time (the
//   receiver verified the event and had its PubAck) and the mapped fact's store time.
// - Throughput: commits with origin `stripe` per second inside the measured window.
//
// Phases: paced at 500 edits/s (open loop), saturation (16 SDK clients, closed loops), then paced at
// half the saturation rate, where nothing queues and the path's own latency shows. A
// customer is edited again only 2.5 s after its last edit: rtws trusts a Stripe event only when its
// whole-second `created` is more than a second past the customer's last one, and otherwise fetches
// the customer from Stripe; the Stripe calls rtws made are counted per phase. The baseline, in the
// same run: rtws with the api role alone (the receiver verifies and stores in INBOUND, nothing
// consumes), driven the same way through the emulator's deliveries, and by signed POSTs generated
// here.
import { streamCount, type BenchResult } from './capture.ts';
import { processesFromEnv, stackCpuGroups } from './pipeline-stack.ts';
import {
  breakdown,
  closedEdits,
  latency,
  pacedEdits,
  pp,
  ratePerSecond,
  rotation,
  traceEdits,
  type Load,
  type Trace,
} from './inbound-load.ts';
import { lastStoredEvent, signedPosts } from './inbound-signed.ts';
import {
  INBOUND_LABEL,
  INBOUND_WORKER_LABEL,
  WEBHOOK_SECRET,
  counter,
  holdingNames,
  inboxCount,
  loopDelay,
  namesInStripe,
  quiet,
  seedInStripe,
  seedLinked,
  startInboundStack,
  waitFor,
  webhookCounts,
  type InboundStack,
} from './inbound-stack.ts';
import {
  cpuSplit,
  phaseProfiler,
  sampleCpu,
  sleep,
  type CpuSample,
  type Figure,
  type Timing,
} from './report.ts';

const CUSTOMERS = 2_000;
const BASELINE_CUSTOMERS = 200;
const CLIENTS = 16;
const PACED_PER_SECOND = 500;
const GAP_MS = 2_500;
/** A count that has not moved for this long is taken as settled. */
const SETTLE_MS = 500;

/** Polls `count` until it has not moved for `quietMs`; the count then. */
async function settledCount(count: () => Promise<number>, quietMs: number): Promise<number> {
  let last = await count();
  for (let since = Date.now(); Date.now() - since < quietMs;) {
    await sleep(50);
    const now = await count();
    if (now !== last) [last, since] = [now, Date.now()];
  }
  return last;
}

interface PhaseRun {
  load: Load;
  trace: Trace;
  cpu: string;
  /** The receiving process's event loop delay p50 / p99 / max over the measured window. */
  loopDelay: string;
  stripeCalls: number;
  /**
   * Edits whose events the inbox did not hold yet when the load stopped (an edit a fetch settled
   * with a later one's content is never recorded, so this counts it too).
   */
  backlog: number;
  /** Messages on the customers' subjects per edit: the steps each edit costs the actor. */
  perEdit: number;
}

/** One load against the full stack, then the drain, then the trace of everything it wrote. */
async function phase(
  s: InboundStack,
  timing: Timing,
  name: string,
  drive: (onMeasure: () => void) => Promise<Load>,
): Promise<PhaseRun> {
  const names = s.env.names;
  const groups = await stackCpuGroups(s);
  const profiles = [
    phaseProfiler(timing, INBOUND_LABEL, s.rtws.child.pid),
    phaseProfiler(timing, INBOUND_WORKER_LABEL, s.worker?.process.child.pid),
  ];
  const [i0, c0, n0] = [
    await streamCount(s.o.nats, names.streams.inbound),
    await streamCount(s.o.nats, names.streams.changes),
    await inboxCount(s),
  ];
  const calls0 = await counter(s, 'rtws_intents_executed_total', 'target="stripe"');
  let cpu0: CpuSample | undefined;
  let reset: Promise<unknown> = Promise.resolve();
  const load = await drive(() => {
    cpu0 = sampleCpu(groups);
    for (const p of profiles) p.start();
    // Starts the window; should the read fail, the window starts at the read before the phase.
    reset = loopDelay(s).catch(() => undefined);
  });
  const cpu1 = sampleCpu(groups);
  await reset;
  const delay = await loopDelay(s);
  for (const p of profiles) await p.stop(name);
  const backlog = n0 + load.edits.length - (await inboxCount(s));
  // Each edit's event stored (an SDK call that failed may have made one too), then Postgres
  // showing what Stripe holds, then no fact mapped for a while: the phase's work is done.
  await waitFor(
    `${name}: events stored in INBOUND`,
    async () => (await streamCount(s.o.nats, names.streams.inbound)) - i0,
    load.edits.length,
  );
  const expected = await namesInStripe(
    s,
    load.edits.map((e) => e.stripeId),
  );
  await waitFor(
    `${name}: customers holding Stripe's name`,
    () => holdingNames(s, expected),
    expected.size,
  );
  const c1 = await settledCount(() => streamCount(s.o.nats, names.streams.changes), SETTLE_MS);
  const trace = await traceEdits(
    s.o.nats,
    names,
    [i0 + 1, await streamCount(s.o.nats, names.streams.inbound)],
    [c0 + 1, c1],
  );
  const stripeCalls = (await counter(s, 'rtws_intents_executed_total', 'target="stripe"')) - calls0;
  return {
    load,
    trace,
    cpu: cpuSplit(cpu0 ?? cpu1, cpu1).text,
    loopDelay: delay,
    stripeCalls,
    backlog,
    perEdit: (c1 - c0) / Math.max(1, load.edits.length),
  };
}

/** The receiver with the actor off: the same SDK clients, then signed POSTs of our own. */
async function baseline(timing: Timing) {
  const s = await startInboundStack(timing, 'receiver');
  try {
    const ids = await seedInStripe(s, BASELINE_CUSTOMERS);
    await quiet(s, 500);
    const groups = await stackCpuGroups(s);
    const inbound = s.env.names.streams.inbound;
    const i0 = await streamCount(s.o.nats, inbound);
    let cpu0: CpuSample | undefined;
    const load = await closedEdits(
      s.stripe,
      rotation(ids, 0),
      CLIENTS,
      timing,
      'Baseline',
      () => (cpu0 = sampleCpu(groups)),
    );
    const cpu1 = sampleCpu(groups);
    await quiet(s, 0);
    const trace = await traceEdits(
      s.o.nats,
      s.env.names,
      [i0 + 1, await streamCount(s.o.nats, inbound)],
      [1, 0],
    );
    const template = await lastStoredEvent(s.o.nats, inbound);
    const url = new URL('/webhooks/stripe', s.target.url);
    const signed = await signedPosts(url, WEBHOOK_SECRET, template, CLIENTS, timing);
    return {
      received: ratePerSecond(trace.received, load),
      written: ratePerSecond(new Map(load.edits.map((e) => [e.name, e.answeredAt])), load),
      latency: latency(load, trace),
      errors: load.errors,
      signed,
      cpu: cpuSplit(cpu0 ?? cpu1, cpu1).text,
    };
  } finally {
    await s.close();
  }
}

/** What the CPU line says of the receiving process's event loop. */
const delayOf = (r: PhaseRun) => `receiver's event loop delay p50 / p99 / max ${r.loopDelay}`;

function rates(r: PhaseRun) {
  const answered = new Map(r.load.edits.map((e) => [e.name, e.answeredAt]));
  return {
    written: ratePerSecond(answered, r.load),
    received: ratePerSecond(r.trace.received, r.load),
    applied: ratePerSecond(r.trace.committed, r.load),
  };
}

function phaseNote(r: PhaseRun, waits: number): string {
  const x = rates(r);
  return (
    `SDK writes ${Math.round(x.written)}/s, webhooks stored ${Math.round(x.received)}/s; ` +
    `${r.backlog} edits not yet recorded in the inbox when the load stopped; ${r.stripeCalls} Stripe calls by rtws ` +
    `(fetches); ${r.perEdit.toFixed(2)} CHANGES messages per edit; ${waits} edits waited for their customer's ${GAP_MS / 1000} s gap; ${r.load.errors} SDK errors`
  );
}

export async function benchInbound(timing: Timing): Promise<BenchResult> {
  const base = await baseline(timing);
  const s = await startInboundStack(timing, 'full', processesFromEnv());
  try {
    const ids = await seedLinked(s, CUSTOMERS);
    await quiet(s, GAP_MS);
    const rot = rotation(ids, GAP_MS);
    const paced = await phase(s, timing, `paced ${PACED_PER_SECOND} per s`, (onMeasure) =>
      pacedEdits(s.stripe, rot, PACED_PER_SECOND, timing, 'Paced', onMeasure),
    );
    const pacedWaits = rot.waits;
    const full = await phase(s, timing, 'saturation', (onMeasure) =>
      closedEdits(s.stripe, rot, CLIENTS, timing, 'Saturation', onMeasure),
    );
    const fr = rates(full);
    // Below the saturation rate nothing queues: the path's own latency.
    const lightRate = Math.max(10, Math.round(fr.applied / 2));
    const light = await phase(s, timing, `paced ${lightRate} per s`, (onMeasure) =>
      pacedEdits(s.stripe, rot, lightRate, timing, 'Light', onMeasure),
    );
    const hooks = await webhookCounts(s.emulator.url);
    const pl = latency(paced.load, paced.trace);
    const fl = latency(full.load, full.trace);
    const ll = latency(light.load, light.trace);
    const figures: Figure[] = [
      {
        name: 'inbound baseline: webhooks received, actor off (emulator deliveries)',
        value: base.received,
        unit: 'events/s',
        note: `rtws with the api role only; ${CLIENTS} SDK clients wrote ${Math.round(base.written)}/s over ${BASELINE_CUSTOMERS} customers; write -> stored in INBOUND p50 / p99 ${pp(base.latency.toReceived)} ms; ${base.errors} SDK errors`,
      },
      {
        name: `inbound baseline: receiver alone, signed POSTs, ${CLIENTS} in flight`,
        value: base.signed.rate,
        unit: 'events/s',
        note: `real emulator events re-signed (${base.signed.bytes} bytes), verified and stored in INBOUND; ${base.signed.failures} non-200 answers`,
      },
      {
        name: `inbound, paced ${PACED_PER_SECOND}/s: applied`,
        value: rates(paced).applied,
        unit: 'events/s',
        note: phaseNote(paced, pacedWaits),
      },
      {
        name: `inbound, paced ${PACED_PER_SECOND}/s: Stripe write -> Postgres commit p50`,
        value: pl.total.p50,
        unit: 'ms',
      },
      {
        name: `inbound, paced ${PACED_PER_SECOND}/s: Stripe write -> Postgres commit p99`,
        value: pl.total.p99,
        unit: 'ms',
        target: { text: '< 75 ms', met: pl.total.p99 < 75 },
        note: breakdown(pl),
      },
      {
        name: `inbound, saturation (${CLIENTS} SDK clients): applied`,
        value: fr.applied,
        unit: 'events/s',
        baseline: base.received,
        note: phaseNote(full, rot.waits - pacedWaits),
      },
      {
        name: 'inbound, saturation: Stripe write -> Postgres commit p50',
        value: fl.total.p50,
        unit: 'ms',
      },
      {
        name: 'inbound, saturation: Stripe write -> Postgres commit p99',
        value: fl.total.p99,
        unit: 'ms',
        note: breakdown(fl),
      },
      {
        name: `inbound, paced ${lightRate}/s (half the saturation rate): write -> commit p50`,
        value: ll.total.p50,
        unit: 'ms',
      },
      {
        name: `inbound, paced ${lightRate}/s (half the saturation rate): write -> commit p99`,
        value: ll.total.p99,
        unit: 'ms',
        note: `${breakdown(ll)}; applied ${Math.round(rates(light).applied)}/s`,
      },
    ];
    const cpu = [
      `inbound baseline (api role only, emulator deliveries): ${base.cpu}`,
      `inbound paced ${PACED_PER_SECOND}/s: ${paced.cpu}; ${delayOf(paced)}`,
      `inbound saturation: ${full.cpu}; ${delayOf(full)}`,
      `inbound paced ${lightRate}/s: ${light.cpu}; ${delayOf(light)}`,
      `inbound webhooks: ${hooks.delivered} delivered to rtws, ${hooks.failed} failed, ${hooks.pending} pending`,
    ];
    console.log(
      `\n## Inbound configuration\n\n${configuration(s)
        .map((c) => `- ${c}`)
        .join('\n')}`,
    );
    return { figures, cpu };
  } finally {
    await s.close();
  }
}

function configuration(s: InboundStack): string[] {
  return [
    `customers: ${CUSTOMERS.toLocaleString('en-US')} created through the API and linked to Stripe before the first edit; each edited again only ${GAP_MS / 1000} s after its last edit`,
    `rtws: ${s.worker ? `two processes (RTWS_BENCH_PROCESSES=two), roles api and publisher (pid ${s.rtws.child.pid}) and worker (pid ${s.worker.process.child.pid}); figures for rtws are both together` : `one process (pid ${s.rtws.child.pid}), roles api, publisher, worker`}; Salesforce off (no SALESFORCE_* set); live-mode key (rtws paces its own Stripe calls at 80/s, 8 in flight)`,
    'worker: 16 partitions (start-worker.ts defaults); publisher: batch 1,000, 512 publishes in flight, safety poll 200 ms',
    `Stripe emulator: its own process (pid ${s.emulator.child.pid}), no rate limit, no faults; webhooks posted to rtws's POST /webhooks/stripe, 8 deliveries in flight (its default)`,
    `edits: stripe.customers.update(id, { name }) through the official SDK (keep-alive, 64 sockets, no retries), no idempotency key: dashboard edits; paced ${PACED_PER_SECOND}/s open loop, then ${CLIENTS} closed-loop clients`,
    `baseline: its own database, namespace, emulator process and rtws (api role only) with ${BASELINE_CUSTOMERS} customers created in Stripe`,
    `fresh database ${s.env.db.name}, namespace ${s.env.namespace}`,
  ];
}
