// The worker SIGKILLed three times during a burst of creates and updates, and restarted each time:
// once quiet, every customer converges with its last update and one Stripe customer. A restarted
// worker has a new id, so it waits for the dead one's leases to expire (QUICK_TAKEOVER) first; each
// kill comes only once the new worker holds partitions and has worked on them for a while.
// Then a create that Stripe carries out after its worker died: the restarted worker finds the
// customer the create made, and an edit made meanwhile still holds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Rtws } from '../../deploy/rtws.ts';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { QUICK_TAKEOVER, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { eventually } from '../harness/stream.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { apiClient, inPool } from './api-client.ts';
import { awaitConvergence, converged, summary } from './convergence.ts';
import { stripeCustomersByRtwsId, stripeSide, type StripeSide } from './stack.ts';

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

/**
 * Waits until workers other than the `gone` ones hold every partition; returns them. The dead
 * worker's leases expire a lease TTL (10 s here) after its last renewal: 60 s is well past it, and
 * short enough that a failure is told before the file's time runs out. A failure says what
 * the leases and the restarted worker showed, and a worker that exited fails at once.
 */
async function takenOver(
  rtws: Rtws,
  t: TestEnvironment,
  gone: Set<string>,
  worker: RtwsProcess,
): Promise<Set<string>> {
  const fresh = (l: { held: number; holders: Set<string> }) =>
    l.held === t.names.partitions && [...l.holders].every((id) => !gone.has(id));
  const exited = () => worker.child.exitCode !== null || worker.child.signalCode !== null;
  const now = await eventually(
    () => leases(rtws, t),
    (l) => fresh(l) || exited(),
    60_000,
    250,
  );
  assert.ok(
    fresh(now),
    `the restarted worker took every partition over: ${now.held} of ${t.names.partitions} held, ` +
      `by ${[...now.holders].map((id) => (gone.has(id) ? `${id} (gone)` : id)).join(', ') || 'no one'}; ` +
      `the worker ${exited() ? `exited (${worker.child.exitCode ?? worker.child.signalCode})` : 'runs'}:\n` +
      worker.output().slice(-6000),
  );
  return now.holders;
}

test('SIGKILL three times mid-burst: no duplicate, no lost update', async (ctx) => {
  const { t, side, rtws } = ctx as Required<typeof ctx>;
  // Warnings on: a takeover that does not come is explained by what the worker warned of.
  const env = {
    ...t.env,
    ...side.env({ RTWS_ROLES: 'worker' }),
    ...QUICK_TAKEOVER,
    LOG_LEVEL: 'warn',
  };
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
      gone = new Set([...gone, ...(await takenOver(rtws, t, gone, ctx.worker))]);
      await sleep(1_500);
      assert.is(await ctx.worker.kill('SIGKILL'), null, 'ended by the signal');
      ctx.worker = spawnRtws(env);
    }
    await takenOver(rtws, t, gone, ctx.worker);
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

test('a create that lands after its worker died, and an edit made meanwhile: the edit holds', async (ctx) => {
  const { t, side, rtws } = ctx as Required<typeof ctx>;
  const env = {
    ...t.env,
    ...side.env({ RTWS_ROLES: 'worker' }),
    ...QUICK_TAKEOVER,
    LOG_LEVEL: 'warn',
  };
  const api = apiClient(rtws.url!);
  ctx.worker ??= spawnRtws(env);
  const gone = await takenOver(rtws, t, new Set(), ctx.worker);
  side.emulator.clearRequests();
  // Stripe holds the create, and carries it out after the worker is gone.
  side.emulator.delayRequests({ method: 'POST', path: '/v1/customers', ms: 4_000, count: 1 });
  const { id } = await api.create({ name: 'Landed Late', email: 'landed.late@example.com' });
  // The lookup before the create ends with a search; the create is sent right after it.
  const searched = await eventually(
    async () => side.emulator.requests({ method: 'GET', path: '/v1/customers/search' }),
    (r) => r.length > 0,
    20_000,
    50,
  );
  assert.ok(searched.length > 0, 'the lookup before the create ran');
  await sleep(300);
  assert.is(await ctx.worker.kill('SIGKILL'), null, 'ended by the signal');
  await api.patch(id, { name: 'Edited While Down' });
  ctx.worker = spawnRtws(env);
  await takenOver(rtws, t, gone, ctx.worker);
  const both = async () => {
    const [row] = await rtws.sql<{ name: string; version: string }[]>`
      SELECT name, version FROM customers WHERE id = ${id}`;
    const inStripe = (await stripeCustomersByRtwsId(side.stripe)).get(id) ?? [];
    return { row, names: inStripe.map((c) => c.name) };
  };
  const done = await eventually(
    both,
    (b) => b.names.length === 1 && b.names[0] === 'Edited While Down',
    30_000,
    200,
  );
  assert.equal(done.names, ['Edited While Down'], 'one Stripe customer, with the edit');
  // A little later, nothing has taken the edit back.
  await sleep(1_000);
  const after = await both();
  assert.is(after.row?.name, 'Edited While Down', 'Postgres keeps the edit');
  assert.is(Number(after.row?.version), 2, 'no write after the edit');
  assert.equal(after.names, ['Edited While Down']);
  const creates = side.emulator
    .requests({ method: 'POST', path: '/v1/customers' })
    .filter((r) => r.path === '/v1/customers');
  assert.is(creates.length, 1, 'the create was sent once');
});

test.run();
