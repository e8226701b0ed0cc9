// Capture from any writer: 8 plain Postgres.js clients write single-row inserts and updates while
// the publisher, in its own process, drains the outbox to JetStream. The baseline is the same
// writers with the trigger but no NOTIFY and nothing draining; a NOTIFY-per-row variant shows what
// the armed flag saves. Then lone changes: one writer, a row every 20 ms, each finding the
// publisher waiting, as most changes of a quiet catalogue do.
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Env } from '../../core/config.ts';
import type { CustomerChanged } from '../../core/messages.ts';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { eventually } from '../harness/stream.ts';
import {
  childrenOf,
  cpuSplit,
  groupDelta,
  natsServerPids,
  parentOf,
  joinNodeOptions,
  phaseProfiler,
  profileEnv,
  sampleCpu,
  sleep,
  spread,
  type CpuGroups,
  type Figure,
  type Timing,
  closedLoops,
  type LoopCounts,
} from './report.ts';

const WRITERS = 8;
const WRITER_APP = 'rtws-bench-writer';
/** Lone changes: one writer, this far apart. */
const LONE_GAP_MS = 20;
const PUBLISHER_LABEL = 'capture publisher';

export interface BenchResult {
  figures: Figure[];
  /** Where the CPU went, one line per measured phase. */
  cpu: string[];
}

export interface Writers {
  readonly done: LoopCounts;
  stop(): Promise<void>;
}

/**
 * Closed-loop writers: `insert-update` alternates an insert with an update of that new row;
 * `insert-tx` wraps each insert in BEGIN/COMMIT, as the API's create does.
 */
export function startWriters(
  sql: Sql,
  clients: number,
  kind: 'insert-update' | 'insert' | 'insert-tx',
): Writers {
  const lastIds: (string | undefined)[] = [];
  return closedLoops(clients, async (w, n) => {
    const id = lastIds[w];
    if (kind === 'insert-update' && id && n % 2 === 1) {
      await sql`UPDATE customers SET name = ${`Writer ${w} ${n}`} WHERE id = ${id}`;
    } else if (kind === 'insert-tx') {
      await sql.begin((tx) => tx`INSERT INTO customers (name) VALUES (${`Writer ${w} ${n}`})`);
    } else {
      const [r] = await sql<{ id: string }[]>`
        INSERT INTO customers (name, email) VALUES (${`Writer ${w} ${n}`}, ${`w${w}.${n}@example.com`}) RETURNING id`;
      lastIds[w] = r!.id;
    }
  });
}

/** Postgres backend pids of this database, by application name. */
export async function backends(sql: Sql): Promise<Map<string, number[]>> {
  const rows = await sql<{ pid: number; app: string }[]>`
    SELECT pid, application_name AS app FROM pg_stat_activity WHERE datname = current_database()`;
  const out = new Map<string, number[]>();
  for (const r of rows) out.set(r.app, [...(out.get(r.app) ?? []), r.pid]);
  return out;
}

/** The processes of one phase: ours, the rtws child, the database's backends, the rest of Postgres, NATS. */
/**
 * The processes of one phase: ours, the rtws child, this database's backends by application, the
 * rest of the Postgres cluster (the postmaster and its other children), and the NATS server.
 */
export async function cpuGroups(
  sql: Sql,
  natsUrl: string,
  child: RtwsProcess | undefined,
  apps: Record<string, string>,
): Promise<CpuGroups> {
  const byApp = await backends(sql);
  const [me] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  const postmaster = parentOf(me!.pid);
  const groups: Record<string, number[]> = { bench: [process.pid] };
  if (child?.child.pid) groups.rtws = [child.child.pid];
  const named = new Set<number>();
  for (const [label, app] of Object.entries(apps)) {
    groups[label] = byApp.get(app) ?? [];
    for (const pid of groups[label]) named.add(pid);
  }
  const cluster = postmaster ? [postmaster, ...childrenOf(postmaster)] : [];
  groups['pg other'] = cluster.filter((pid) => !named.has(pid));
  groups.nats = natsServerPids(Number(new URL(natsUrl).port || 4222));
  return groups;
}

/** Empties the tables and flushes dirty pages, so each phase starts from the same state. */
export async function reset(sql: Sql): Promise<void> {
  await sql`TRUNCATE customers, outbox CASCADE`;
  await sql`SELECT setval('outbox_armed', 0)`;
  await sql`CHECKPOINT`;
}

export async function streamCount(nc: NatsConnection, stream: string): Promise<number> {
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  return info.state.last_seq;
}

export interface Landed {
  customerId: string;
  version: number;
  /** The outbox row's `occurred_at`: the trigger's clock just before commit (ms precision). */
  occurredAtMs: number;
  /** The stream's store time, which is when the server sends the PubAck. */
  storedAtMs: number;
}

/** Messages `fromSeq..toSeq` of a stream, read after the fact with an ordered consumer. */
export async function readLanded(
  nc: NatsConnection,
  stream: string,
  fromSeq: number,
  toSeq: number,
): Promise<Landed[]> {
  if (toSeq < fromSeq) return [];
  const consumer = await jetstream(nc).consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
  });
  const out: Landed[] = [];
  const iter = await consumer.consume({ max_messages: 1000 });
  for await (const m of iter) {
    const meta = m.json<CustomerChanged>().metadata;
    out.push({
      customerId: meta.customer_id,
      version: meta.version,
      occurredAtMs: Date.parse(meta.occurred_at),
      storedAtMs: Number(m.info.timestampNanos) / 1e6,
    });
    if (m.seq >= toSeq) break;
  }
  await iter.close();
  return out;
}

/** Runs writers through a warm-up, then counts what they did during the measured window. */
async function writerRate(t: TestEnvironment, o: Observer, sql: Sql, timing: Timing) {
  const writers = startWriters(sql, WRITERS, 'insert-update');
  try {
    await sleep(timing.warmupMs);
    const groups = await cpuGroups(o.sql, t.natsUrl, undefined, { 'pg writers': WRITER_APP });
    const cpu0 = sampleCpu(groups);
    const n0 = writers.done.count;
    await sleep(timing.measureMs);
    const cpu = cpuSplit(cpu0, sampleCpu(groups));
    return { rate: ((writers.done.count - n0) * 1000) / timing.measureMs, cpu };
  } finally {
    await writers.stop();
  }
}

async function withNotifyPerRow<T>(sql: Sql, run: () => Promise<T>): Promise<T> {
  const [original] = await sql<
    { def: string }[]
  >`SELECT pg_get_functiondef('rtws_wake_publisher'::regproc) AS def`;
  await sql.unsafe(`CREATE OR REPLACE FUNCTION rtws_wake_publisher() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('rtws_outbox', ''); END $$`);
  try {
    return await run();
  } finally {
    await sql.unsafe(original!.def);
  }
}

/**
 * The settings of every rtws a bench starts.
 *
 * Its request limits are set at their highest: a bench sends more than the default 60,000 a
 * minute (a token's, or the webhooks' of one address), and a request refused with 429 would be
 * counted as an error, or a webhook delivered again later, rather than measured. The limiter stays
 * on, so its cost per request is still part of what is measured.
 *
 * `RTWS_BENCH_SNAPSHOT_EVERY_STEPS` sets the write-behind (1: a snapshot per step), to compare the
 * two in one session; `RTWS_BENCH_CATCHUP_INTERVAL_S` the catch-up interval (0: at start only), to
 * measure the catch-up's share; `RTWS_BENCH_NODE_OPTIONS` Node's flags (V8's heap sizes, say), to
 * measure them, joined with those a bench sets itself.
 */
export function benchTuning(): Env {
  const steps = process.env.RTWS_BENCH_SNAPSHOT_EVERY_STEPS;
  const catchUp = process.env.RTWS_BENCH_CATCHUP_INTERVAL_S;
  const nodeOptions = process.env.RTWS_BENCH_NODE_OPTIONS;
  return {
    RTWS_API_RATE_LIMIT: String(UNLIMITED_PER_MIN),
    RTWS_WEBHOOK_RATE_LIMIT: String(UNLIMITED_PER_MIN),
    ...(steps ? { RTWS_SNAPSHOT_EVERY_STEPS: steps } : {}),
    ...(catchUp ? { RTWS_CATCHUP_INTERVAL_S: catchUp } : {}),
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  };
}

/** The highest request limit rtws takes (core/config-schema.ts): never reached by a bench. */
const UNLIMITED_PER_MIN = 10_000_000;

/** rtws running `roles`, with the settings every bench gives it. */
export function spawnRoles(t: TestEnvironment, roles: string, extra: Env = {}): RtwsProcess {
  return spawnRtws({ ...t.env, ...joinNodeOptions(benchTuning(), extra), RTWS_ROLES: roles });
}

/** rtws running `roles`, once its publisher has published a row written after its start. */
export async function spawnAndWait(
  t: TestEnvironment,
  o: Observer,
  roles: string,
  extra: Env = {},
): Promise<RtwsProcess> {
  const child = spawnRoles(t, roles, extra);
  try {
    const before = await streamCount(o.nats, t.names.streams.changes);
    await o.sql`INSERT INTO customers (name) VALUES ('probe')`;
    const after = await eventually(
      () => streamCount(o.nats, t.names.streams.changes),
      (n) => n > before,
      30_000,
      50,
    );
    if (after <= before)
      throw new Error(`rtws (${roles}) did not publish within 30 s:\n${child.output()}`);
    return child;
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

/** SIGTERM for a clean shutdown, SIGKILL if it takes too long. */
export async function stopChild(child: RtwsProcess): Promise<void> {
  const timer = setTimeout(() => child.child.kill('SIGKILL'), 10_000);
  try {
    await child.kill('SIGTERM');
  } finally {
    clearTimeout(timer);
  }
}

export async function outboxRows(sql: Sql): Promise<number> {
  const [r] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
  return r!.n;
}

/** The processes of a phase with the publisher running: the writers' and its backends apart. */
const publisherGroups = (t: TestEnvironment, o: Observer, publisher: RtwsProcess) =>
  cpuGroups(o.sql, t.natsUrl, publisher, {
    'pg writers': WRITER_APP,
    'pg publisher': 'rtws-publisher',
  });

async function drainingRun(
  t: TestEnvironment,
  o: Observer,
  sql: Sql,
  timing: Timing,
  publisher: RtwsProcess,
) {
  const stream = t.names.streams.changes;
  const writers = startWriters(sql, WRITERS, 'insert-update');
  let stopped = false;
  try {
    await sleep(timing.warmupMs);
    const groups = await publisherGroups(t, o, publisher);
    const profile = phaseProfiler(timing, PUBLISHER_LABEL, publisher.child.pid);
    profile.start();
    const cpu0 = sampleCpu(groups);
    const [n0, s0] = [writers.done.count, await streamCount(o.nats, stream)];
    await sleep(timing.measureMs);
    const [n1, s1] = [writers.done.count, await streamCount(o.nats, stream)];
    const cpu = cpuSplit(cpu0, sampleCpu(groups));
    await profile.stop('8 writers');
    const backlog = await outboxRows(o.sql);
    await writers.stop();
    stopped = true;
    const drainStart = performance.now();
    const left = await eventually(
      () => outboxRows(o.sql),
      (n) => n === 0,
      60_000,
      20,
    );
    const drainMs = left === 0 ? performance.now() - drainStart : NaN;
    const landed = await readLanded(o.nats, stream, s0 + 1, s1);
    const perSecond = (n: number) => (n * 1000) / timing.measureMs;
    return {
      writes: perSecond(n1 - n0),
      landed: perSecond(s1 - s0),
      backlog,
      drainMs,
      landedRows: landed,
      cpu,
      errors: writers.done.errors,
    };
  } finally {
    if (!stopped) await writers.stop();
  }
}

/** One writer, a row every LONE_GAP_MS: what a change costs the publisher when it comes alone. */
async function loneChanges(
  t: TestEnvironment,
  o: Observer,
  sql: Sql,
  timing: Timing,
  publisher: RtwsProcess,
) {
  const stream = t.names.streams.changes;
  const groups = await publisherGroups(t, o, publisher);
  const write = (n: number) => sql`INSERT INTO customers (name) VALUES (${`Lone ${n}`})`;
  let n = 0;
  for (const until = Date.now() + timing.warmupMs; Date.now() < until; await sleep(LONE_GAP_MS))
    await write(n++);
  await eventually(
    () => outboxRows(o.sql),
    (left) => left === 0,
    10_000,
    20,
  );
  const s0 = await streamCount(o.nats, stream);
  const cpu0 = sampleCpu(groups);
  const written = n;
  for (const until = Date.now() + timing.measureMs; Date.now() < until; await sleep(LONE_GAP_MS))
    await write(n++);
  await eventually(
    () => outboxRows(o.sql),
    (left) => left === 0,
    10_000,
    20,
  );
  const cpu1 = sampleCpu(groups);
  const s1 = await streamCount(o.nats, stream);
  const landed = await readLanded(o.nats, stream, s0 + 1, s1);
  const changes = n - written;
  const msPer = (group: string) => (groupDelta(cpu0, cpu1, group) / changes) * 1000;
  return {
    changes,
    landed: landed.length,
    latency: spread(landed.map((l) => l.storedAtMs - l.occurredAtMs)),
    publisherMs: msPer('rtws'),
    backendMs: msPer('pg publisher'),
    cpu: cpuSplit(cpu0, cpu1),
  };
}

export async function benchCapture(timing: Timing): Promise<BenchResult> {
  const t = await testEnvironment();
  let o: Observer | undefined;
  let sql: Sql | undefined;
  let publisher: RtwsProcess | undefined;
  try {
    o = await observe(t);
    sql = connectPostgres(t.db.url, { max: WRITERS, applicationName: WRITER_APP });
    await reset(o.sql);
    const base = await writerRate(t, o, sql, timing);
    await reset(o.sql);
    const notify = await withNotifyPerRow(o.sql, () => writerRate(t, o!, sql!, timing));
    await reset(o.sql);
    publisher = await spawnAndWait(t, o, 'publisher', profileEnv(timing, PUBLISHER_LABEL));
    const run = await drainingRun(t, o, sql, timing, publisher);
    const lone = await loneChanges(t, o, sql, timing, publisher);
    await stopChild(publisher);
    publisher = undefined;
    // The baseline again after the run: the mean of both brackets the neighbours' drift.
    await reset(o.sql);
    const after = await writerRate(t, o, sql, timing);
    const lat = spread(run.landedRows.map((l) => l.storedAtMs - l.occurredAtMs));
    const b = (base.rate + after.rate) / 2;
    const perCore = (base.rate / base.cpu.pipeline + after.rate / after.cpu.pipeline) / 2;
    const figures: Figure[] = [
      {
        name: 'capture baseline: 8 writers, trigger, no NOTIFY, nothing draining',
        value: b,
        unit: 'writes/s',
        note: `mean of ${Math.round(base.rate)} before and ${Math.round(after.rate)} after the other phases`,
      },
      {
        name: 'capture, NOTIFY per row (no publisher)',
        value: notify.rate,
        unit: 'writes/s',
        baseline: b,
      },
      {
        name: 'capture run: writes with the publisher draining',
        value: run.writes,
        unit: 'writes/s',
        baseline: b,
      },
      {
        name: 'capture run: landed in JetStream',
        value: run.landed,
        unit: 'msg/s',
        baseline: b,
        target: { text: '>= 70%', met: run.landed >= 0.7 * b },
        note: `outbox backlog at the end of the window ${run.backlog} rows, drained ${Number.isNaN(run.drainMs) ? 'NOT within 60 s' : `${Math.round(run.drainMs)} ms`} after the writers stopped; ${run.errors} writer errors`,
      },
      {
        name: 'capture run: landed per pipeline CPU-second',
        value: run.landed / run.cpu.pipeline,
        unit: 'msg/CPU-s',
        baseline: perCore,
        note: 'CPU of the writers, their backends, the publisher, its backend and nats-server: what the pipeline costs, whatever the neighbours take',
      },
      {
        name: 'capture run: commit -> PubAck p50',
        value: lat.p50,
        unit: 'ms',
        note: `n=${lat.n}; occurred_at (trigger clock) to the stream's store time`,
      },
      { name: 'capture run: commit -> PubAck p99', value: lat.p99, unit: 'ms' },
      {
        name: `capture, lone changes (one writer, ${LONE_GAP_MS} ms apart): commit -> PubAck p99`,
        value: lone.latency.p99,
        unit: 'ms',
        note: `p50 ${lone.latency.p50.toFixed(2)} ms, n=${lone.latency.n} of ${lone.changes} changes`,
      },
      {
        name: 'capture, lone changes: publisher CPU per change, its process and its backend',
        value: lone.publisherMs + lone.backendMs,
        unit: 'ms',
        note: `the publisher's process ${lone.publisherMs.toFixed(2)} ms, its Postgres backend ${lone.backendMs.toFixed(2)} ms`,
      },
    ];
    const cpu = [
      `capture baseline (before): ${base.cpu.text}`,
      `capture baseline (after): ${after.cpu.text}`,
      `capture NOTIFY per row: ${notify.cpu.text}`,
      `capture run: ${run.cpu.text}`,
      `capture, lone changes: ${lone.cpu.text}`,
    ];
    return { figures, cpu };
  } finally {
    if (publisher) await stopChild(publisher);
    await sql?.end();
    await o?.close();
    await t.cleanup();
  }
}
