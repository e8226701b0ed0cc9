// RTWS_WORKER_ID as an operator uses it: one live process per identity, and a process restarted
// under its identity after a SIGKILL takes its partitions back from the leases its previous run
// left, rather than waiting for them to expire. (The order against the call horizon and the TTL
// is checked precisely, with a short TTL, in test/runtime/lease-takeback.int.test.ts.)
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { partitionToken } from '../../core/subjects.ts';
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
  // Killed just after a renewal, the leases outlive the kill by a whole TTL (20 s), and the
  // restart takes them back 11 s after it first sees them. Killed at any other moment they may
  // lapse up to a renewal period (4 s) sooner, and a restart slow to start on a loaded machine
  // would then find them lapsed and claim them anew, which is not the case under test.
  await justRenewed(ctx.t, 0);
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
  // The log line is written as the lease is recorded; its pipe may be read after the readyz reply.
  const taken = 'partition taken back from a previous run';
  const out = await eventually(
    async () => restarted.output(),
    (o) => o.includes(taken),
    2_000,
  );
  assert.ok(out.includes(taken), `taken back:\n${out}`);
  assert.not.ok(out.includes('"msg":"partition acquired"'), `nothing claimed anew:\n${out}`);
});

/** Returns as soon as the partition's lease has been renewed (its revision moved). */
async function justRenewed(t: TestEnvironment, partition: number): Promise<void> {
  const nats = await connect({ servers: t.natsUrl });
  try {
    const kv = await new Kvm(jetstream(nats)).open(t.names.bucket('LEASES'));
    const key = `p.${partitionToken(partition)}`;
    const before = (await kv.get(key))?.revision;
    const after = await eventually(
      async () => (await kv.get(key))?.revision,
      (r) => r !== before,
      10_000,
      20,
    );
    assert.is.not(after, before, 'the lease is renewed every 4 s');
  } finally {
    await nats.close();
  }
}

test.run();
