// rtws's share of the Salesforce org's daily API calls (RTWS_SALESFORCE_DAILY_BUDGET), against the
// emulator over HTTP. The org's other clients have spent nearly all of rtws's share: rtws writes
// until the share is reached and no further; a change made then waits (pending, nothing
// dead-lettered), while the only calls are the checks of the usage (every second here); once the
// usage falls, the change flows by itself. Near the share, a reconciliation waits while live
// changes go on. /readyz and /metrics show the budget.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { authHeaders } from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import type { SyncState } from './api.ts';
import { customerBody } from './expect.ts';
import { startWorld, type World } from './world.ts';

const LIMIT = 1_000;
/** 50 % of the org's 1,000 calls. */
const BUDGET = 500;
const BACKFILL_BUDGET = 450;

const test = suite<{ w?: World }>("Salesforce sync: rtws's share of the org's daily calls");

test.after(async (ctx) => {
  await ctx.w?.close();
});

const sfStatus = (s: SyncState) => s.targets?.salesforce?.status;

/** What the org's other clients spend, set through the emulator's control endpoint. */
async function setUsage(w: World, apiCalls: number): Promise<void> {
  const res = await fetch(`${w.sf.loginUrl}/_emulator/quota/usage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiCalls }),
  });
  assert.is(res.status, 200);
}

async function get<T>(w: World, path: string): Promise<T> {
  const res = await fetch(`${w.rtws.url}${path}`, { headers: authHeaders() });
  const text = await res.text();
  return (path === '/metrics' ? text : JSON.parse(text)) as T;
}

const checks = (w: World) => w.sf.stats().callsByEndpoint.resources ?? 0;
const synced = (w: World, id: string, timeoutMs = 10_000) =>
  eventually(
    () => w.api.sync(id),
    (s) => sfStatus(s) === 'synced',
    timeoutMs,
    100,
  );

test('rtws stops at its share; a change waits, pending; the usage falls and it flows', async (ctx) => {
  const w = (ctx.w = await startWorld(
    // The reader of Salesforce's changes is off: the test counts the reconciliation's reads.
    {
      RTWS_SALESFORCE_DAILY_BUDGET: '50%',
      RTWS_SALESFORCE_USAGE_CHECK_MS: '1000',
      RTWS_SALESFORCE_POLL_S: '0',
    },
    { dailyApiLimit: LIMIT },
  ));
  const first = await w.api.create(customerBody(0, 'Budget'));
  assert.is(sfStatus(await synced(w, first)), 'synced');

  await setUsage(w, BUDGET - 3);
  const checksBefore = checks(w);
  // Each create is one upsert: three fit, the fourth waits.
  let waiting: string | undefined;
  for (let i = 1; i <= 6 && !waiting; i++) {
    const id = await w.api.create(customerBody(i, 'Budget'));
    if (sfStatus(await synced(w, id, 3_000)) !== 'synced') waiting = id;
  }
  assert.ok(waiting, 'a change waits once the share is reached');
  const heldFrom = Date.now();
  await new Promise((r) => setTimeout(r, 3_000));

  const held = await w.api.sync(waiting);
  assert.is(sfStatus(held), 'pending', JSON.stringify(held.targets?.salesforce));
  assert.is(held.targets?.stripe?.status, 'synced', 'Stripe goes on');
  assert.is(held.targets?.salesforce?.last_error, null, 'nothing failed');
  assert.not.ok(
    w.sf.records('Account').some((r) => r.Rtws_Id__c === waiting),
    'nothing reached Salesforce',
  );
  const stats = w.sf.stats();
  const checksMade = checks(w) - checksBefore;
  assert.ok(
    stats.apiCalls - checksMade <= BUDGET,
    `${stats.apiCalls} calls used, ${checksMade} of them checks: the writes stopped at ${BUDGET}`,
  );
  const heldS = (Date.now() - heldFrom) / 1000;
  assert.ok(checksMade <= heldS + 4, `${checksMade} checks in about ${heldS.toFixed(1)} s`);
  const dlq = await get<{ data: unknown[] }>(w, '/dlq');
  assert.equal(dlq.data, [], 'nothing dead-lettered');
  const ready = await get<{ salesforce?: { daily_budget: Record<string, unknown> } }>(w, '/readyz');
  assert.is(ready.salesforce?.daily_budget.state, 'spent');
  assert.is(ready.salesforce?.daily_budget.budget, BUDGET);
  assert.is(ready.salesforce?.daily_budget.limit, LIMIT);
  const metrics = await get<string>(w, '/metrics');
  assert.match(metrics, 'rtws_salesforce_budget_state{state="spent"} 1');
  assert.match(metrics, `rtws_salesforce_daily_api_calls{of="budget"} ${BUDGET}`);

  await setUsage(w, 100);
  const after = await synced(w, waiting);
  assert.is(sfStatus(after), 'synced', 'it flows once the usage fell');
  assert.ok(w.sf.records('Account').some((r) => r.Rtws_Id__c === waiting));
  assert.equal((await get<{ data: unknown[] }>(w, '/dlq')).data, []);
  const open = await get<{ salesforce?: { daily_budget: { state: string } } }>(w, '/readyz');
  assert.is(open.salesforce?.daily_budget.state, 'open');
});

test('near the share a reconciliation waits while live changes go on', async (ctx) => {
  const w = ctx.w!;
  const ids = [
    await w.api.create(customerBody(10, 'Near')),
    await w.api.create(customerBody(11, 'Near')),
  ];
  for (const id of ids) assert.is(sfStatus(await synced(w, id)), 'synced');

  // Past the backfills' part of the share, below the share: a live change tells rtws.
  await setUsage(w, BACKFILL_BUDGET + 10);
  await w.api.patch(ids[0]!, { phone: '+1 555 7001' });
  await waitFor(
    () => get<{ salesforce?: { daily_budget: { state: string } } }>(w, '/readyz'),
    (r) => r.salesforce?.daily_budget.state === 'live_only',
    10_000,
  );
  const queries = () => w.sf.stats().callsByEndpoint.query ?? 0;
  const queriesBefore = queries();
  const started = await fetch(`${w.rtws.url}/reconciliations`, {
    method: 'POST',
    headers: authHeaders(),
    body: '{}',
  });
  assert.is(started.status, 202);
  const { id } = (await started.json()) as { id: number };
  const reconciliation = () =>
    get<{ state: string; counts: Record<string, number> }>(w, `/reconciliations/${id}`);

  await w.api.patch(ids[1]!, { phone: '+1 555 7002' });
  const live = await eventually(
    () => w.api.sync(ids[1]!),
    (s) => sfStatus(s) === 'synced' && s.targets?.salesforce?.synced_version === 2,
    10_000,
  );
  assert.is(live.targets?.salesforce?.synced_version, 2, 'the live change went');
  await new Promise((r) => setTimeout(r, 2_000));
  assert.is((await reconciliation()).state, 'running');
  assert.is(queries(), queriesBefore, 'the reconciliation has not read Salesforce');

  await setUsage(w, 100);
  const done = await eventually(reconciliation, (r) => r.state !== 'running', 20_000, 250);
  assert.is(done.state, 'done', JSON.stringify(done));
  assert.ok(queries() > queriesBefore, 'then it read Salesforce');
});

test.run();
