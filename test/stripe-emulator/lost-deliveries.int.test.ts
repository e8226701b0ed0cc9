// Lost deliveries: dropped as Stripe drops them after its last retry, or never sent to a disabled
// endpoint. The events stay listable; only the webhooks vanish.
import type Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, raw, startReceiver, suiteEmulator, waitFor } from './support.ts';

const { emu, stripe } = await suiteEmulator(test, {
  emulator: { webhookRetryScheduleMs: [100, 100] },
});
const receiver = await startReceiver();

test.after(() => receiver.close());
test.before.each(() => {
  receiver.deliveries.length = 0;
  receiver.status = () => 200;
  emu.registerWebhookEndpoint(receiver.url);
});

const deliveredIds = () =>
  receiver.deliveries.map(
    (d) => ((JSON.parse(d.body) as Stripe.Event).data.object as { id: string }).id,
  );
const endpointId = async () => (await stripe.webhookEndpoints.list()).data[0]!.id;

test('drop gives up on queued deliveries: none arrives, the events stay listed', async () => {
  emu.pauseWebhooks();
  const a = await stripe.customers.create({ name: 'Lost A' });
  await stripe.customers.update(a.id, { name: 'Lost A2' });
  assert.is(emu.dropWebhooks(), 2);
  emu.resumeWebhooks();
  const result = await emu.flushWebhooks();
  assert.is(receiver.deliveries.length, 0);
  assert.is(result.failed, 2);
  assert.is(result.pending, 0);
  const events = await stripe.events.list({ type: 'customer.*' });
  assert.is(events.data.length, 2);
  assert.ok(
    events.data.every((e) => e.pending_webhooks === 1),
    'never delivered',
  );
});

test('drop also gives up on retries, and on an attempt on the wire', async () => {
  receiver.status = () => 500;
  await stripe.customers.create({ name: 'Retried' });
  await waitFor(() => emu.webhookAttempts().length === 1, 5000, 'the first attempt');
  assert.is(emu.dropWebhooks(), 1, 'the retry waiting for its turn');
  receiver.status = () => 200;
  await emu.flushWebhooks();
  await new Promise((r) => setTimeout(r, 300));
  assert.is(receiver.deliveries.length, 1, 'only the first, failed, attempt');
  // Later events are delivered as usual.
  const b = await stripe.customers.create({ name: 'After' });
  await emu.flushWebhooks();
  assert.equal(deliveredIds().slice(1), [b.id]);
});

test('POST /_emulator/webhooks/drop answers how many it dropped', async () => {
  emu.pauseWebhooks();
  await stripe.customers.create({ name: 'Over HTTP' });
  const res = await fetch(`${emu.url}/_emulator/webhooks/drop`, { method: 'POST' });
  assert.is(res.status, 200);
  assert.equal(await res.json(), { ok: true, dropped: 1 });
  emu.resumeWebhooks();
  await emu.flushWebhooks();
  assert.is(receiver.deliveries.length, 0);
});

test('a disabled endpoint gets nothing, and is not sent what it missed when enabled', async () => {
  const id = await endpointId();
  emu.pauseWebhooks();
  const queued = await stripe.customers.create({ name: 'Queued before' });
  const off = await stripe.webhookEndpoints.update(id, { disabled: true });
  assert.is(off.status, 'disabled');
  assert.is((await stripe.webhookEndpoints.retrieve(id)).status, 'disabled');
  emu.resumeWebhooks();
  const during = await stripe.customers.create({ name: 'While disabled' });
  await emu.flushWebhooks();
  assert.is(receiver.deliveries.length, 0);
  const on = await stripe.webhookEndpoints.update(id, { disabled: false });
  assert.is(on.status, 'enabled');
  const after = await stripe.customers.create({ name: 'Enabled again' });
  await emu.flushWebhooks();
  assert.equal(deliveredIds(), [after.id]);
  const listed = (await stripe.events.list({ type: 'customer.created' })).data.map(
    (e) => (e.data.object as Stripe.Customer).id,
  );
  assert.equal(listed.sort(), [queued.id, during.id, after.id].sort(), 'every event is listed');
});

test('a delivery being retried stops when its endpoint is disabled', async () => {
  const id = await endpointId();
  receiver.status = () => 500;
  await stripe.customers.create({ name: 'Failing' });
  await waitFor(() => emu.webhookAttempts().length === 1, 5000, 'the first attempt');
  await stripe.webhookEndpoints.update(id, { disabled: true });
  receiver.status = () => 200;
  await emu.flushWebhooks();
  assert.is(receiver.deliveries.length, 1);
});

test('update edits url, events, description and metadata; bad values change nothing', async () => {
  const id = await endpointId();
  const updated = await stripe.webhookEndpoints.update(id, {
    description: 'rtws',
    metadata: { team: 'billing' },
    enabled_events: ['customer.created'],
  });
  assert.is(updated.description, 'rtws');
  assert.equal(updated.metadata, { team: 'billing' });
  assert.equal(updated.enabled_events, ['customer.created']);
  assert.is((updated as { secret?: string }).secret, undefined, 'the secret is shown only once');
  const bad = await raw(emu, 'POST', `/v1/webhook_endpoints/${id}`, 'disabled=maybe&description=x');
  assert.is(bad.status, 400);
  assert.is(bad.json.error.param, 'disabled');
  const badUrl = await raw(emu, 'POST', `/v1/webhook_endpoints/${id}`, 'url=ftp%3A%2F%2Fx');
  assert.is(badUrl.status, 400);
  const unknown = await raw(emu, 'POST', `/v1/webhook_endpoints/${id}`, 'secret=whsec_x');
  assert.is(unknown.status, 400);
  assert.is(unknown.json.error.code, 'parameter_unknown');
  const kept = await stripe.webhookEndpoints.retrieve(id);
  assert.is(kept.description, 'rtws');
  assert.is(kept.status, 'enabled');
  assert.is(kept.url, receiver.url);
  const missing = await errorOf(stripe.webhookEndpoints.update('we_missing', { disabled: true }));
  assert.is(missing.statusCode, 404);
});

test.run();
