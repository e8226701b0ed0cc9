// GET /customers/:id/sync reads the actor's snapshot from its KV bucket (real JetStream).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { apiFixture, type ApiFixture } from '../harness/api.ts';
import {
  authHeaders,
  observe,
  testEnvironment,
  type Observer,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { openSnapshotStore } from '../../adapters/jetstream/kv-snapshot-store.ts';
import { syncViews } from '../../deploy/wiring/api/sync-view.ts';
import { encodeActor } from '../../actors/customer/snapshot-codec.ts';
import { decide, start } from '../../actors/customer/index.ts';
import type { SnapshotStore } from '../../core/worker-ports.ts';

const test = suite<{ t: TestEnvironment; o: Observer; f: ApiFixture; store: SnapshotStore }>(
  'sync status',
);

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.store = await openSnapshotStore(jetstream(ctx.o.nats), ctx.t.names.bucket('ACTORS'));
  ctx.f = await apiFixture({ syncTargets: syncViews(ctx.store) });
});
test.after(async (ctx) => {
  await ctx.f?.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

async function get(ctx: { f: ApiFixture }, url: string) {
  const res = await ctx.f.app.inject({ method: 'GET', url, headers: authHeaders() });
  return { status: res.statusCode, body: res.json<Record<string, any>>() };
}

test('before the actor ran: the customer is not yet observed', async (ctx) => {
  const c = await ctx.f.app.inject({
    method: 'POST',
    url: '/customers',
    headers: authHeaders(),
    payload: { name: 'Fresh' },
  });
  const id = c.json<{ id: string }>().id;
  const sync = await get(ctx, `/customers/${id}/sync`);
  assert.is(sync.status, 200);
  assert.is(sync.body.observed, false);
  assert.is(sync.body.version, 1);
  assert.equal(sync.body.targets, {});
});

test('after the actor ran: per target status, versions, the pending intent with its key, and errors', async (ctx) => {
  const c = await ctx.f.app.inject({
    method: 'POST',
    url: '/customers',
    headers: authHeaders(),
    payload: { name: 'Seen', email: 'seen@example.com' },
  });
  const customer = c.json<{ id: string; name: string }>();
  const at = Date.parse('2026-11-25T10:00:00Z');
  let snap = decide(start(customer.id), {
    type: 'CustomerCreated',
    data: { name: 'Seen', email: 'seen@example.com', phone: null, address: null, metadata: {} },
    metadata: {
      customer_id: customer.id,
      version: 1,
      origin: 'api',
      outbox_id: 1,
      occurred_at: new Date(at).toISOString(),
    },
    at,
  }).snapshot;
  snap = decide(snap, {
    type: 'StripeCallFailed',
    data: { intentId: 'stripe-1', failure: 'uncertain', reason: 'HTTP 500: api_error', attempt: 1 },
    at: at + 1000,
  }).snapshot;
  await ctx.store.save(customer.id, encodeActor(snap), undefined);

  const sync = await get(ctx, `/customers/${customer.id}/sync`);
  assert.is(sync.status, 200);
  assert.is(sync.body.observed, true);
  const stripe = sync.body.targets.stripe;
  assert.is(stripe.desired_version, 1);
  assert.is(stripe.synced_version, 0);
  assert.is(stripe.external_id, null);
  assert.is(stripe.pending.length, 1);
  assert.is(stripe.pending[0].type, 'FindStripeCustomer', 'an uncertain create is looked up first');
  assert.is(stripe.last_error.reason, 'HTTP 500: api_error');
});

test('a malformed id is a 400; an unknown one a 404', async (ctx) => {
  assert.is((await get(ctx, '/customers/nope/sync')).status, 400);
  assert.is((await get(ctx, '/customers/00000000-0000-4000-8000-000000000000/sync')).status, 404);
});

test.run();
