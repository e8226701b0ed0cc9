// The worker SIGKILLed between its steps and their snapshot (write-behind): an edit of each
// customer has been decided and its Stripe update sent, but no snapshot in KV records it, and its
// message is not acked. Stripe carries the updates out after the worker died. The next worker
// decides those messages again on what KV holds, so every customer ends with its last edit (made
// while no worker ran, for some) and still one Stripe customer, and KV records it.
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

/** The version each saved snapshot of `ids` records. */
async function savedVersions(rtws: Rtws, t: TestEnvironment, ids: string[]) {
  const kv = await new Kvm(jetstream(rtws.nats)).open(t.names.bucket('ACTORS'));
  const versions = new Map<string, number>();
  for (const id of ids) {
    const entry = await kv.get(id);
    if (entry?.operation !== 'PUT') continue;
    const stored = entry.json<{ snapshot: { context: { desired: { version: number } | null } } }>();
    versions.set(id, stored.snapshot.context.desired?.version ?? 0);
  }
  return versions;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SIGKILL with steps unsaved and their calls in flight: every last edit holds', async (ctx) => {
  const { t, side, rtws } = ctx as Required<typeof ctx>;
  const env = { ...t.env, ...side.env({ RTWS_ROLES: 'worker' }) };
  const api = apiClient(rtws.url!);
  // A busy actor is saved once 1,000 steps ahead or after 10 s; a quiet one as it settles.
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
  const created = await eventually(
    () => savedVersions(rtws, t, ids),
    (v) => ids.every((id) => v.get(id) === 1),
    30_000,
    100,
  );
  assert.ok(
    ids.every((id) => created.get(id) === 1),
    'each create is saved once its actor settles',
  );

  // Each customer's next update reaches Stripe only 4 s after it is sent.
  side.emulator.delayRequests({
    method: 'POST',
    path: '/v1/customers/*',
    ms: 4_000,
    count: CUSTOMERS,
  });
  await inPool(ids, 4, (id) => api.patch(id, { name: `Second ${id.slice(0, 8)}` }));
  await sleep(1_500);
  const before = await savedVersions(rtws, t, ids);
  assert.ok(
    ids.every((id) => before.get(id) === 1),
    `no saved snapshot records the edit yet: ${JSON.stringify([...before.values()])}`,
  );

  assert.is(await ctx.worker.kill('SIGKILL'), null, 'ended by the signal');
  const edited = ids.slice(0, EDITED);
  await inPool(edited, 4, (id) => api.patch(id, { name: `Third ${id.slice(0, 8)}` }));
  ctx.worker = spawnRtws(env);

  const report = await awaitConvergence(rtws.sql, side.stripe, api, 90_000);
  assert.ok(converged(report), `${summary(report)}\n${ctx.worker.output().slice(-2000)}`);
  assert.is(report.stripeCustomers, CUSTOMERS, 'one Stripe customer each');
  const after = await stripeCustomersByRtwsId(side.stripe);
  for (const id of ids) {
    const last = edited.includes(id) ? 'Third' : 'Second';
    assert.is(after.get(id)?.[0]?.name, `${last} ${id.slice(0, 8)}`, 'the last edit holds');
  }
  // The updates sent before the kill went under the keys their decisions gave them.
  const keys = new Set(
    side.emulator.requests({ method: 'POST', path: '/v1/customers/' }).map((r) => r.idempotencyKey),
  );
  for (const id of ids)
    assert.ok(keys.has(`rtws-${id}-2-update`), 'the edit was sent under its key');
  const saved = await eventually(
    () => savedVersions(rtws, t, ids),
    (v) => ids.every((id) => v.get(id) === (edited.includes(id) ? 3 : 2)),
    10_000,
    200,
  );
  assert.ok(
    ids.every((id) => saved.get(id) === (edited.includes(id) ? 3 : 2)),
    'every snapshot records its last edit',
  );
});

test.run();
