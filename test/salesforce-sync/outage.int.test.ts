// While Salesforce fails every request, Stripe keeps up; once Salesforce is back it catches up,
// and neither side loses or duplicates a customer.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually } from '../harness/stream.ts';
import type { CustomerBody, SyncState } from './api.ts';
import { accountDiff, customerBody } from './expect.ts';
import { stripeCustomersByRtwsId } from './stripe-view.ts';
import { inPool, startWorld, type World } from './world.ts';

const CUSTOMERS = 40;

const test = suite<{ w?: World }>('Salesforce sync: an outage');

test.after(async (ctx) => {
  await ctx.w?.close();
});

/** Stripe holds exactly the live customers, once each, with their current names. */
function stripeDiff(
  byId: Awaited<ReturnType<typeof stripeCustomersByRtwsId>>,
  live: ReadonlyMap<string, CustomerBody>,
): string[] {
  const problems: string[] = [];
  for (const [id, body] of live) {
    const found = byId.get(id) ?? [];
    if (found.length !== 1) problems.push(`${id}: ${found.length} Stripe customers`);
    else if (found[0]!.name !== body.name) problems.push(`${id}: name ${found[0]!.name}`);
  }
  for (const id of byId.keys()) if (!live.has(id)) problems.push(`${id}: deleted yet in Stripe`);
  return problems;
}

test('Stripe stays in sync through a Salesforce outage; Salesforce catches up after', async (ctx) => {
  const w = (ctx.w = await startWorld());
  w.sf.injectFault({
    path: '^/services/data/',
    count: 1_000_000,
    status: 503,
    errorCode: 'SERVER_UNAVAILABLE',
  });

  const bodies = Array.from({ length: CUSTOMERS }, (_, i) => customerBody(i, 'Outage'));
  const ids = await inPool(bodies, 8, (b) => w.api.create(b));
  const live = new Map<string, CustomerBody>(ids.map((id, i) => [id, bodies[i]!]));
  await inPool(ids, 8, async (id, i) => {
    if (i % 4 === 0) {
      await w.api.patch(id, { name: `Outage Renamed ${i}` });
      live.set(id, { ...live.get(id)!, name: `Outage Renamed ${i}` });
    }
    if (i % 5 === 0) {
      await w.api.remove(id);
      live.delete(id);
    }
  });

  const stripeProblems = await eventually(
    async () => stripeDiff(await stripeCustomersByRtwsId(w.stripe), live),
    (p) => p.length === 0,
    30_000,
    250,
  );
  assert.equal(stripeProblems, [], 'Stripe in sync while Salesforce is down');
  const states = await eventually(
    () => Promise.all([...live.keys()].map((id) => w.api.sync(id))),
    (s) => s.every((x) => x.targets?.stripe?.status === 'synced'),
    10_000,
    250,
  );
  const salesforce = (s: SyncState) => s.targets?.salesforce;
  assert.ok(
    states.every((s) => s.targets?.stripe?.status === 'synced'),
    'Stripe status synced',
  );
  assert.is(w.sf.records('Account').length, 0, 'nothing reached Salesforce yet');
  assert.ok(
    states.every((s) => ['retrying', 'pending'].includes(salesforce(s)?.status ?? '')),
    `Salesforce waits to retry: ${JSON.stringify(states.map((s) => salesforce(s)?.status))}`,
  );
  const failed = states.find((s) => salesforce(s)?.last_error);
  assert.match(salesforce(failed!)?.last_error?.reason ?? '', /SERVER_UNAVAILABLE/);
  const untried = states.filter((s) => !salesforce(s)?.last_error);
  assert.is(untried.length, 0, 'every live customer was tried');
  // Fewer calls than customers: their writes shared Collections calls (reported below).
  const refused = w.sf.stats().apiCalls;
  assert.ok(refused > 0, 'Salesforce was called');

  const down = Date.now();
  w.sf.clearFaults();
  const problems = await eventually(
    async () => accountDiff(w.sf, live),
    (p) => p.length === 0,
    40_000,
    250,
  );
  assert.equal(problems, [], 'Salesforce caught up');
  console.log(
    `  caught up ${Date.now() - down} ms after recovery; ${refused} calls refused during the ` +
      `outage, ${w.sf.stats().apiCalls - refused} after`,
  );
  const after = await eventually(
    () => Promise.all([...live.keys()].map((id) => w.api.sync(id))),
    (s) => s.every((x) => salesforce(x)?.status === 'synced'),
    10_000,
    250,
  );
  assert.ok(
    after.every((s) => salesforce(s)?.status === 'synced'),
    'Salesforce status synced',
  );
  const gone = ids.filter((_, i) => i % 5 === 0);
  const deletedStates = await Promise.all(gone.map((id) => w.api.sync(id)));
  assert.ok(
    deletedStates.every((s) => s.deleted),
    'the deleted stay deleted',
  );
});

test.run();
