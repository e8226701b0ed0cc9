// Two workers on one namespace during a burst, the second joining while the first has writes in
// flight (so the first gives partitions back mid-call): from the emulator's request log, no two
// Stripe writes for one customer ever overlap in time, and every customer converges once.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Rtws } from '../../deploy/rtws.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { apiClient, inPool } from './api-client.ts';
import { awaitConvergence, converged, summary } from './convergence.ts';
import { stripeCustomersByRtwsId, stripeSide, type StripeSide } from './stack.ts';

const CUSTOMERS = 40;
/** Every write is held this long, so a write that started before the last ended shows up. */
const HOLD_MS = 200;

const test = suite<{ t?: TestEnvironment; side?: StripeSide; nodes: Rtws[] }>('two workers', {
  nodes: [],
});

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.side = await stripeSide();
  const t = ctx.t;
  const env = ctx.side.env();
  ctx.nodes = [await startTestRtws(t, { ...env, RTWS_ROLES: 'api,publisher,worker' })];
});
test.after(async (ctx) => {
  for (const n of ctx.nodes) await n.close();
  await ctx.side?.emulator.close();
  await ctx.t?.cleanup();
});

test('writes for one customer never overlap, and each customer converges once', async (ctx) => {
  const side = ctx.side!;
  const main = ctx.nodes[0]!;
  const api = apiClient(main.url!);
  side.emulator.delayRequests({ method: 'POST', path: '/v1/customers*', ms: HOLD_MS });
  const creating = inPool(
    Array.from({ length: CUSTOMERS }, (_, i) => i),
    16,
    (i) => api.create({ name: `Racer ${i}`, email: `racer${i}@example.com` }),
  );
  // Once the first creates are held in the emulator, the second worker joins and takes half.
  const held = await eventually(
    async () => side.emulator.requests({ method: 'POST', path: '/v1/customers' }).length,
    (n) => n > 0,
    10_000,
    10,
  );
  assert.ok(held > 0, 'a create reached Stripe');
  ctx.nodes.push(await startTestRtws(ctx.t!, { ...side.env(), RTWS_ROLES: 'worker' }));
  const made = await creating;
  for (const round of [1, 2])
    await inPool(made, 16, (c) => api.patch(c.id, { metadata: { round: String(round) } }));

  const report = await awaitConvergence(main.sql, side.stripe, api, 60_000);
  assert.ok(converged(report), summary(report));
  assert.is(report.stripeCustomers, CUSTOMERS);

  const byCus = new Map<string, string>();
  for (const [id, [c]] of await stripeCustomersByRtwsId(side.stripe)) if (c) byCus.set(c.id, id);
  const times = new Map<string, number[]>();
  for (const r of side.emulator.requests({ method: 'POST', path: '/v1/customers' })) {
    const id =
      /^rtws-(.+)-create/.exec(r.idempotencyKey ?? '')?.[1] ??
      byCus.get(r.path.slice('/v1/customers/'.length));
    assert.ok(id, `a write we can place: ${r.path} ${r.idempotencyKey}`);
    times.set(id, [...(times.get(id) ?? []), r.at]);
  }
  assert.is(times.size, CUSTOMERS);
  let writes = 0;
  for (const [id, ats] of times) {
    writes += ats.length;
    ats.sort((a, b) => a - b);
    for (let i = 1; i < ats.length; i++)
      assert.ok(
        ats[i]! - ats[i - 1]! >= HOLD_MS,
        `${id}: writes ${ats[i]! - ats[i - 1]!} ms apart`,
      );
  }
  assert.ok(writes >= CUSTOMERS * 2, `${writes} writes`);
});

test.run();
