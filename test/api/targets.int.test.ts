// An operator pauses a target: a customer created meanwhile is not pushed there, its sync status
// shows the intent waiting and why, and GET /targets shows who paused it; resumed, the intent
// goes, once. Unknown targets are 404, a bad body 400, and nothing changes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TEST_TOKEN } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { startSyncStack, stripeCustomersByRtwsId, type SyncStack } from '../sync/stack.ts';

const test = suite<{ s?: SyncStack }>('pausing and resuming a target');

test.before(async (ctx) => {
  ctx.s = await startSyncStack();
});

test.after(async (ctx) => {
  await ctx.s?.close();
});

async function call(s: SyncStack, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.rtws.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TEST_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface TargetView {
  name: string;
  state: string;
  paused_by: string | null;
  reason: string | null;
}

test('a paused target holds its intents back, shown as waiting, until it is resumed', async (ctx) => {
  const s = ctx.s!;
  const paused = await call(s, 'POST', '/targets/stripe/pause', { reason: 'Stripe incident' });
  assert.is(paused.status, 200);
  assert.equal(
    [paused.body.state, paused.body.paused_by, paused.body.reason],
    ['paused', 'default', 'Stripe incident'],
  );
  const listed = (await call(s, 'GET', '/targets')).body.data as TargetView[];
  assert.equal(
    listed.map((t) => [t.name, t.state]),
    [['stripe', 'paused']],
  );
  // Every worker reads pauses each second.
  await new Promise((r) => setTimeout(r, 1_500));
  const created = await call(s, 'POST', '/customers', {
    name: 'Held Back',
    email: 'held@example.com',
  });
  assert.is(created.status, 201);
  const id = created.body.id as string;
  const waiting = await eventually(
    () => call(s, 'GET', `/customers/${id}/sync`),
    (r) =>
      typeof (r.body.targets as Record<string, { waiting?: string }>)?.stripe?.waiting === 'string',
    10_000,
    100,
  );
  const stripeView = (waiting.body.targets as Record<string, { waiting?: string; status: string }>)
    .stripe!;
  assert.match(
    stripeView.waiting ?? '',
    /^the target was paused by default at .*: Stripe incident$/,
  );
  await new Promise((r) => setTimeout(r, 1_500));
  assert.is((await stripeCustomersByRtwsId(s.side.stripe)).get(id), undefined, 'nothing sent');

  const resumed = await call(s, 'POST', '/targets/stripe/resume');
  assert.equal([resumed.status, resumed.body.state], [200, 'on']);
  const pushed = await eventually(
    async () => (await stripeCustomersByRtwsId(s.side.stripe)).get(id) ?? [],
    (c) => c.length > 0,
    10_000,
    100,
  );
  assert.is(pushed.length, 1, 'sent once');
  const synced = await eventually(
    () => call(s, 'GET', `/customers/${id}/sync`),
    (r) => (r.body.targets as Record<string, { status: string }>)?.stripe?.status === 'synced',
    10_000,
    100,
  );
  const after = (synced.body.targets as Record<string, { waiting?: string }>).stripe!;
  assert.is(after.waiting, undefined, 'no longer waiting');
});

test('pausing twice keeps the first pause; resuming a running target changes nothing', async (ctx) => {
  const s = ctx.s!;
  const first = await call(s, 'POST', '/targets/stripe/pause');
  assert.equal([first.status, first.body.state, first.body.reason], [200, 'paused', null]);
  const again = await call(s, 'POST', '/targets/stripe/pause', { reason: 'second' });
  assert.equal([again.status, again.body.reason], [200, null], 'the first pause stands');
  assert.is((await call(s, 'POST', '/targets/stripe/resume')).status, 200);
  const twice = await call(s, 'POST', '/targets/stripe/resume');
  assert.equal([twice.status, twice.body.state], [200, 'on']);
});

test('an unknown target is 404, a bad body 400, and nothing is paused', async (ctx) => {
  const s = ctx.s!;
  const unknown = await call(s, 'POST', '/targets/salesforce/pause');
  assert.is(unknown.status, 404);
  assert.match(String(unknown.body.detail), /target salesforce not found/);
  const bad = await call(s, 'POST', '/targets/stripe/pause', { reason: '', extra: true });
  assert.is(bad.status, 400);
  const listed = (await call(s, 'GET', '/targets')).body.data as TargetView[];
  assert.equal(
    listed.map((t) => [t.name, t.state]),
    [['stripe', 'on']],
  );
});

test.run();
