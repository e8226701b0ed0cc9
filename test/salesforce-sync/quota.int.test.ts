// A spent Salesforce API budget (`REQUEST_LIMIT_EXCEEDED`) pauses the target for the customers whose
// calls met it (Stripe goes on). The answer says the org's usage is at its limit, so rtws's own
// daily budget (RTWS_SALESFORCE_DAILY_BUDGET) closes too, and changes made after it wait for that
// budget (`pending`) rather than meet the refusal again. Once the quota is back (rtws reads the
// usage again every second here) the changes reach Salesforce: at once on an operator's retry
// request, or by themselves when the pause (`RTWS_SALESFORCE_QUOTA_PAUSE_MS`) runs out.
//
// By default the pause is SALESFORCE_QUOTA_PAUSE_MS (5 min), so the first test resumes through
// a retry request on the customer's subject (what a DLQ redrive sends); the second configures a
// pause of seconds and lets it run out.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SALESFORCE_QUOTA_PAUSE_MS } from '../../actors/customer/index.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import type { CustomerBody, SyncState } from './api.ts';
import { accountDiff, customerBody } from './expect.ts';
import { inPool, startWorld, type World } from './world.ts';

const CUSTOMERS = 10;
const SHORT_PAUSE_MS = 2_000;
// The reader of Salesforce's changes is off: these tests count the calls of pushes alone.
const CHECK_EVERY_SECOND = {
  RTWS_SALESFORCE_USAGE_CHECK_MS: '1000',
  RTWS_SALESFORCE_POLL_S: '0',
};

const test = suite<{ w?: World }>('Salesforce sync: quota');

test.after(async (ctx) => {
  await ctx.w?.close();
});

const syncOf = (w: World, ids: Iterable<string>) =>
  Promise.all([...ids].map((id) => w.api.sync(id)));
const sfStatus = (s: SyncState) => s.targets?.salesforce?.status;
/** The customers whose call met the spent quota. */
const refused = (states: SyncState[]) =>
  states.filter((s) =>
    /REQUEST_LIMIT_EXCEEDED/.test(s.targets?.salesforce?.last_error?.reason ?? ''),
  );
/** Salesforce waits for each (paused after a refusal, or pending behind the closed budget). */
const waiting = (states: SyncState[]) =>
  states.every((x) => sfStatus(x) === 'paused' || sfStatus(x) === 'pending');

test('an exhausted quota pauses Salesforce only; restored, it resumes', async (ctx) => {
  const w = (ctx.w = await startWorld(CHECK_EVERY_SECOND));
  const bodies = Array.from({ length: CUSTOMERS }, (_, i) => customerBody(i, 'Quota'));
  const ids = await inPool(bodies, 8, (b) => w.api.create(b));
  const live = new Map<string, CustomerBody>(ids.map((id, i) => [id, bodies[i]!]));
  assert.equal(
    await waitFor(
      async () => accountDiff(w.sf, live),
      (p) => p.length === 0,
      20_000,
    ),
    [],
  );

  w.sf.exhaustQuota();
  await inPool(ids, 8, async (id, i) => {
    const phone = `+1 555 9${String(i).padStart(3, '0')}`;
    await w.api.patch(id, { phone });
    live.set(id, { ...live.get(id)!, phone });
  });
  const extraBody = customerBody(CUSTOMERS, 'Quota');
  const extra = await w.api.create(extraBody);
  live.set(extra, extraBody);

  const paused = await eventually(
    () => syncOf(w, live.keys()),
    (s) =>
      waiting(s) && refused(s).length > 0 && s.every((x) => x.targets?.stripe?.status === 'synced'),
    20_000,
    250,
  );
  assert.ok(waiting(paused), 'Salesforce waits for every customer');
  assert.equal(
    paused.map((s) => s.targets?.stripe?.status),
    paused.map(() => 'synced'),
    'Stripe synced',
  );
  const met = refused(paused);
  assert.ok(met.length > 0, 'the first calls met the spent quota');
  for (const s of met) {
    const view = s.targets!.salesforce!;
    assert.is(view.status, 'paused');
    assert.is(view.last_error?.failure, 'rate_limited');
    const resumesAt = Date.parse(view.pending[0]!.not_before);
    assert.ok(
      resumesAt >= Date.parse(view.last_error!.at) + SALESFORCE_QUOTA_PAUSE_MS,
      'paused for the quota pause, not a short backoff',
    );
  }
  assert.ok(!w.sf.records('Account').some((r) => String(r.Phone).includes(' 9')), 'nothing new');

  w.sf.restoreQuota();
  await Promise.all([...live.keys()].map((id) => w.requestRetry(id, 'salesforce')));
  const problems = await eventually(
    async () => accountDiff(w.sf, live),
    (p) => p.length === 0,
    20_000,
    250,
  );
  assert.equal(problems, [], 'Salesforce caught up after the quota came back');
  const after = await eventually(
    () => syncOf(w, live.keys()),
    (s) => s.every((x) => sfStatus(x) === 'synced'),
    10_000,
    250,
  );
  assert.equal(
    after.map(sfStatus),
    after.map(() => 'synced'),
  );
});

test('a configured pause runs out by itself and the changes go through', async (ctx) => {
  await ctx.w?.close();
  const w = (ctx.w = await startWorld({
    ...CHECK_EVERY_SECOND,
    RTWS_SALESFORCE_QUOTA_PAUSE_MS: String(SHORT_PAUSE_MS),
  }));
  // Salesforce answered once before the quota went: rtws's budget thinks it open.
  const firstBody = customerBody(CUSTOMERS, 'Pause');
  const first = await w.api.create(firstBody);
  await waitFor(
    async () => accountDiff(w.sf, new Map([[first, firstBody]])),
    (p) => p.length === 0,
    20_000,
  );
  w.sf.exhaustQuota();
  const bodies = Array.from({ length: CUSTOMERS }, (_, i) => customerBody(i, 'Pause'));
  const ids = await inPool(bodies, 8, (b) => w.api.create(b));
  const live = new Map<string, CustomerBody>(ids.map((id, i) => [id, bodies[i]!]));
  live.set(first, firstBody);

  const paused = await eventually(
    () => syncOf(w, ids),
    (s) => waiting(s) && refused(s).length > 0,
    20_000,
    100,
  );
  assert.ok(waiting(paused), 'Salesforce waits for every customer');
  const met = refused(paused);
  assert.ok(met.length > 0, 'the first calls met the spent quota');
  for (const s of met) {
    const view = s.targets!.salesforce!;
    const pause = Date.parse(view.pending[0]!.not_before) - Date.parse(view.last_error!.at);
    assert.ok(
      pause >= SHORT_PAUSE_MS && pause < SALESFORCE_QUOTA_PAUSE_MS,
      `paused for the configured ${SHORT_PAUSE_MS} ms, not the default: ${pause} ms`,
    );
  }
  assert.is(w.sf.records('Account').length, 1, 'nothing new reached Salesforce');

  w.sf.restoreQuota();
  const problems = await eventually(
    async () => accountDiff(w.sf, live),
    (p) => p.length === 0,
    SHORT_PAUSE_MS + 20_000,
    250,
  );
  assert.equal(problems, [], 'Salesforce caught up once the pause ran out, with no retry request');
  const after = await eventually(
    () => syncOf(w, ids),
    (s) => s.every((x) => sfStatus(x) === 'synced'),
    10_000,
    250,
  );
  assert.equal(
    after.map(sfStatus),
    after.map(() => 'synced'),
  );
});

test.run();
