// Salesforce's changes read back: a person's edit in Salesforce -> the edit committed in Postgres.
// The edits are the Salesforce emulator's person control (`PATCH /_emulator/records/Account/<id>`,
// as Salesforce's UI makes them: no API call, an empty changeOrigin, another user), each giving a
// linked Account a Name no other edit uses; the emulator, rtws and the Stripe emulator each run in
// their own process.
//
// - Edit: the wall clock just before the control call.
// - In Postgres: the first poll of the customers' rows that sees the new name. The bench polls
//   (every 5 ms, by primary key, only while an edit is outstanding) rather than LISTEN: rtws's
//   capture trigger notifies only while its publisher sleeps, so LISTEN would need a trigger of
//   the bench's own in rtws's write transaction, while a poll sees what any reader of the
//   catalogue sees, adds nothing to the path measured, and is late by at most one interval and a
//   query (the first baseline measures exactly that).
// - On the way (CHANGES, read back afterwards): the change event delivered to a sibling jsforce
//   subscriber, the read handed to the customer's actor (`SalesforceRecordChanged` stored on its
//   subject) and the commit (the captured change's `occurred_at`, the trigger's clock).
//
// Phases, one edit every 200-600 ms (uniform, open loop), a record edited again only once its
// last edit has landed: rtws with change events (RTWS_SALESFORCE_CDC on, RTWS_SALESFORCE_POLL_S
// an hour, so only an event can make the read), then rtws reading by polling alone (CDC off,
// RTWS_SALESFORCE_POLL_S=1). Baselines in the same run, before rtws starts: a raw Postgres UPDATE
// seen by the same poller, and the same person edits seen by a bare jsforce CometD subscriber.
// RTWS_BENCH_SF_EDITS sets the measured edits per phase (default 40: p99 is then the slowest).
import jsforce, { type Connection } from 'jsforce';
import type { JsMsg } from '@nats-io/jetstream';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { cpuGroups, streamCount, type BenchResult } from './capture.ts';
import { pp, readRange, storedAt } from './inbound-load.ts';
import {
  cpuSplit,
  sampleCpu,
  sleep,
  spread,
  type CpuGroups,
  type Figure,
  type Spread,
  type Timing,
} from './report.ts';
import {
  seedLinkedToSalesforce,
  sfControl,
  sfStats,
  startSalesforceStack,
  type SalesforceStack,
} from './salesforce-stack.ts';

const WARMUP_EDITS = 3;
const LINKED = 12;
const BASELINE_RECORDS = 12;
const GAP_MS: readonly [number, number] = [200, 600];
const POLL_EVERY_MS = 5;
const LAND_WITHIN_MS = 30_000;
const TARGET_P99_MS = 2_000;
const POLLER_APP = 'rtws-bench-poller';
const CHANNEL = '/data/AccountChangeEvent';

/** One edit: where it went and when it was sent, answered and seen where it was expected. */
interface Sample {
  readonly name: string;
  readonly measured: boolean;
  sentAt: number;
  answeredAt?: number;
  landedAt?: number;
}

/** Where an edit is expected to show: `expect` resolves with when it was seen, or undefined. */
interface Arrivals {
  expect(key: string, value: string): Promise<number | undefined>;
}

interface EditTarget {
  /** What `Arrivals` knows the edited thing by. */
  readonly key: string;
  /** What the edit is sent to. */
  readonly ref: string;
}

interface EditRun {
  readonly samples: Sample[];
  /** Edits that waited for a record whose last edit had not landed yet. */
  waits: number;
  errors: number;
  lastError?: unknown;
}

function editsFrom(raw: string | undefined): number {
  const n = raw === undefined || raw === '' ? 40 : Number(raw);
  if (!Number.isInteger(n) || n < 10 || n > 100_000)
    throw new Error(`RTWS_BENCH_SF_EDITS must be a whole number in [10, 100000], got ${raw}`);
  return n;
}

const between = ([lo, hi]: readonly [number, number]) => lo + Math.random() * (hi - lo);

/**
 * Open loop: an edit every `gap` ms whatever is in flight, each to a target whose last edit has
 * landed (so that every edit is seen on its own), the first WARMUP_EDITS left out of the figures.
 */
async function pacedEdits(
  label: string,
  targets: readonly EditTarget[],
  count: number,
  gap: readonly [number, number],
  edit: (ref: string, value: string) => Promise<unknown>,
  arrivals: Arrivals,
): Promise<EditRun> {
  const run: EditRun = { samples: [], waits: 0, errors: 0 };
  const free = [...targets];
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < WARMUP_EDITS + count; i++) {
    await sleep(between(gap));
    if (free.length === 0) run.waits++;
    while (free.length === 0) await sleep(1);
    const target = free.shift()!;
    const sample: Sample = { name: `${label} ${i}`, measured: i >= WARMUP_EDITS, sentAt: 0 };
    run.samples.push(sample);
    const landed = arrivals.expect(target.key, sample.name);
    sample.sentAt = Date.now();
    const p = edit(target.ref, sample.name)
      .then(
        () => void (sample.answeredAt = Date.now()),
        (err: unknown) => {
          run.errors++;
          run.lastError = err;
        },
      )
      .then(() => landed)
      .then((at) => {
        sample.landedAt = at;
        free.push(target);
      });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  return run;
}

/** A tight poll of rows by key, only while some edit is awaited, on its own connection. */
function pollRows(
  sql: Sql,
  read: (keys: string[]) => Promise<{ key: string; value: string }[]>,
): Arrivals & { polls(): number; stop(): Promise<void> } {
  const waiting = new Map<string, { value: string; seen: (at: number | undefined) => void }>();
  let running = true;
  let polls = 0;
  const loop = (async () => {
    while (running) {
      if (waiting.size > 0) {
        const rows = await read([...waiting.keys()]);
        const at = Date.now();
        polls++;
        for (const r of rows) {
          const w = waiting.get(r.key);
          if (w?.value !== r.value) continue;
          waiting.delete(r.key);
          w.seen(at);
        }
      }
      await sleep(POLL_EVERY_MS);
    }
  })();
  return {
    expect: (key, value) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(key);
          resolve(undefined);
        }, LAND_WITHIN_MS);
        waiting.set(key, {
          value,
          seen: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        });
      }),
    polls: () => polls,
    async stop() {
      running = false;
      await loop;
      await sql.end();
    },
  };
}

/** The customers' names, polled from the catalogue; connected, so its backend can be measured. */
async function pollCustomers(url: string) {
  const sql = connectPostgres(url, { max: 1, applicationName: POLLER_APP });
  await sql`SELECT 1`;
  return pollRows(
    sql,
    (ids) => sql<{ key: string; value: string }[]>`
      SELECT id::text AS key, name AS value FROM customers WHERE id = ANY(${ids}::uuid[])`,
  );
}

interface ChangeEvent {
  payload?: { Name?: unknown; ChangeEventHeader?: { recordIds?: string[] } };
}

/** The part of faye's client used here; faye ships no types. */
interface FayeClient {
  subscribe(channel: string, listener: (data: ChangeEvent) => void): PromiseLike<unknown>;
  disconnect(): PromiseLike<unknown> | undefined;
}

/** A bare jsforce subscriber of the Account change events: when each Name was delivered. */
async function cometdSubscriber(s: SalesforceStack) {
  const conn: Connection = new jsforce.Connection({
    oauth2: { loginUrl: s.sf.loginUrl, clientId: s.sf.clientId, clientSecret: s.sf.clientSecret },
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  const delivered = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  // No replay extension: new events only, as `topic(...).subscribe` asks.
  const client = conn.streaming.createClient([]) as unknown as FayeClient;
  await client.subscribe(CHANNEL, (m) => {
    const at = Date.now();
    const name = m.payload?.Name;
    if (typeof name !== 'string' || delivered.has(name)) return;
    delivered.set(name, at);
    waiting.get(name)?.(at);
    waiting.delete(name);
  });
  const arrivals: Arrivals = {
    expect: (_key, value) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(value);
          resolve(undefined);
        }, LAND_WITHIN_MS);
        waiting.set(value, (at) => {
          clearTimeout(timer);
          resolve(at);
        });
      }),
  };
  return {
    arrivals,
    delivered,
    async close() {
      await Promise.resolve(client.disconnect()).catch(() => {});
    },
  };
}

/** A person's edit of an Account's Name, through the emulator's control. */
const personEdit = (s: SalesforceStack) => (recordId: string, name: string) =>
  sfControl(s, 'PATCH', `records/Account/${recordId}`, { fields: { Name: name } });

interface Latencies {
  readonly landed: Spread;
  readonly answered: Spread;
  readonly missing: number;
}

function latencies(run: EditRun): Latencies {
  const measured = run.samples.filter((x) => x.measured);
  const landed = measured.flatMap((x) => (x.landedAt === undefined ? [] : [x.landedAt - x.sentAt]));
  const answered = measured.flatMap((x) =>
    x.answeredAt === undefined ? [] : [x.answeredAt - x.sentAt],
  );
  return {
    landed: spread(landed),
    answered: spread(answered),
    missing: measured.length - landed.length,
  };
}

/** A raw UPDATE from another connection, seen by the same poller: the observer's own floor. */
async function postgresBaseline(s: SalesforceStack, edits: number) {
  const { sql } = s.base.o;
  await sql`CREATE TABLE bench_probe (id int PRIMARY KEY, v text NOT NULL)`;
  await sql`INSERT INTO bench_probe SELECT g, '' FROM generate_series(1, 8) g`;
  const writer = connectPostgres(s.base.env.db.url, {
    max: 1,
    applicationName: 'rtws-bench-writer',
  });
  const pollSql = connectPostgres(s.base.env.db.url, { max: 1, applicationName: POLLER_APP });
  const poller = pollRows(
    pollSql,
    (keys) => pollSql<{ key: string; value: string }[]>`
      SELECT id::text AS key, v AS value FROM bench_probe WHERE id = ANY(${keys}::int[])`,
  );
  try {
    const targets = Array.from({ length: 8 }, (_, i) => ({
      key: String(i + 1),
      ref: String(i + 1),
    }));
    const run = await pacedEdits(
      'update',
      targets,
      Math.max(edits, 100),
      [5, 15],
      (id, v) => writer`UPDATE bench_probe SET v = ${v} WHERE id = ${Number(id)}`,
      poller,
    );
    return latencies(run);
  } finally {
    await poller.stop();
    await writer.end();
  }
}

/** The same person edits, seen by a bare subscriber, with no rtws running. */
async function cometdBaseline(s: SalesforceStack, edits: number) {
  const targets: EditTarget[] = [];
  for (let i = 0; i < BASELINE_RECORDS; i++) {
    const r = (await sfControl(s, 'POST', 'records/Account', {
      fields: { Name: `Baseline ${i}` },
    })) as { Id: string };
    targets.push({ key: r.Id, ref: r.Id });
  }
  const sub = await cometdSubscriber(s);
  try {
    const run = await pacedEdits('baseline', targets, edits, GAP_MS, personEdit(s), sub.arrivals);
    return { run, latency: latencies(run) };
  } finally {
    await sub.close();
  }
}

/** When each edit reached the actor and the commit, from CHANGES. */
async function traceChanges(s: SalesforceStack, from: number) {
  const { nats } = s.base.o;
  const stream = s.base.env.names.streams.changes;
  const handed = new Map<string, number>();
  const committed = new Map<string, number>();
  let writes = 0;
  const first = (map: Map<string, number>, name: unknown, at: number) => {
    if (typeof name === 'string' && !map.has(name)) map.set(name, at);
  };
  await readRange(nats, stream, [from, await streamCount(nats, stream)], (m: JsMsg) => {
    const e = m.json<{
      type?: string;
      data?: { name?: unknown; fields?: { name?: unknown } };
      metadata?: { origin?: string; occurred_at?: string };
    }>();
    if (e.type === 'SalesforceRecordChanged') first(handed, e.data?.fields?.name, storedAt(m));
    else if (e.type === 'CustomerUpdated' && e.metadata?.origin === 'salesforce') {
      writes++;
      first(committed, e.data?.name, Date.parse(e.metadata.occurred_at ?? ''));
    }
  });
  return { handed, committed, writes };
}

interface RtwsPhase {
  readonly run: EditRun;
  readonly latency: Latencies;
  readonly breakdown: string;
  readonly calls: number;
  readonly cpu: string;
  /** Postgres writes with origin `salesforce` during the phase, warm-up edits included. */
  readonly writes: number;
}

/** rtws started with `env`; the linked records edited as a person; each edit found in Postgres. */
async function rtwsPhase(
  s: SalesforceStack,
  label: string,
  env: Record<string, string>,
  edits: number,
  linked: (() => Promise<EditTarget[]>) | EditTarget[],
  sibling: Awaited<ReturnType<typeof cometdSubscriber>>,
): Promise<RtwsPhase> {
  await s.start(env);
  const targets = Array.isArray(linked) ? linked : await linked();
  if (env.RTWS_SALESFORCE_CDC !== 'false') {
    // rtws subscribes after its first read; the sibling subscriber is the other client.
    const deadline = Date.now() + 30_000;
    while ((await sfStats(s)).events.streamingClients < 2 && Date.now() < deadline) await sleep(50);
    if ((await sfStats(s)).events.streamingClients < 2)
      throw new Error(`${label}: rtws did not subscribe to ${CHANNEL}:\n${s.rtws().output()}`);
  }
  const { o, env: t } = s.base;
  const poller = await pollCustomers(t.db.url);
  let run: EditRun;
  let cpu: string;
  let calls0: number;
  let from: number;
  try {
    const groups: CpuGroups = {
      ...(await cpuGroups(o.sql, t.natsUrl, s.rtws(), {
        'pg rtws': 'rtws',
        'pg publisher': 'rtws-publisher',
        'pg poller': POLLER_APP,
      })),
      'salesforce emulator': [s.sf.child.pid!],
      'stripe emulator': [s.base.emulator.child.pid!],
    };
    from = (await streamCount(o.nats, t.names.streams.changes)) + 1;
    calls0 = (await sfStats(s)).apiCalls;
    const cpu0 = sampleCpu(groups);
    run = await pacedEdits(label, targets, edits, GAP_MS, personEdit(s), poller);
    cpu = cpuSplit(cpu0, sampleCpu(groups)).text;
  } finally {
    await poller.stop();
  }
  const calls = (await sfStats(s)).apiCalls - calls0;
  const trace = await traceChanges(s, from);
  const parts = {
    event: [] as number[],
    handed: [] as number[],
    commit: [] as number[],
    seen: [] as number[],
  };
  for (const x of run.samples.filter((x) => x.measured)) {
    const [ev, h, c] = [
      sibling.delivered.get(x.name),
      trace.handed.get(x.name),
      trace.committed.get(x.name),
    ];
    if (ev !== undefined) parts.event.push(ev - x.sentAt);
    if (h !== undefined) parts.handed.push(h - x.sentAt);
    if (h !== undefined && c !== undefined) parts.commit.push(c - h);
    if (c !== undefined && x.landedAt !== undefined) parts.seen.push(x.landedAt - c);
  }
  const latency = latencies(run);
  const breakdown =
    `p50 / p99 ms: control call answered ${pp(latency.answered)}; edit -> change event at a sibling subscriber ${pp(spread(parts.event))}; ` +
    `edit -> read handed to the actor (stored on its subject) ${pp(spread(parts.handed))}; ` +
    `handed -> commit ${pp(spread(parts.commit))}; commit -> seen by the poll ${pp(spread(parts.seen))}; ` +
    `max ${latency.landed.max.toFixed(0)} ms, n=${latency.landed.n}, ${latency.missing} not seen within ${LAND_WITHIN_MS / 1000} s, ` +
    `${run.waits} edits waited for their record, ${run.errors} control errors` +
    (run.lastError === undefined
      ? ', '
      : ` (last: ${run.lastError instanceof Error ? run.lastError.message : JSON.stringify(run.lastError)}), `) +
    `${trace.writes} Postgres writes from Salesforce for ${run.samples.length} edits`;
  return {
    run,
    latency,
    breakdown,
    calls,
    cpu,
    writes: trace.writes,
  };
}

export async function benchSalesforceInbound(_timing: Timing): Promise<BenchResult> {
  const edits = editsFrom(process.env.RTWS_BENCH_SF_EDITS);
  const s = await startSalesforceStack();
  try {
    const pg = await postgresBaseline(s, edits);
    const bare = await cometdBaseline(s, edits);
    // From here on a sibling subscriber times each change event alongside rtws.
    const sibling = await cometdSubscriber(s);
    let cdc: RtwsPhase;
    let polling: RtwsPhase;
    let targets: EditTarget[] = [];
    try {
      cdc = await rtwsPhase(
        s,
        'cdc',
        { RTWS_SALESFORCE_CDC: 'true', RTWS_SALESFORCE_POLL_S: '3600' },
        edits,
        async () =>
          (targets = (await seedLinkedToSalesforce(s, LINKED)).map((r) => ({
            key: r.customerId,
            ref: r.recordId,
          }))),
        sibling,
      );
      polling = await rtwsPhase(
        s,
        'polling',
        { RTWS_SALESFORCE_CDC: 'false', RTWS_SALESFORCE_POLL_S: '1' },
        edits,
        targets,
        sibling,
      );
    } finally {
      await sibling.close();
    }
    const b = bare.latency.landed;
    const per = (p: RtwsPhase) => (p.calls / p.run.samples.length).toFixed(2);
    const figures: Figure[] = [
      {
        name: 'salesforce inbound baseline: Postgres UPDATE -> seen by the poll, p50',
        value: pg.landed.p50,
        unit: 'ms',
        note: `the observer's floor: a raw UPDATE (round trip p50 / p99 ${pp(pg.answered)} ms) from another connection, polled every ${POLL_EVERY_MS} ms`,
      },
      {
        name: 'salesforce inbound baseline: Postgres UPDATE -> seen by the poll, p99',
        value: pg.landed.p99,
        unit: 'ms',
        note: `n=${pg.landed.n}, ${pg.missing} not seen`,
      },
      {
        name: 'salesforce inbound baseline: person edit -> event at a bare jsforce subscriber, p50',
        value: b.p50,
        unit: 'ms',
        note: `no rtws running; control call answered p50 / p99 ${pp(bare.latency.answered)} ms`,
      },
      {
        name: 'salesforce inbound baseline: person edit -> event at a bare jsforce subscriber, p99',
        value: b.p99,
        unit: 'ms',
        note: `n=${b.n}, ${bare.latency.missing} not delivered, ${bare.run.errors} control errors`,
      },
      {
        name: 'salesforce inbound, change events (CDC on, poll 3,600 s): person edit -> Postgres, p50',
        value: cdc.latency.landed.p50,
        unit: 'ms',
        baseline: b.p50,
      },
      {
        name: 'salesforce inbound, change events (CDC on, poll 3,600 s): person edit -> Postgres, p99',
        value: cdc.latency.landed.p99,
        unit: 'ms',
        baseline: b.p99,
        target: {
          text: `< ${TARGET_P99_MS.toLocaleString('en-US')} ms`,
          met: cdc.latency.missing === 0 && cdc.latency.landed.p99 < TARGET_P99_MS,
        },
        note: `${cdc.breakdown}; ${per(cdc)} Salesforce API calls per edit`,
      },
      {
        name: 'salesforce inbound, polling only (CDC off, poll 1 s): person edit -> Postgres, p50',
        value: polling.latency.landed.p50,
        unit: 'ms',
        baseline: b.p50,
      },
      {
        name: 'salesforce inbound, polling only (CDC off, poll 1 s): person edit -> Postgres, p99',
        value: polling.latency.landed.p99,
        unit: 'ms',
        baseline: b.p99,
        note: `${polling.breakdown}; ${per(polling)} Salesforce API calls per edit`,
      },
    ];
    console.log(
      `\n## Salesforce inbound configuration\n\n${[
        `edits: ${edits} measured per phase after ${WARMUP_EDITS} warm-up (RTWS_BENCH_SF_EDITS), one every ${GAP_MS[0]}-${GAP_MS[1]} ms (uniform, open loop), each naming one of ${LINKED} linked Accounts whose last edit has landed`,
        "edit: the Salesforce emulator's person control, PATCH /_emulator/records/Account/<id> {fields: {Name}} (no API call counted; the change event's changeOrigin empty, another user)",
        `Postgres: the customers' rows polled every ${POLL_EVERY_MS} ms by primary key on their own connection while an edit is outstanding`,
        `rtws: one process (roles api, publisher, worker), live-mode Stripe key, Salesforce Account with the default field map; restarted (SIGTERM) between the phases with the same RTWS_WORKER_ID`,
        `Salesforce emulator: its own process (pid ${s.sf.child.pid}); Stripe emulator: its own process (pid ${s.base.emulator.child.pid}), webhooks posted to rtws`,
        `fresh database ${s.base.env.db.name}, namespace ${s.base.env.namespace}`,
      ]
        .map((c) => `- ${c}`)
        .join('\n')}`,
    );
    return {
      figures,
      cpu: [
        `salesforce inbound, change events: ${cdc.cpu}`,
        `salesforce inbound, polling only: ${polling.cpu}`,
      ],
    };
  } finally {
    await s.close();
  }
}
