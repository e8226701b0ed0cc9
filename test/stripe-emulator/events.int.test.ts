// Event contents: ids, whole-second created, request ids and keys, previous_attributes, list filters.
import Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, sdk, start, suiteEmulator } from './support.ts';

const { stripe } = await suiteEmulator(test);

test('customer.created carries the request id, the SDK key and the API version', async () => {
  const c = await stripe.customers.create({ name: 'E' });
  const [event] = (await stripe.events.list({ type: 'customer.created' })).data;
  assert.ok(event);
  assert.match(event.id, /^evt_[A-Za-z0-9]{24}$/);
  assert.is(event.object, 'event');
  assert.is(event.request!.id, c.lastResponse.requestId);
  assert.is(event.request!.idempotency_key, c.lastResponse.idempotencyKey);
  assert.match(event.request!.idempotency_key!, /^stripe-node-retry-/);
  assert.is(event.api_version, Stripe.API_VERSION);
  assert.is(Number.isInteger(event.created), true);
  assert.is((event.data.object as Stripe.Customer).id, c.id);
  assert.is(event.pending_webhooks, 0);
});

test('a caller key (a dashboard edit has none of ours) is what the event carries', async () => {
  const c = await stripe.customers.create({ name: 'D' }, { idempotencyKey: 'rtws-abc' });
  await stripe.customers.update(c.id, { name: 'Dash' }, { idempotencyKey: 'dashboard-edit-1' });
  const events = (await stripe.events.list()).data;
  assert.equal(
    events.map((e) => e.request!.idempotency_key),
    ['dashboard-edit-1', 'rtws-abc'],
  );
});

test('previous_attributes: old values of changed keys only; metadata by sub-key with null for new keys', async () => {
  const c = await stripe.customers.create({
    name: 'Old',
    email: 'same@example.com',
    metadata: { keep: '1', change: 'a', drop: 'x' },
  });
  await stripe.customers.update(c.id, {
    name: 'New',
    email: 'same@example.com',
    metadata: { change: 'b', drop: '', added: 'y' },
  });
  const [event] = (await stripe.events.list({ type: 'customer.updated' })).data;
  assert.equal(event!.data.previous_attributes, {
    name: 'Old',
    metadata: { change: 'a', drop: 'x', added: null },
  });
  assert.equal((event!.data.object as Stripe.Customer).metadata, {
    keep: '1',
    change: 'b',
    added: 'y',
  });
});

test('an update that changes nothing fires nothing', async () => {
  const c = await stripe.customers.create({ name: 'Same' });
  await stripe.customers.update(c.id, { name: 'Same' });
  assert.is((await stripe.events.list({ type: 'customer.updated' })).data.length, 0);
});

test('data.object is the snapshot as of the event', async () => {
  const c = await stripe.customers.create({ name: 'v1' });
  await stripe.customers.update(c.id, { name: 'v2' });
  await stripe.customers.update(c.id, { name: 'v3' });
  const names = (await stripe.events.list({ type: 'customer.*' })).data.map(
    (e) => (e.data.object as Stripe.Customer).name,
  );
  assert.equal(names, ['v3', 'v2', 'v1']);
});

test('customer.deleted carries the customer as it was', async () => {
  const c = await stripe.customers.create({ email: 'del@example.com' });
  await stripe.customers.del(c.id);
  const [event] = (await stripe.events.list({ type: 'customer.deleted' })).data;
  assert.is((event!.data.object as Stripe.Customer).email, 'del@example.com');
});

test('filters: wildcard type, types[], created range; retrieve by id; 404 for unknown', async () => {
  const c = await stripe.customers.create({ name: 'F' });
  await stripe.invoiceItems.create({ customer: c.id, amount: 5, currency: 'usd' });
  assert.is((await stripe.events.list({ type: 'customer.*' })).data.length, 1);
  assert.is(
    (await stripe.events.list({ types: ['customer.created', 'invoiceitem.created'] })).data.length,
    2,
  );
  const now = Math.floor(Date.now() / 1000);
  assert.is((await stripe.events.list({ created: { gte: now - 5 } })).data.length, 2);
  assert.is((await stripe.events.list({ created: { lt: now - 5 } })).data.length, 0);
  const [first] = (await stripe.events.list({ limit: 1 })).data;
  assert.is((await stripe.events.retrieve(first!.id)).id, first!.id);
  assert.is((await errorOf(stripe.events.retrieve('evt_missing'))).statusCode, 404);
});

test('events are capped at maxEvents, oldest dropped', async () => {
  const small = await start({ maxEvents: 3 });
  try {
    const client = sdk(small);
    for (let i = 0; i < 5; i++) await client.customers.create({ name: `n${i}` });
    const events = (await client.events.list()).data;
    assert.is(events.length, 3);
    assert.equal(
      events.map((e) => (e.data.object as Stripe.Customer).name),
      ['n4', 'n3', 'n2'],
    );
  } finally {
    await small.close();
  }
});

test.run();
