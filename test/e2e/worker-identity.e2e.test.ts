// RTWS_WORKER_ID as an operator uses it: one live process per identity, and a process restarted
// under its identity after a SIGKILL takes its partitions back from the leases its previous run
// left, rather than waiting for them to expire. (The order against the call horizon and the TTL
// is checked precisely, with a short TTL, in test/runtime/lease-takeback.int.test.ts.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiUrlOf, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';

const test = suite<{ t: TestEnvironment; children: RtwsProcess[] }>('worker identity');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.children = [];
});
test.after(async (ctx) => {
  for (const c of ctx.children ?? []) await c.kill();
  await ctx.t?.cleanup();
});

interface Ready {
  worker?: { worker_id: string; partitions_held: number[]; partitions_taking_back: number[] };
}

async function ready(url: string): Promise<Ready> {
  return (await (await fetch(`${url}/readyz`)).json()) as Ready;
}

test('one live process per identity; a restart under it takes its partitions back', async (ctx) => {
  const env = { ...ctx.t.env, RTWS_WORKER_ID: 'worker-e2e-1', LOG_LEVEL: 'info' };
  const first = spawnRtws(env);
  ctx.children.push(first);
  const url = await apiUrlOf(first);
  const all = ctx.t.names.partitions;
  const held = await eventually(
    () => ready(url),
    (r) => r.worker?.partitions_held.length === all,
  );
  assert.is(held.worker?.worker_id, 'worker-e2e-1');
  assert.is(held.worker?.partitions_held.length, all);

  const twin = spawnRtws(env);
  ctx.children.push(twin);
  assert.is.not(await twin.exited, 0, 'a second live process with the same id does not start');
  assert.match(twin.output(), /worker-e2e-1/);
  assert.match(twin.output(), /in use/);

  assert.match(first.output(), /"msg":"partition acquired"/, 'a first start claims them');
  await first.kill('SIGKILL');
  const restarted = spawnRtws(env);
  ctx.children.push(restarted);
  const again = await apiUrlOf(restarted);
  const back = await eventually(
    () => ready(again),
    (r) => r.worker?.partitions_held.length === all,
    30_000,
    200,
  );
  assert.is(back.worker?.partitions_held.length, all);
  const out = restarted.output();
  assert.match(out, /partition taken back from a previous run/);
  assert.not.match(out, /"msg":"partition acquired"/, 'nothing was waited out and claimed anew');
});

test.run();
