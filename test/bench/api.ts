// Through the API: POST /customers against rtws (api and publisher) in its own process, from the
// request to the PubAck. The baseline is the raw insert rate of one Node process with 16 in flight
// on the same table and trigger, with nothing draining.
import http from 'node:http';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import type { RtwsProcess } from '../harness/process.ts';
import { eventually } from '../harness/stream.ts';
import {
  cpuGroups,
  outboxRows,
  readLanded,
  reset,
  spawnAndWait,
  startWriters,
  stopChild,
  streamCount,
  type BenchResult,
} from './capture.ts';
import {
  cpuSplit,
  phaseProfiler,
  profileEnv,
  sampleCpu,
  sleep,
  spread,
  type CpuSample,
  type Figure,
  type Timing,
  closedLoops,
} from './report.ts';

const CLIENTS = 16;
const PACED_PER_SECOND = 500;
const RAW_APP = 'rtws-bench-raw';
const API_LABEL = 'api';

export interface Target {
  url: URL;
  token: string;
  agent: http.Agent;
}

class RequestFailed extends Error {
  constructor(
    what: string,
    readonly status: number | undefined,
    body: string,
  ) {
    super(`${what} answered ${status}: ${body.slice(0, 200)}`);
  }
}

/** One write over the keep-alive agent; resolves with the customer's id and new version. */
export function writeCustomer(
  t: Target,
  method: 'POST' | 'PATCH',
  path: string,
  fields: Record<string, unknown>,
): Promise<{ id: string; version: number }> {
  const body = JSON.stringify(fields);
  const expected = method === 'POST' ? 201 : 200;
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, t.url),
      {
        method,
        agent: t.agent,
        headers: {
          authorization: `Bearer ${t.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          if (res.statusCode !== expected)
            reject(new RequestFailed(`${method} ${path}`, res.statusCode, text));
          else resolve(JSON.parse(text) as { id: string; version: number });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One POST /customers; resolves with the new customer's id. */
export async function createCustomer(t: Target, n: number): Promise<string> {
  const body = { name: `Bench ${n}`, email: `bench.${n}@example.com` };
  return (await writeCustomer(t, 'POST', '/customers', body)).id;
}

/** Closed-loop clients, each with one request in flight. */
export function startClients(t: Target, clients: number) {
  let n = 0;
  return closedLoops(clients, async () => {
    await createCustomer(t, n++);
  });
}

/**
 * Closed-loop clients patching names, each on customers of its own in turn, so that no two wait
 * for one row's lock.
 */
function startPatchers(t: Target, clients: number, ids: readonly string[]) {
  const per = Math.floor(ids.length / clients);
  return closedLoops(clients, async (client, n) => {
    const id = ids[client * per + (n % per)]!;
    await writeCustomer(t, 'PATCH', `/customers/${id}`, { name: `Patched ${client} ${n}` });
  });
}

async function rawRate(
  o: Observer,
  natsUrl: string,
  sql: Sql,
  timing: Timing,
  kind: 'insert' | 'insert-tx',
) {
  const writers = startWriters(sql, CLIENTS, kind);
  try {
    await sleep(timing.warmupMs);
    const groups = await cpuGroups(o.sql, natsUrl, undefined, { 'pg writers': RAW_APP });
    const cpu0 = sampleCpu(groups);
    const n0 = writers.done.count;
    await sleep(timing.measureMs);
    return {
      rate: ((writers.done.count - n0) * 1000) / timing.measureMs,
      cpu: cpuSplit(cpu0, sampleCpu(groups)),
    };
  } finally {
    await writers.stop();
  }
}

/** Waits until the publisher has drained the outbox (or 30 s pass); returns the stream's last seq. */
async function settle(o: Observer, stream: string): Promise<number> {
  await eventually(
    () => outboxRows(o.sql),
    (n) => n === 0,
    30_000,
    20,
  );
  return streamCount(o.nats, stream);
}

async function closedLoop(
  env: TestEnvironment,
  o: Observer,
  t: Target,
  rtws: RtwsProcess,
  clients: number,
  timing: Timing,
  patch?: readonly string[],
) {
  const stream = env.names.streams.changes;
  const load = patch ? startPatchers(t, clients, patch) : startClients(t, clients);
  let stopped = false;
  try {
    await sleep(timing.warmupMs);
    const groups = await cpuGroups(o.sql, env.natsUrl, rtws, {
      'pg api': 'rtws',
      'pg publisher': 'rtws-publisher',
    });
    const profile = phaseProfiler(timing, API_LABEL, rtws.child.pid);
    profile.start();
    const cpu0 = sampleCpu(groups);
    const [n0, s0] = [load.done.count, await streamCount(o.nats, stream)];
    await sleep(timing.measureMs);
    const [n1, s1] = [load.done.count, await streamCount(o.nats, stream)];
    const cpu = cpuSplit(cpu0, sampleCpu(groups));
    await profile.stop(
      `${patch ? 'patch, ' : ''}${clients === 1 ? '1 client' : `${clients} clients`}`,
    );
    await load.stop();
    stopped = true;
    const landed = await readLanded(o.nats, stream, s0 + 1, s1);
    const perSecond = (n: number) => (n * 1000) / timing.measureMs;
    await settle(o, stream);
    return {
      http: perSecond(n1 - n0),
      landed: perSecond(s1 - s0),
      latency: spread(landed.map((l) => l.storedAtMs - l.occurredAtMs)),
      cpu,
      errors: load.done.errors,
    };
  } finally {
    if (!stopped) await load.stop();
  }
}

/** Open loop: requests leave on a schedule, whether or not earlier ones have answered. */
async function paced(
  env: TestEnvironment,
  o: Observer,
  t: Target,
  rtws: RtwsProcess,
  timing: Timing,
  seconds: number,
) {
  const stream = env.names.streams.changes;
  const sentAt = new Map<string, number>();
  const httpMs: number[] = [];
  const inflight = new Set<Promise<void>>();
  let errors = 0;
  let answered = 0;
  const s0 = await streamCount(o.nats, stream);
  const start = Date.now();
  const measureFrom = start + timing.warmupMs;
  const end = measureFrom + seconds * 1000;
  const groups = await cpuGroups(o.sql, env.natsUrl, rtws, {
    'pg api': 'rtws',
    'pg publisher': 'rtws-publisher',
  });
  const profile = phaseProfiler(timing, API_LABEL, rtws.child.pid);
  let cpu0: CpuSample | undefined;
  let sent = 0;
  for (let now = Date.now(); now < end; now = Date.now()) {
    if (now >= measureFrom && !cpu0) {
      profile.start();
      cpu0 = sampleCpu(groups);
    }
    const due = Math.floor(((now - start) * PACED_PER_SECOND) / 1000);
    for (; sent < due; sent++) {
      const at = Date.now();
      const p = createCustomer(t, sent).then(
        (id) => {
          const done = Date.now();
          if (done >= measureFrom && done < end) answered++;
          if (at < measureFrom) return;
          sentAt.set(id, at);
          httpMs.push(done - at);
        },
        () => void errors++,
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await sleep(1);
  }
  const cpu = cpuSplit(cpu0 ?? sampleCpu(groups), sampleCpu(groups));
  await profile.stop(`paced ${PACED_PER_SECOND}`);
  await Promise.all(inflight);
  const s1 = await settle(o, stream);
  const landed = (await readLanded(o.nats, stream, s0 + 1, s1)).filter(
    (l) => l.occurredAtMs >= measureFrom,
  );
  const requestToAck = landed.flatMap((l) => {
    const at = sentAt.get(l.customerId);
    return at === undefined ? [] : [l.storedAtMs - at];
  });
  return {
    rate: (answered * 1000) / (end - measureFrom),
    commit: spread(landed.map((l) => l.storedAtMs - l.occurredAtMs)),
    request: spread(requestToAck),
    http: spread(httpMs),
    cpu,
    errors,
  };
}

/**
 * The API's URL from rtws's banner. The publisher runs before the API listens, and the banner
 * comes once every role is up: it is waited for, up to 30 s.
 */
export async function apiUrl(rtws: RtwsProcess): Promise<URL> {
  const deadline = Date.now() + 30_000;
  while (!/API:/.test(rtws.output()) && rtws.child.exitCode === null && Date.now() < deadline)
    await sleep(50);
  const match = /API:\s+(\S+)/.exec(rtws.output());
  if (!match) throw new Error(`rtws printed no API URL:\n${rtws.output()}`);
  return new URL(match[1]!);
}

export async function benchApi(timing: Timing): Promise<BenchResult> {
  const env = await testEnvironment();
  let o: Observer | undefined;
  let sql: Sql | undefined;
  let rtws: RtwsProcess | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    o = await observe(env);
    sql = connectPostgres(env.db.url, { max: CLIENTS, applicationName: RAW_APP });
    await reset(o.sql);
    const raw = await rawRate(o, env.natsUrl, sql, timing, 'insert');
    await reset(o.sql);
    const rawTx = await rawRate(o, env.natsUrl, sql, timing, 'insert-tx');
    await reset(o.sql);
    rtws = await spawnAndWait(env, o, 'api,publisher', profileEnv(timing, API_LABEL));
    const target: Target = { url: await apiUrl(rtws), token: env.env.RTWS_API_TOKEN!, agent };
    const many = await closedLoop(env, o, target, rtws, CLIENTS, timing);
    const ids = (await o.sql<{ id: string }[]>`SELECT id FROM customers LIMIT ${CLIENTS * 64}`).map(
      (r) => r.id,
    );
    const patches = await closedLoop(env, o, target, rtws, CLIENTS, timing, ids);
    const one = await closedLoop(env, o, target, rtws, 1, timing);
    const pacedSeconds = timing.measureMs / 1000 + 4;
    const slow = await paced(env, o, target, rtws, timing, pacedSeconds);
    await stopChild(rtws);
    rtws = undefined;
    // The baseline again after the API phases: the mean of both brackets the neighbours' drift.
    await reset(o.sql);
    const rawAfter = await rawRate(o, env.natsUrl, sql, timing, 'insert');
    const r = (raw.rate + rawAfter.rate) / 2;
    const rawPerCore = (raw.rate / raw.cpu.pipeline + rawAfter.rate / rawAfter.cpu.pipeline) / 2;
    const figures: Figure[] = [
      {
        name: 'raw insert, one Node process, 16 in flight, nothing draining',
        value: r,
        unit: 'writes/s',
        note: `mean of ${Math.round(raw.rate)} before and ${Math.round(rawAfter.rate)} after the API phases`,
      },
      {
        name: 'raw insert as BEGIN/INSERT/COMMIT, 16 in flight',
        value: rawTx.rate,
        unit: 'writes/s',
        baseline: r,
        note: 'the three round trips of a create with an Idempotency-Key (one transaction), without HTTP or a publisher',
      },
      {
        name: 'API, 16 clients: request -> PubAck',
        value: many.landed,
        unit: 'writes/s',
        baseline: r,
        target: { text: '>= 50%', met: many.landed >= 0.5 * r },
        note: `HTTP 201s ${Math.round(many.http)}/s; commit -> PubAck p50 ${many.latency.p50.toFixed(1)} ms, p99 ${many.latency.p99.toFixed(1)} ms; ${many.errors} errors`,
      },
      {
        name: 'API, 16 clients: per pipeline CPU-second',
        value: many.landed / many.cpu.pipeline,
        unit: 'writes/CPU-s',
        baseline: rawPerCore,
        note: 'CPU of the clients, rtws, its backends and nats-server, against the raw writers and their backends',
      },
      {
        name: 'API, 16 clients, PATCH: request -> PubAck',
        value: patches.landed,
        unit: 'writes/s',
        baseline: r,
        note: `each of ${ids.length} customers renamed in turn; HTTP 200s ${Math.round(patches.http)}/s; commit -> PubAck p50 ${patches.latency.p50.toFixed(1)} ms, p99 ${patches.latency.p99.toFixed(1)} ms; ${patches.errors} errors`,
      },
      {
        name: 'API, 1 client: request -> PubAck',
        value: one.landed,
        unit: 'writes/s',
        baseline: r,
        note: `commit -> PubAck p50 ${one.latency.p50.toFixed(1)} ms, p99 ${one.latency.p99.toFixed(1)} ms`,
      },
      {
        name: `API, paced ${PACED_PER_SECOND}/s open loop: answered`,
        value: slow.rate,
        unit: 'writes/s',
        baseline: PACED_PER_SECOND,
        note: `${pacedSeconds} s measured; ${slow.errors} errors`,
      },
      {
        name: `API, paced ${PACED_PER_SECOND}/s: commit -> PubAck p99`,
        value: slow.commit.p99,
        unit: 'ms',
        target: { text: '< 20 ms', met: slow.commit.p99 < 20 },
        note: `p50 ${slow.commit.p50.toFixed(1)} ms, max ${slow.commit.max.toFixed(1)} ms, n=${slow.commit.n}; a bare prototype measured p99 10 ms`,
      },
      {
        name: `API, paced ${PACED_PER_SECOND}/s: request -> PubAck p99`,
        value: slow.request.p99,
        unit: 'ms',
        note: `p50 ${slow.request.p50.toFixed(1)} ms`,
      },
      {
        name: `API, paced ${PACED_PER_SECOND}/s: HTTP response p99`,
        value: slow.http.p99,
        unit: 'ms',
        note: `p50 ${slow.http.p50.toFixed(1)} ms`,
      },
    ];
    const cpu = [
      `raw insert (before): ${raw.cpu.text}`,
      `raw insert (after): ${rawAfter.cpu.text}`,
      `raw insert in a transaction: ${rawTx.cpu.text}`,
      `API 16 clients: ${many.cpu.text}`,
      `API 16 clients, PATCH: ${patches.cpu.text}`,
      `API 1 client: ${one.cpu.text}`,
      `API paced: ${slow.cpu.text}`,
    ];
    return { figures, cpu };
  } finally {
    agent.destroy();
    if (rtws) await stopChild(rtws);
    await sql?.end();
    await o?.close();
    await env.cleanup();
  }
}
