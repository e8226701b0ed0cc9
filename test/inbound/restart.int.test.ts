// A restart never costs an edit. The worker, a child process, is SIGKILLed while a push waits on
// a 429; a person edits the Stripe dashboard while it is down, and Stripe holds those webhooks in
// its retries. The restarted worker must not let the push decided before the crash overwrite the
// newer dashboard edit, and the merge must judge each side by the time of its own change.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type Stripe from 'stripe';
import { eventually } from '../harness/stream.ts';
import { holdsEvery, linked, quiet, row, rowWhen, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('restart while pushes and webhooks wait');
test.before(async (ctx) => {
  ctx.s = await twoWay({ workerProcess: true });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stripe's second, as its events will carry it, has moved on from `second`. */
async function nextSecond(second: number): Promise<void> {
  while (Math.floor(Date.now() / 1000) <= second + 1) await sleep(100);
}

interface ConflictRow {
  field: string;
  winner: string;
  reason: string;
  stripe_value: unknown;
  postgres_value: unknown;
  postgres_changed_at: Date | null;
  stripe_changed_at: Date | null;
}

async function conflicts(s: TwoWay, id: string): Promise<ConflictRow[]> {
  return s.o.sql<ConflictRow[]>`
    SELECT field, winner, reason, stripe_value, postgres_value, postgres_changed_at,
           stripe_changed_at
    FROM conflicts WHERE customer_id = ${id} ORDER BY id`;
}

/** Seconds since the epoch. */
const second = (d: Date | null | undefined) => (d ? Math.floor(d.getTime() / 1000) : NaN);

async function stripeCustomer(s: TwoWay, stripeId: string): Promise<Stripe.Customer> {
  return (await s.stripe.customers.retrieve(stripeId)) as Stripe.Customer;
}

test('a push decided before the crash never overwrites a later dashboard edit', async ({ s }) => {
  const before = await holdsEvery(s);
  const { id } = await s.api.create({
    name: 'Region',
    email: 'region@example.com',
    metadata: { region: 'eu' },
  });
  const stripeId = await linked(s, id);
  await quiet(s, 500);
  // Our push of the API edit meets 429s and stays pending.
  s.emu.failNext({ method: 'POST', path: `/v1/customers/${stripeId}`, status: 429, count: 1_000 });
  s.emu.clearRequests();
  const sentSecond = Math.floor(Date.now() / 1000);
  await s.api.patch(id, { metadata: { region: null } });
  const apiSecond = Math.floor(Date.now() / 1000);
  const tried = await eventually(
    async () => s.emu.requests({ method: 'POST', path: `/v1/customers/${stripeId}` }).length,
    (n) => n > 0,
  );
  assert.ok(tried > 0, 'the push was tried and refused');
  await s.killWorker();
  s.emu.clearFaults();
  // Down: the person's edits come later than ours, and their webhooks wait in Stripe's retries.
  s.emu.pauseWebhooks();
  await nextSecond(apiSecond);
  await s.stripe.customers.update(stripeId, { metadata: { region: 'us' } });
  await s.stripe.customers.update(stripeId, { metadata: { region: 'apac' } });
  s.spawnWorker();
  await holdsEvery(s, before);
  // The resumed worker has had its chance to push; only then does Stripe retry the webhooks.
  await sleep(3_000);
  s.emu.resumeWebhooks();
  const after = await rowWhen(s, id, (r) => r.metadata.region === 'apac', 20_000);
  assert.is(after?.metadata.region, 'apac', "the dashboard's later edit reached Postgres");
  await quiet(s, 1_000);
  assert.is((await stripeCustomer(s, stripeId)).metadata.region, 'apac', 'and stays in Stripe');
  assert.is((await row(s, id))?.metadata.region, 'apac');
  const recorded = (await conflicts(s, id)).filter((c) => c.field === 'metadata.region');
  assert.ok(recorded.length > 0, 'the edit on both sides is recorded as a conflict');
  const last = recorded.at(-1);
  assert.is(last?.winner, 'stripe');
  // Each side is dated by its own change: ours by the API write, Stripe's by the dashboard's.
  // The write committed between the request and its answer, which can straddle a second.
  const postgresSecond = second(last?.postgres_changed_at);
  assert.ok(postgresSecond >= sentSecond && postgresSecond <= apiSecond, last?.reason);
  assert.ok(second(last?.stripe_changed_at) >= apiSecond + 2, last?.reason);
});

test('an API edit made before the worker is back wins over an older dashboard edit', async ({
  s,
}) => {
  const before = await holdsEvery(s);
  const { id } = await s.api.create({ name: 'Before', email: 'before@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 500);
  await s.killWorker();
  s.emu.pauseWebhooks();
  await s.stripe.customers.update(stripeId, { name: 'Dashboard' });
  const dashboardSecond = Math.floor(Date.now() / 1000);
  await nextSecond(dashboardSecond);
  // No worker holds the partitions yet: the API's change waits in the stream.
  await s.api.patch(id, { name: 'Api' });
  const apiAt = Date.now();
  s.emu.resumeWebhooks();
  await s.emu.flushWebhooks();
  s.spawnWorker();
  await holdsEvery(s, before);
  await quiet(s, 2_000);
  const inStripe = await eventually(
    () => stripeCustomer(s, stripeId),
    (c) => c.name === 'Api',
    20_000,
  );
  assert.is(inStripe.name, 'Api', 'the later API edit reached Stripe');
  assert.is((await row(s, id))?.name, 'Api', 'and stayed in Postgres');
  for (const c of (await conflicts(s, id)).filter((c) => c.field === 'name')) {
    assert.is(c.winner, 'postgres', c.reason);
    // The Postgres side is dated by the API's change, never by an older one.
    assert.ok(second(c.postgres_changed_at) >= Math.floor(apiAt / 1000), c.reason);
    assert.is(second(c.stripe_changed_at), dashboardSecond, c.reason);
  }
});

test('a dashboard edit made after an API edit that waits for the worker wins', async ({ s }) => {
  const before = await holdsEvery(s);
  const { id } = await s.api.create({ name: 'Waiting', email: 'waiting@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 500);
  await s.killWorker();
  // The API's change is in the stream, undecided; the dashboard's, later, is in INBOUND.
  const sentSecond = Math.floor(Date.now() / 1000);
  await s.api.patch(id, { name: 'Api' });
  const apiSecond = Math.floor(Date.now() / 1000);
  await nextSecond(apiSecond);
  await s.stripe.customers.update(stripeId, { name: 'Dashboard' });
  await s.emu.flushWebhooks();
  s.spawnWorker();
  await holdsEvery(s, before);
  const after = await rowWhen(s, id, (r) => r.name === 'Dashboard', 20_000);
  assert.is(after?.name, 'Dashboard', "the dashboard's later edit reached Postgres");
  await quiet(s, 1_500);
  assert.is((await stripeCustomer(s, stripeId)).name, 'Dashboard', 'and was not overwritten');
  assert.is((await row(s, id))?.name, 'Dashboard');
  const [c] = (await conflicts(s, id)).filter((c) => c.field === 'name');
  assert.is(c?.winner, 'stripe', c?.reason);
  const postgresSecond = second(c?.postgres_changed_at);
  assert.ok(postgresSecond >= sentSecond && postgresSecond <= apiSecond, c?.reason);
  assert.ok(second(c?.stripe_changed_at) > apiSecond, c?.reason);
});

test.run();
