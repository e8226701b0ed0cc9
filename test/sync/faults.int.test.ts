// Stripe misbehaving in each of the ways it does: a create that commits and then answers 500, a
// storm of 429s, calls that outlast the client's timeout, an update that commits and answers 500.
// Each time every customer still converges to exactly one Stripe customer, and nothing fails.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiClient, inPool, type ApiClient } from './api-client.ts';
import { awaitConvergence, converged, summary } from './convergence.ts';
import { startSyncStack, type SyncStack } from './stack.ts';

interface Ctx extends Partial<SyncStack> {
  api?: ApiClient;
}
const test = suite<Ctx>('sync under Stripe faults');

test.before(async (ctx) => {
  const stack = await startSyncStack();
  Object.assign(ctx, stack);
  ctx.api = apiClient(stack.rtws.url!);
});
test.after(async (ctx) => {
  await ctx.close?.();
});
test.after.each((ctx) => {
  ctx.side?.emulator.clearFaults();
  ctx.side?.emulator.clearRequests();
});

async function settle(ctx: Ctx, timeoutMs = 45_000): Promise<void> {
  const report = await awaitConvergence(ctx.rtws!.sql, ctx.side!.stripe, ctx.api!, timeoutMs);
  assert.ok(converged(report), summary(report));
  assert.is(report.stripeCustomers, report.customers, 'one Stripe customer per customer');
}

const createMany = (api: ApiClient, tag: string, n: number) =>
  inPool(
    Array.from({ length: n }, (_, i) => i),
    8,
    (i) => api.create({ name: `${tag} ${i}`, email: `${tag}${i}@example.com` }),
  );

test('a create that commits and then answers 500 is found by the lookup and linked', async (ctx) => {
  const { side, api } = ctx as Required<Ctx>;
  side.emulator.failNext({ method: 'POST', path: '/v1/customers', status: 500, phase: 'after' });
  const c = await api.create({ name: 'Post Commit', email: 'post@example.com' });
  await settle(ctx);
  const creates = side.emulator
    .requests({ method: 'POST', path: '/v1/customers' })
    .filter((r) => r.path === '/v1/customers');
  assert.is(creates.length, 1, 'no second create: the lookup found the first');
  assert.is(creates[0]!.idempotencyKey, `rtws-${c.id}-create`);
  assert.ok(side.emulator.requests({ method: 'GET', path: '/v1/customers' }).length >= 1);
});

test('a storm of 429s delays but never fails or duplicates', async (ctx) => {
  const { side, api } = ctx as Required<Ctx>;
  side.emulator.failNext({ method: 'POST', path: '/v1/customers*', status: 429, count: 40 });
  const made = await createMany(api, 'storm', 10);
  await inPool(made, 8, (c) => api.patch(c.id, { phone: '+15550001' }));
  await settle(ctx, 60_000);
  const limited = side.emulator.requests({ path: '/v1/customers' }).filter((r) => r.status === 429);
  assert.is(limited.length, 40, 'the storm was felt');
  for (const c of made) assert.is((await api.sync(c.id)).targets.stripe!.status, 'synced');
});

test('updates that outlast the client timeout land once, under a rotated key', async (ctx) => {
  const { side, api } = ctx as Required<Ctx>;
  const [c] = await createMany(api, 'slow', 1);
  await settle(ctx);
  const cus = (await api.sync(c!.id)).links.stripe!;
  side.emulator.delayRequests({
    method: 'POST',
    path: `/v1/customers/${cus}`,
    ms: 6_000,
    count: 1,
  });
  await api.patch(c!.id, { name: 'slow renamed' });
  await new Promise((r) => setTimeout(r, 6_500)); // the held request commits in the meantime
  await settle(ctx, 30_000);
  const writes = side.emulator.requests({ method: 'POST', path: `/v1/customers/${cus}` });
  assert.is(writes.length, 2, 'the timed-out write and its resend');
});

// A create that outlasts the client timeout may still be running at Stripe: a lookup then would miss
// it. rtws resends the same key instead (Stripe answers 409 while the first runs, then replays its
// result), so the held create and its resends make one customer.
test('creates that outlast the client timeout are settled under their key, not duplicated', async (ctx) => {
  const { side, api } = ctx as Required<Ctx>;
  side.emulator.delayRequests({ method: 'POST', path: '/v1/customers', ms: 6_000, count: 2 });
  await createMany(api, 'held', 2);
  await new Promise((r) => setTimeout(r, 6_500));
  await settle(ctx, 60_000);
});

test('an update that commits and answers 500 lands under a rotated key', async (ctx) => {
  const { side, api } = ctx as Required<Ctx>;
  const c = await api.create({ name: 'Rotated Key', email: 'rotate@example.com' });
  await settle(ctx);
  const cus = (await api.sync(c.id)).links.stripe!;
  side.emulator.failNext({
    method: 'POST',
    path: `/v1/customers/${cus}`,
    status: 500,
    phase: 'after',
  });
  const v2 = await api.patch(c.id, { name: 'Rotated Key II' });
  await settle(ctx);
  const writes = side.emulator.requests({ method: 'POST', path: `/v1/customers/${cus}` });
  assert.equal(
    writes.map((w) => [w.status, w.idempotencyKey]),
    [
      [500, `rtws-${c.id}-${v2.version}-update`],
      [200, `rtws-${c.id}-${v2.version}-update-a2`],
    ],
  );
  assert.is(
    ((await side.stripe.customers.retrieve(cus)) as { name: string }).name,
    'Rotated Key II',
  );
});

test.run();
