// The worker SIGKILLed between its steps and their snapshot (write-behind): the customers' creates
// have reached Stripe, but no snapshot in KV records them, and their messages are not acked. The
// next worker decides those messages again on what KV holds, so each customer ends linked to the
// one Stripe customer its create made (the create is sent again only under its first idempotency
// key), and edits made while no worker ran reach Stripe.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { Rtws } from '../../deploy/rtws.ts';
import { spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { eventually } from '../harness/stream.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { apiClient, inPool } from './api-client.ts';
import { awaitConvergence, converged, summary } from './convergence.ts';
import { stripeCustomersByRtwsId, stripeSide, type StripeSide } from './stack.ts';

const CUSTOMERS = 12;
const EDITED = 4;

const test = suite<{ t?: TestEnvironment; side?: StripeSide; rtws?: Rtws; worker?: RtwsProcess }>(
  'worker killed before its snapshots are saved',
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

/** The saved snapshots of `ids`, and whether each records a Stripe customer. */
async function savedSnapshots(rtws: Rtws, t: TestEnvironment, ids: string[]) {
  const linked = new Map<string, boolean>();
  let kv;
  try {
    kv = await new Kvm(jetstream(rtws.nats)).open(t.names.bucket('ACTORS'));
  } catch (err) {
    if (/stream not found/.test(String(err))) return linked;
    throw err;
  }
  for (const id of ids) {
    const entry = await kv.get(id);
    if (entry?.operation !== 'PUT') continue;
    const stored = entry.json<{
      snapshot: { context: { targets: { stripe: { externalId: string | null } } } };
    }>();
    linked.set(id, stored.snapshot.context.targets.stripe.externalId !== null);
  }
  return linked;
}

test('SIGKILL with steps unsaved: one Stripe customer each, and the edits made meanwhile', async (ctx) => {
  const { t, side, rtws } = ctx as Required<typeof ctx>;
  const env = { ...t.env, ...side.env({ RTWS_ROLES: 'worker' }) };
  const api = apiClient(rtws.url!);
  // Nothing is saved until a customer is 1,000 steps ahead, or for 10 s.
  ctx.worker = spawnRtws({
    ...env,
    RTWS_SNAPSHOT_EVERY_STEPS: '1000',
    RTWS_SNAPSHOT_EVERY_MS: '10000',
  });
  const made = await inPool(
    Array.from({ length: CUSTOMERS }, (_, i) => i),
    4,
    (i) => api.create({ name: `Unsaved ${i}`, email: `unsaved${i}@example.com` }),
  );
  const ids = made.map((c) => c.id);
  const inStripe = await eventually(
    () => stripeCustomersByRtwsId(side.stripe),
    (m) => ids.every((id) => m.has(id)),
    30_000,
    100,
  );
  assert.ok(
    ids.every((id) => inStripe.has(id)),
    'every create reached Stripe',
  );
  const before = await savedSnapshots(rtws, t, ids);
  const covered = [...before.values()].filter(Boolean).length;
  assert.is(covered, 0, 'no saved snapshot records its Stripe customer yet');

  assert.is(await ctx.worker.kill('SIGKILL'), null, 'ended by the signal');
  const edited = ids.slice(0, EDITED);
  await inPool(edited, 4, (id) => api.patch(id, { name: `Edited ${id.slice(0, 8)}` }));
  ctx.worker = spawnRtws(env);

  const report = await awaitConvergence(rtws.sql, side.stripe, api, 90_000);
  assert.ok(converged(report), `${summary(report)}\n${ctx.worker.output().slice(-2000)}`);
  assert.is(report.stripeCustomers, CUSTOMERS, 'one Stripe customer each');
  const after = await stripeCustomersByRtwsId(side.stripe);
  for (const id of edited)
    assert.is(after.get(id)?.[0]?.name, `Edited ${id.slice(0, 8)}`, 'the edit reached Stripe');
  // A create sent again went under the key of the first: Stripe replayed it.
  const creates = side.emulator
    .requests({ method: 'POST', path: '/v1/customers' })
    .filter((r) => r.path === '/v1/customers');
  const keys = new Set(creates.map((r) => r.idempotencyKey));
  assert.is(keys.size, CUSTOMERS, 'one idempotency key per customer created');
  // And the new worker's snapshots, saved within a second, record the links.
  const saved = await eventually(
    () => savedSnapshots(rtws, t, ids),
    (m) => ids.every((id) => m.get(id) === true),
    10_000,
    200,
  );
  assert.ok(
    ids.every((id) => saved.get(id) === true),
    'every snapshot records its Stripe customer',
  );
});

test.run();
