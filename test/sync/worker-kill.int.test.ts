// The worker SIGKILLed three times during a burst of creates and updates, and restarted each time:
// once quiet, every customer converges with its last update and one Stripe customer. A restarted
// worker has a new id, so it waits for the dead one's leases to expire (LEASE_TTL_MS) first; each
// kill comes only once the new worker holds partitions and has worked on them for a while.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Rtws } from '../../deploy/rtws.ts';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { eventually } from '../harness/stream.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { apiClient, inPool } from './api-client.ts';
import { awaitConvergence, converged, summary } from './convergence.ts';
import { stripeSide, type StripeSide } from './stack.ts';

const CUSTOMERS = 60;
const KILLS = 3;

const test = suite<{ t?: TestEnvironment; side?: StripeSide; rtws?: Rtws; worker?: RtwsProcess }>(
  'worker killed during a burst',
);

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.side = await stripeSide();
  ctx.rtws = await startTestRtws(ctx.t, ctx.side.env({ RTWS_ROLES: 'api,publisher' }));
});
test.after(async (ctx) => {
  await ctx.worker?.kill();
  await ctx.rtws?.close();
  await ctx.side?.emulator.close();
  await ctx.t?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The partition leases held now, and by whom; none before a worker made the bucket. */
async function leases(
  rtws: Rtws,
  t: TestEnvironment,
): Promise<{ held: number; holders: Set<string> }> {
  const holders = new Set<string>();
  let held = 0;
  try {
    const kv = await new Kvm(jetstream(rtws.nats)).open(t.names.bucket('LEASES'));
    for await (const key of await kv.keys('p.*')) {
      const entry = await kv.get(key);
      if (entry?.operation !== 'PUT') continue;
      held++;
      holders.add(entry.json<{ holder: string }>().holder);
    }
  } catch (err) {
    if (!/stream not found/.test(String(err))) throw err;
  }
  return { held, holders };
}

/** Waits until workers other than the `gone` ones hold every partition; returns them. */
async function takenOver(rtws: Rtws, t: TestEnvironment, gone: Set<string>): Promise<Set<string>> {
  const fresh = (l: { held: number; holders: Set<string> }) =>
    l.held === t.names.partitions && [...l.holders].every((id) => !gone.has(id));
  const now = await eventually(() => leases(rtws, t), fresh, 60_000, 250);
  assert.ok(fresh(now), 'the restarted worker took every partition over');
  return now.holders;
}

test('SIGKILL three times mid-burst: no duplicate, no lost update', async (ctx) => {
  const { t, side, rtws } = ctx as Required<typeof ctx>;
  const env = { ...t.env, ...side.env({ RTWS_ROLES: 'worker' }) };
  const api = apiClient(rtws.url!);
  ctx.worker = spawnRtws(env);
  const made = await inPool(
    Array.from({ length: CUSTOMERS }, (_, i) => i),
    16,
    (i) => api.create({ name: `Survivor ${i}`, email: `survivor${i}@example.com` }),
  );
  let round = 0;
  let writing = true;
  const burst = (async () => {
    while (writing) {
      round++;
      await inPool(made, 8, (c) => api.patch(c.id, { metadata: { round: String(round) } }));
      await sleep(200);
    }
  })();
  try {
    let gone = new Set<string>();
    for (let k = 0; k < KILLS; k++) {
      gone = new Set([...gone, ...(await takenOver(rtws, t, gone))]);
      await sleep(1_500);
      assert.is(await ctx.worker.kill('SIGKILL'), null, 'ended by the signal');
      ctx.worker = spawnRtws(env);
    }
    await takenOver(rtws, t, gone);
    await sleep(1_000);
  } finally {
    writing = false;
    await burst;
  }
  const started = Date.now();
  const report = await awaitConvergence(rtws.sql, side.stripe, api, 90_000);
  assert.ok(converged(report), `${summary(report)}\n${ctx.worker.output().slice(-2000)}`);
  assert.is(report.stripeCustomers, CUSTOMERS);
  const [row] = await rtws.sql<{ lowest: number }[]>`
    SELECT min((metadata->>'round')::int)::int AS lowest FROM customers`;
  assert.is(row?.lowest, round, 'every customer took the last round');
  console.log(`  ${round} rounds; converged ${Date.now() - started} ms after the burst`);
});

test.run();
