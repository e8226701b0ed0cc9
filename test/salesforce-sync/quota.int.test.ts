// A spent Salesforce API budget pauses the target for those customers (Stripe goes on), and once
// the budget is back and a retry is requested the pending changes reach Salesforce.
//
// The machine waits SALESFORCE_QUOTA_PAUSE_MS (5 min) before trying again by itself, and
// `startRtws` builds it with the default policies, so the resume here is an operator's retry
// request on the customer's subject (what a DLQ redrive sends), not the pause running out.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SALESFORCE_QUOTA_PAUSE_MS } from '../../actors/customer/index.ts';
import { eventually } from '../harness/stream.ts';
import type { CustomerBody, SyncState } from './api.ts';
import { accountDiff, customerBody } from './expect.ts';
import { inPool, startWorld, type World } from './world.ts';

const CUSTOMERS = 10;

const test = suite<{ w?: World }>('Salesforce sync: quota');

test.after(async (ctx) => {
  await ctx.w?.close();
});

const syncOf = (w: World, ids: Iterable<string>) =>
  Promise.all([...ids].map((id) => w.api.sync(id)));
const sfStatus = (s: SyncState) => s.targets?.salesforce?.status;

test('an exhausted quota pauses Salesforce only; restored, it resumes', async (ctx) => {
  const w = (ctx.w = await startWorld());
  const bodies = Array.from({ length: CUSTOMERS }, (_, i) => customerBody(i, 'Quota'));
  const ids = await inPool(bodies, 8, (b) => w.api.create(b));
  const live = new Map<string, CustomerBody>(ids.map((id, i) => [id, bodies[i]!]));
  assert.equal(
    await eventually(
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
    (s) => s.every((x) => sfStatus(x) === 'paused' && x.targets?.stripe?.status === 'synced'),
    20_000,
    250,
  );
  assert.equal(
    paused.map((s) => [sfStatus(s), s.targets?.stripe?.status]),
    paused.map(() => ['paused', 'synced']),
    'Salesforce paused, Stripe synced',
  );
  const view = paused[0]!.targets!.salesforce!;
  assert.is(view.last_error?.failure, 'rate_limited');
  assert.match(view.last_error?.reason ?? '', /REQUEST_LIMIT_EXCEEDED/);
  const resumesAt = Date.parse(view.pending[0]!.not_before);
  assert.ok(
    resumesAt >= Date.parse(view.last_error!.at) + SALESFORCE_QUOTA_PAUSE_MS,
    'paused for the quota pause, not a short backoff',
  );
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

test.run();
