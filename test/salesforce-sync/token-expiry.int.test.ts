// Access tokens that expire in the middle of a burst cost a new grant, never a change: every
// customer still reaches Salesforce exactly once.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually } from '../harness/stream.ts';
import type { CustomerBody } from './api.ts';
import { accountDiff, customerBody } from './expect.ts';
import { inPool, startWorld, type World } from './world.ts';

const CUSTOMERS = 150;
const EXPIRIES = 3;

const test = suite<{ w?: World }>('Salesforce sync: tokens expire mid-burst');

test.after(async (ctx) => {
  await ctx.w?.close();
});

test('nothing is lost or doubled when every token expires during a burst', async (ctx) => {
  const w = (ctx.w = await startWorld());
  const bodies = Array.from({ length: CUSTOMERS }, (_, i) => customerBody(i, 'Token'));
  const live = new Map<string, CustomerBody>();
  const burst = inPool(bodies, 8, async (b) => live.set(await w.api.create(b), b));

  // Each expiry lands once a further share of the burst is in Salesforce, so calls are in flight;
  // the last well before the end, as a loaded machine sees several batches land between looks.
  const landedAt: number[] = [];
  for (let k = 1; k <= EXPIRIES; k++) {
    const target = Math.floor((CUSTOMERS * k) / (EXPIRIES + 2));
    const n = await eventually(
      async () => w.sf.records('Account').length,
      (c) => c >= target,
      30_000,
      20,
    );
    landedAt.push(n);
    w.sf.expireTokens();
  }
  await burst;

  const problems = await eventually(
    async () => accountDiff(w.sf, live),
    (p) => p.length === 0,
    40_000,
    250,
  );
  assert.equal(problems.slice(0, 10), [], `${problems.length} differences`);
  assert.is(live.size, CUSTOMERS);
  assert.ok(
    landedAt.every((n) => n < CUSTOMERS),
    `tokens expired mid-burst, after ${landedAt.join(', ')} Accounts`,
  );
  const states = await Promise.all([...live.keys()].map((id) => w.api.sync(id)));
  const statuses = states.map((s) => s.targets?.salesforce?.status);
  assert.equal(
    statuses,
    statuses.map(() => 'synced'),
  );
  const stats = w.sf.stats();
  console.log(
    `  ${EXPIRIES} expiries after ${landedAt.join('/')} Accounts; ${stats.apiCalls} calls ` +
      JSON.stringify(stats.callsByEndpoint),
  );
});

test.run();
