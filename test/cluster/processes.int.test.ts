// rtws as separate processes on a private three-node JetStream cluster (R3 everywhere): one
// `api,publisher` process and three workers, against the Stripe emulator with webhooks on. During
// a burst of creates and updates, one worker is SIGKILLed, then the node that leads CHANGES, then
// a second worker. Afterwards every customer converges once, no two writes for one customer
// overlapped, every committed version is in CHANGES once, the DLQ is empty, and the account's
// budget (RTWS_STRIPE_RATE=25, shared through KV) held over every 10 s. Then a joining worker takes
// its share within a lease period, and one stopped with SIGTERM releases its leases before the
// next holder takes them.
//
// RTWS_CLUSTER_CUSTOMERS sets the burst's size (default 150 customers, each created and updated).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { LEASE_PREFIX } from '../../adapters/jetstream/kv-lease-store.ts';
import type { Env } from '../../core/config.ts';
import { natsCluster, type NatsCluster } from '../harness/nats-cluster.ts';
import { apiUrlOf, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { authHeaders, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { testSize } from '../harness/services.ts';
import { eventually } from '../harness/stream.ts';
import { busiest } from '../harness/windows.ts';
import { assertStreamMatchesDatabase } from '../faults/verify.ts';
import { apiClient, inPool, type ApiClient } from '../sync/api-client.ts';
import { awaitConvergence, converged, summary } from '../sync/convergence.ts';
import { stripeCustomersByRtwsId, stripeSide, type StripeSide } from '../sync/stack.ts';

const CUSTOMERS = testSize('RTWS_CLUSTER_CUSTOMERS', 150);
const RATE = 25;
const LEASE_TTL_MS = 10_000;
const PARTITIONS = 16;
/** Every write is held this long, so a write that started before the last ended shows up. */
const HOLD_MS = 100;
const WEBHOOK_SECRET = 'whsec_cluster_processes';

interface Ctx {
  cluster?: NatsCluster;
  t?: TestEnvironment;
  side?: StripeSide;
  env?: Env;
  main?: RtwsProcess;
  workers: RtwsProcess[];
  api?: ApiClient;
  url?: string;
  sql?: Sql;
  nats?: NatsConnection;
}

const test = suite<Ctx>('rtws processes on a three-node cluster', { workers: [] });

test.before(async (ctx) => {
  ctx.cluster = await natsCluster(3);
  await ctx.cluster.metaLeader();
  // The suite's cleanup talks to node-1: the node killed is made to be another.
  ctx.t = await testEnvironment({ natsUrl: ctx.cluster.urls[0]! });
  ctx.side = await stripeSide();
  ctx.env = {
    ...ctx.t.env,
    ...ctx.side.env({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET }),
    NATS_URL: ctx.cluster.urls.join(','),
    RTWS_REPLICAS: '3',
    RTWS_STRIPE_RATE: String(RATE),
    RTWS_MATCH_BY: 'none',
    RTWS_LEASE_TTL_MS: String(LEASE_TTL_MS),
    // A call starts only while the lease outlives it by this (at most 40% of the TTL, less 1 s).
    RTWS_CALL_TIMEOUT_MS: '3000',
    RTWS_PARTITIONS: String(PARTITIONS),
    // On failure the processes' output is shown: what they warned of is what helps.
    LOG_LEVEL: 'warn',
  };
  ctx.main = spawnRtws({ ...ctx.env, RTWS_ROLES: 'api,publisher' });
  // uvu reports a failed hook without its error: say it here.
  ctx.url = await apiUrlOf(ctx.main, 60_000).catch((err: unknown) => {
    console.error(err);
    throw err;
  });
  ctx.api = apiClient(ctx.url);
  ctx.side.emulator.registerWebhookEndpoint(
    new URL('/webhooks/stripe', ctx.url).href,
    WEBHOOK_SECRET,
  );
  ctx.sql = connectPostgres(ctx.t.db.url, { max: 4 });
  ctx.nats = await connectNats({ servers: [...ctx.cluster.urls], name: 'rtws-test-processes' });
});

test.after(async (ctx) => {
  for (const w of ctx.workers) await w.kill().catch(() => {});
  await ctx.main?.kill().catch(() => {});
  await ctx.nats?.close().catch(() => {});
  await ctx.sql?.end().catch(() => {});
  await ctx.side?.emulator.close();
  await ctx.t?.cleanup();
  await ctx.cluster?.stop();
});

interface WorkersBody {
  data: { worker_id: string; live: boolean; partitions: { partition: number }[] }[];
  unowned: number[];
}

/** The API answers 503 while NATS cannot be read (a cluster still electing leaders): it retries. */
async function workers(ctx: Ctx): Promise<WorkersBody> {
  for (let tries = 1; ; tries++) {
    const res = await fetch(new URL('/workers', ctx.url), { headers: authHeaders() });
    if (res.status === 503 && tries < 20) {
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    assert.is(res.status, 200, `GET /workers: ${await res.clone().text()}`);
    return (await res.json()) as WorkersBody;
  }
}

const holding = (body: WorkersBody) =>
  new Map(body.data.map((w) => [w.worker_id, w.partitions.map((p) => p.partition)]));

/** Whether the live workers hold half the partitions each, the same on two reads a renewal apart. */
async function evenSplit(ctx: Ctx): Promise<{ even: boolean; split: string }> {
  const before = JSON.stringify([...holding(await workers(ctx))]);
  await new Promise((r) => setTimeout(r, LEASE_TTL_MS / 4));
  const now = holding(await workers(ctx));
  const split = JSON.stringify([...now]);
  const held = [...now.values()].filter((p) => p.length > 0);
  const halves = held.length === 2 && held.every((p) => p.length === PARTITIONS / 2);
  return { even: halves && split === before, split };
}

function startWorker(ctx: Ctx): RtwsProcess {
  const w = spawnRtws({ ...ctx.env, RTWS_ROLES: 'worker' });
  ctx.workers.push(w);
  return w;
}

/** Output of every process, for a failure's message. */
function outputs(ctx: Ctx): string {
  return [ctx.main!, ...ctx.workers]
    .map((p, i) => `--- process ${i} (pid ${p.child.pid})\n${p.output().slice(-3_000)}`)
    .join('\n');
}

/** For up to three customers that did not converge: both sides, the sync view and the writes. */
async function diagnose(ctx: Ctx, ids: readonly string[]): Promise<string> {
  const out: string[] = [];
  const inStripe = await stripeCustomersByRtwsId(ctx.side!.stripe);
  for (const id of ids.slice(0, 3)) {
    const [row] =
      await ctx.sql!`SELECT name, email, metadata, version FROM customers WHERE id = ${id}`;
    const c = inStripe.get(id)?.[0];
    const view = await ctx.api!.sync(id).catch((err: unknown) => String(err));
    const writes = ctx
      .side!.emulator.requests({ method: 'POST' })
      .filter((r) => r.idempotencyKey?.includes(id) || (c && r.path.endsWith(c.id)))
      .map((r) => `${r.at} ${r.path} ${r.idempotencyKey} ${r.status}`);
    out.push(
      `--- ${id}\npostgres: ${JSON.stringify(row)}\nstripe: ${JSON.stringify(
        c && { id: c.id, name: c.name, email: c.email, metadata: c.metadata },
      )}\nsync: ${JSON.stringify(view)}\nwrites:\n${writes.join('\n')}`,
    );
  }
  return out.join('\n');
}

/** Starts again any node a test killed (a restart leaves a running node alone). */
async function wholeCluster(ctx: Ctx): Promise<void> {
  for (const node of ctx.cluster!.nodes) await node.restart();
  await ctx.cluster!.metaLeader();
}

/** Moves the leadership of `stream` off node-1 (which the suite's cleanup needs). */
async function leaderOffNodeOne(ctx: Ctx, stream: string): Promise<string> {
  const jsm = await jetstreamManager(ctx.nats!);
  for (let i = 0; i < 20; i++) {
    const leader = (await jsm.streams.info(stream)).cluster?.leader;
    if (leader && leader !== 'node-1') return leader;
    if (leader === 'node-1')
      await ctx.nats!.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`).catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${stream} is still led by node-1`);
}

test('faults mid-burst: every customer converges once, within the one budget', async (ctx) => {
  const { side, t } = ctx;
  const api = ctx.api!;
  for (let i = 0; i < 3; i++) startWorker(ctx);
  const ready = await eventually(
    () => workers(ctx),
    (b) =>
      b.unowned.length === 0 && [...holding(b).values()].filter((p) => p.length > 0).length === 3,
    60_000,
    250,
  );
  assert.is(ready.unowned.length, 0, `three workers share the partitions\n${outputs(ctx)}`);
  side!.emulator.delayRequests({ method: 'POST', path: '/v1/customers*', ms: HOLD_MS });
  const changesLeader = await leaderOffNodeOne(ctx, t!.names.streams.changes);

  // Creates, then one update each, paced so that the faults land while changes keep coming.
  const writes = CUSTOMERS * 2;
  let done = 0;
  const faults: Promise<void>[] = [];
  const at = (share: number, fault: () => Promise<unknown>) => {
    if (done === Math.floor(writes * share)) faults.push(fault().then(() => {}));
  };
  const wrote = async () => {
    done++;
    at(0.25, () => ctx.workers[0]!.kill('SIGKILL'));
    at(0.5, () => ctx.cluster!.nodes.find((n) => n.name === changesLeader)!.kill());
    at(0.75, () => ctx.workers[1]!.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 40));
  };
  const made = await inPool(
    Array.from({ length: CUSTOMERS }, (_, i) => i),
    4,
    async (i) => {
      const c = await api.create({ name: `Cluster ${i}`, email: `cluster${i}@example.com` });
      await wrote();
      return c;
    },
  );
  await inPool(made, 4, async (c) => {
    await api.patch(c.id, { metadata: { round: '1' } });
    await wrote();
  });
  await Promise.all(faults);
  assert.is(faults.length, 3, 'the three faults happened during the burst');

  const report = await awaitConvergence(ctx.sql!, side!.stripe, api, 180_000);
  assert.ok(
    converged(report),
    `${summary(report)}\n${await diagnose(ctx, report.differing)}\n${outputs(ctx)}`,
  );
  assert.is(report.stripeCustomers, CUSTOMERS, 'one Stripe customer each');

  // No two writes for one customer overlapped: each is held HOLD_MS, so they start that far apart.
  const byCus = new Map<string, string>();
  for (const [id, [c]] of await stripeCustomersByRtwsId(side!.stripe)) if (c) byCus.set(c.id, id);
  const times = new Map<string, number[]>();
  const posts = side!.emulator.requests({ method: 'POST' }).filter((r) => {
    return r.path.startsWith('/v1/customers');
  });
  for (const r of posts) {
    const id =
      /^rtws-(.+)-create/.exec(r.idempotencyKey ?? '')?.[1] ??
      byCus.get(r.path.slice('/v1/customers/'.length));
    assert.ok(id, `a write we can place: ${r.path} ${r.idempotencyKey}`);
    times.set(id, [...(times.get(id) ?? []), r.at]);
  }
  for (const [id, ats] of times) {
    ats.sort((a, b) => a - b);
    for (let i = 1; i < ats.length; i++)
      assert.ok(
        ats[i]! - ats[i - 1]! >= HOLD_MS,
        `${id}: writes ${ats[i]! - ats[i - 1]!} ms apart`,
      );
  }

  // The account's budget, shared by processes that came and went.
  const most = busiest(
    posts.map((r) => r.at).sort((a, b) => a - b),
    10_000,
  );
  assert.ok(most <= RATE * 10 * 1.1, `${most} writes in the busiest 10 s (at most ${RATE * 11})`);

  // The killed node comes back before the stream is read: nats-server 2.9 may place a new
  // ephemeral consumer (the reader's) on a peer that is down, and its creation then times out.
  // Everything above ran with the node down.
  await wholeCluster(ctx);
  await assertStreamMatchesDatabase(ctx.sql!, ctx.nats!, t!.names.streams.changes);
  const dlq = await jetstreamManager(ctx.nats!).then((jsm) =>
    jsm.streams.info(t!.names.streams.dlq),
  );
  assert.is(dlq.state.messages, 0, 'nothing was dead-lettered');
});

test('a worker that joins takes its share within a lease period', async (ctx) => {
  // One worker is left of three; a second one joins. The cluster is whole, also when the test
  // before failed with a node down.
  await wholeCluster(ctx);
  const before = holding(await workers(ctx));
  const joining = startWorker(ctx);
  const startedAt = Date.now();
  const joined = await eventually(
    () => workers(ctx),
    (b) => [...holding(b)].some(([id, p]) => !before.has(id) && p.length >= PARTITIONS / 2 - 1),
    LEASE_TTL_MS * 3,
    100,
  );
  const mine = [...holding(joined)].find(([id]) => !before.has(id));
  assert.ok(mine && mine[1].length >= PARTITIONS / 2 - 1, `joined: ${JSON.stringify(mine)}`);
  // From the process's start, which includes its own start-up (migrations, streams, account).
  assert.ok(
    Date.now() - startedAt < LEASE_TTL_MS + 15_000,
    `its share came ${Date.now() - startedAt} ms after it started\n${joining.output()}`,
  );
});

test('a worker stopped with SIGTERM releases its partitions before the next holder takes them', async (ctx) => {
  const live = ctx.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  assert.is(live.length, 2);
  const leaving = live[0]!;
  // The joiner may still be taking its share, and the hand-over below must not be confused with
  // that: wait for an even split that holds over a renewal period.
  const settled = await eventually(
    () => evenSplit(ctx),
    (split) => split.even,
    LEASE_TTL_MS * 3,
    0,
  );
  assert.ok(settled.even, `the two workers settle on an even split: ${settled.split}`);
  const js = jetstream(ctx.nats!, { timeout: 20_000 });
  const kv = await new Kvm(js).open(ctx.t!.names.bucket('LEASES'));
  const ops: { key: string; op: string; holder?: string }[] = [];
  const watch = await kv.watch({ key: `${LEASE_PREFIX}>` });
  const watching = (async () => {
    for await (const e of watch) {
      const holder =
        e.operation === 'PUT' && e.value.length > 0
          ? (JSON.parse(new TextDecoder().decode(e.value)) as { holder?: string }).holder
          : undefined;
      ops.push({ key: e.key, op: e.operation, ...(holder ? { holder } : {}) });
    }
  })();
  // The watch first replays the current entries: they say who holds what as the worker stops.
  await new Promise((r) => setTimeout(r, 500));
  const seen = ops.length;
  const holderOf = new Map<string, string | undefined>();
  for (const o of ops.slice(0, seen)) holderOf.set(o.key, o.holder);
  assert.is(holderOf.size, PARTITIONS, `the watch saw every lease: ${JSON.stringify(ops)}`);
  await leaving.kill('SIGTERM');
  const after = await eventually(
    () => workers(ctx),
    (b) => [...holding(b).values()].some((p) => p.length === PARTITIONS),
    LEASE_TTL_MS * 3,
    100,
  );
  watch.stop();
  await watching;
  const [stayer] = [...holding(after)].find(([, p]) => p.length === PARTITIONS) ?? [];
  assert.ok(stayer, 'the remaining worker holds every partition');
  const moved = [...holderOf].filter(([, holder]) => holder !== stayer).map(([key]) => key);
  assert.is(moved.length, PARTITIONS / 2, `the leaving worker held half: ${JSON.stringify(ops)}`);
  const later = ops.slice(seen);
  for (const key of moved) {
    const forP = later.filter((o) => o.key === key);
    const released = forP.findIndex((o) => o.op === 'DEL' || o.op === 'PURGE');
    const taken = forP.findIndex((o) => o.op === 'PUT' && o.holder === stayer);
    assert.ok(released >= 0, `${key}: released (${JSON.stringify(forP)})`);
    assert.ok(taken > released, `${key}: taken after its release (${JSON.stringify(forP)})`);
  }
});

test.run();
