// Replay is only worth its name if a rebuild from the recorded stream gives what the live run
// decided. A customer goes through a real flow (API, publisher, worker, the Stripe emulator
// answering with faults), then its actor is rebuilt from CHANGES alone and compared with the
// snapshot the live worker saved in KV.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rebuild } from '../../actors/runtime/rebuild.ts';
import { customerKind } from '../../actors/customer/kind.ts';
import { encodeActor } from '../../actors/customer/snapshot-codec.ts';
import { customerHistory } from '../../adapters/jetstream/customer-history.ts';
import { authHeaders } from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { apiClient, type ApiClient, type SyncTarget } from '../sync/api-client.ts';
import { startSyncStack, type SyncStack } from '../sync/stack.ts';
import { storedActors } from './fixture.ts';

interface Ctx extends SyncStack {
  api: ApiClient;
}

const test = suite<Ctx>('customer replay');

test.before(async (ctx) => {
  Object.assign(ctx, await startSyncStack());
  ctx.api = apiClient(ctx.rtws.url!);
});
test.after(async (ctx) => {
  await ctx.close?.();
});

/** Waits until the customer's Stripe target shows `done`, and fails if it never does. */
async function stripeTarget(api: ApiClient, id: string, done: (s: SyncTarget) => boolean) {
  const view = await eventually(
    () => api.sync(id),
    (v) => v.targets.stripe !== undefined && done(v.targets.stripe),
    20_000,
    100,
  );
  const stripe = view.targets.stripe;
  assert.ok(stripe && done(stripe), `Stripe target: ${JSON.stringify(stripe)}`);
  return stripe;
}

/** The stored actor and the rebuild from what CHANGES recorded, read until both have settled. */
async function storedAndRebuilt(ctx: Ctx, id: string) {
  const read = async () => {
    const stored = (await storedActors(ctx.rtws.nats, ctx.t)).get(id)?.value;
    const history = await customerHistory(ctx.rtws.nats, ctx.t.names, id);
    const snapshot = rebuild(customerKind(), id, history);
    const rebuilt = JSON.parse(JSON.stringify(encodeActor(snapshot))) as unknown;
    return { stored, rebuilt, snapshot, history };
  };
  // Outcomes are recorded after the call they report and land in KV a step later: compare once
  // the two agree, or give the last reading (and its difference) after the deadline.
  return eventually(
    read,
    (r) => JSON.stringify(r.stored) === JSON.stringify(r.rebuilt),
    10_000,
    250,
  );
}

test('rebuilding from the recorded stream gives the snapshot the live run saved', async (ctx) => {
  const { api, side } = ctx;
  const emu = side.emulator;

  // The create commits at Stripe but answers 500: the lookup finds it and links it.
  emu.failNext({ method: 'POST', path: '/v1/customers', status: 500, phase: 'after' });
  const { id } = await api.create({ name: 'Ada', email: 'ada@example.com' });
  const linked = await stripeTarget(
    api,
    id,
    (s) => s.status === 'synced' && s.synced_version === 1,
  );
  const cus = linked.external_id!;

  // Rate limited, then pushed on the retry.
  emu.failNext({ method: 'POST', path: `/v1/customers/${cus}`, status: 429 });
  await api.patch(id, { metadata: { plan: 'gold' } });
  await stripeTarget(api, id, (s) => s.status === 'synced' && s.synced_version === 2);

  // Refused for good: the intent fails; the next change pushes again.
  emu.failNext({ method: 'POST', path: `/v1/customers/${cus}`, status: 400 });
  await api.patch(id, { phone: '+15550001' });
  await stripeTarget(api, id, (s) => s.last_error?.failure === 'permanent');
  await api.patch(id, { metadata: { plan: 'gold', seats: '3' } });
  await stripeTarget(api, id, (s) => s.status === 'synced' && s.synced_version === 4);

  const { 'content-type': _, ...auth } = authHeaders();
  const res = await fetch(`${ctx.rtws.url!}/customers/${id}`, { method: 'DELETE', headers: auth });
  assert.is(res.status, 204);
  await waitFor(
    async () => (await storedActors(ctx.rtws.nats, ctx.t)).get(id)?.value.snapshot.context,
    (c) => c?.targets.stripe.status === 'deleted',
    20_000,
    100,
  );

  const { stored, rebuilt, snapshot, history } = await storedAndRebuilt(ctx, id);
  const recorded = history.map((h) => {
    const m = h.message as { type?: string; data?: { failure?: string } } | null;
    return m?.data?.failure ? `${m.type}:${m.data.failure}` : m?.type;
  });
  for (const what of [
    'CustomerCreated',
    'StripeCallFailed:uncertain',
    'StripeCustomerFound',
    'StripeCallFailed:rate_limited',
    'StripeCallFailed:permanent',
    'StripeCustomerUpdated',
    'CustomerDeleted',
    'StripeCustomerDeleted',
  ])
    assert.ok(recorded.includes(what), `recorded ${what}, in ${recorded.join(', ')}`);
  assert.ok(stored, 'the live run saved a snapshot');
  assert.equal(rebuilt, stored, 'the rebuild equals the saved snapshot');
  assert.is(snapshot.context.targets.stripe.status, 'deleted', 'the fold reached the end');
});

test.run();
