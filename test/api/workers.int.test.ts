// GET /workers, served by a process that runs the api role only: it reads the workers and their
// leases from NATS, never from a worker of its own. On a private nats-server, so that the last test
// can take NATS away.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Rtws } from '../../deploy/rtws.ts';
import { onPrivateNats, type PrivateEnvironment } from '../harness/private-environment.ts';
import { authHeaders, startTestRtws } from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { startTestWorker, type TestWorker } from '../runtime/fixture.ts';

const LEASE_TTL_MS = 3_000;

interface WorkersBody {
  data: {
    worker_id: string;
    live: boolean;
    heartbeat_at: string | null;
    partitions: { partition: number; lease_expires_at: string; revision: number }[];
  }[];
  partitions: number;
  unowned: number[];
  lease_ttl_ms: number | null;
}

const test = suite<{ env: PrivateEnvironment; rtws: Rtws; workers: TestWorker[] }>('GET /workers');

test.before(async (ctx) => {
  ctx.workers = [];
  ctx.env = await onPrivateNats();
  ctx.rtws = await startTestRtws(ctx.env.t, { RTWS_ROLES: 'api' });
});

test.after(async (ctx) => {
  for (const w of ctx.workers ?? []) await w.close();
  await ctx.rtws?.close();
  await ctx.env?.close();
});

async function get(ctx: { rtws: Rtws }, headers: Record<string, string> = authHeaders()) {
  const res = await fetch(`${ctx.rtws.url}/workers`, { headers });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: (await res.json()) as Record<string, any>,
  };
}

async function workers(ctx: { rtws: Rtws }): Promise<WorkersBody & { at: number }> {
  const res = await get(ctx);
  assert.is(res.status, 200, JSON.stringify(res.body));
  return { ...(res.body as WorkersBody), at: Date.now() };
}

const held = (w: WorkersBody['data'][number]) => w.partitions.map((p) => p.partition);
const all = (n: number) => Array.from({ length: n }, (_, p) => p);

test('the token is needed; before any worker ran, every partition is unowned', async (ctx) => {
  const { 'content-type': _, ...noToken } = authHeaders('wrong-token');
  assert.is((await get(ctx, {})).status, 401);
  assert.is((await get(ctx, noToken)).status, 401);
  const body = await workers(ctx);
  assert.equal(body.data, []);
  assert.is(body.partitions, ctx.env.t.names.partitions);
  assert.equal(body.unowned, all(body.partitions));
  assert.is(body.lease_ttl_ms, null, 'no worker has created the lease bucket');
});

test('two workers share every partition, disjointly; once one stops, the other holds them all', async (ctx) => {
  const { t } = ctx.env;
  const partitions = t.names.partitions;
  for (const workerId of ['worker-a', 'worker-b'])
    ctx.workers.push(await startTestWorker(t, { workerId, leaseTtlMs: LEASE_TTL_MS }));

  const split = await eventually(
    () => workers(ctx),
    (b) => b.data.length === 2 && b.data.every((w) => w.partitions.length === partitions / 2),
    15_000,
  );
  assert.equal(
    split.data.map((w) => [w.worker_id, w.live]),
    [
      ['worker-a', true],
      ['worker-b', true],
    ],
  );
  const [a, b] = split.data;
  assert.equal(
    [...held(a!), ...held(b!)].sort((x, y) => x - y),
    all(partitions),
    'together they hold every partition, each once',
  );
  assert.equal(split.unowned, []);
  assert.is(split.lease_ttl_ms, LEASE_TTL_MS);
  for (const w of split.data) {
    assert.ok(w.heartbeat_at && Date.parse(w.heartbeat_at) <= split.at, `${w.worker_id} heartbeat`);
    for (const p of w.partitions) {
      const expires = Date.parse(p.lease_expires_at);
      assert.ok(expires > split.at, `partition ${p.partition}'s lease runs out in the future`);
      assert.ok(expires <= split.at + LEASE_TTL_MS, `and within one TTL: ${p.lease_expires_at}`);
      assert.ok(p.revision > 0);
    }
  }
  // The same as each worker's own account of what it holds.
  for (const [i, w] of ctx.workers.entries())
    assert.equal(held(split.data[i]!), w.worker.stats.ownedPartitions);

  await ctx.workers.pop()!.close();
  const after = await eventually(
    () => workers(ctx),
    (body) => body.data.length === 1 && body.data[0]!.partitions.length === partitions,
    15_000,
  );
  assert.is(after.data[0]!.worker_id, 'worker-a');
  assert.equal(held(after.data[0]!), all(partitions));
  assert.equal(after.unowned, []);
});

test('while NATS is away the answer is a 503 problem, not a 4xx or an empty list', async (ctx) => {
  for (const w of ctx.workers.splice(0)) await w.close();
  const { server } = ctx.env;
  await server.crash();
  try {
    const res = await get(ctx);
    assert.is(res.status, 503, JSON.stringify(res.body));
    assert.match(res.type ?? '', /^application\/problem\+json/);
    assert.is(res.body.code, 'unavailable');
  } finally {
    await server.start();
  }
  await waitFor(
    async () => (await get(ctx)).status,
    (s) => s === 200,
    15_000,
  );
  assert.is((await get(ctx)).status, 200, 'answers again once NATS is back');
});

test.run();
