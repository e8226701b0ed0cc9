// Webhook deliveries are signed as constructEvent verifies, retried, and bend to the chaos controls.
import Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sleep, startReceiver, suiteEmulator, waitFor } from './support.ts';

const { emu, stripe } = await suiteEmulator(test, {
  emulator: { webhookRetryScheduleMs: [100, 100] },
});
const receiver = await startReceiver();
let secret: string;

test.after(() => receiver.close());
test.before.each(() => {
  receiver.deliveries.length = 0;
  receiver.status = () => 200;
  secret = emu.registerWebhookEndpoint(receiver.url);
});

const ids = () => receiver.deliveries.map((d) => (JSON.parse(d.body) as Stripe.Event).id);

test('deliveries verify with stripe.webhooks.constructEvent; tampering is rejected', async () => {
  assert.match(secret, /^whsec_/);
  const c = await stripe.customers.create({ name: 'Hook' });
  await emu.flushWebhooks();
  assert.is(receiver.deliveries.length, 1);
  const { body, signature } = receiver.deliveries[0]!;
  assert.match(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
  const event = stripe.webhooks.constructEvent(body, signature, secret);
  assert.is(event.type, 'customer.created');
  assert.is((event.data.object as Stripe.Customer).id, c.id);
  assert.is(event.pending_webhooks, 1);
  assert.throws(
    () => stripe.webhooks.constructEvent(body.replace('Hook', 'Hack'), signature, secret),
    (e: Error) => e instanceof Stripe.errors.StripeSignatureVerificationError,
  );
  assert.throws(
    () => stripe.webhooks.constructEvent(body, signature, 'whsec_other'),
    (e: Error) => e instanceof Stripe.errors.StripeSignatureVerificationError,
  );
  const [stored] = (await stripe.events.list()).data;
  assert.is(stored!.pending_webhooks, 0);
});

test('a delivery signed at an old timestamp is rejected by constructEvent', async () => {
  emu.setClockOffset(-10 * 60_000);
  await stripe.customers.create({ name: 'Old' });
  await emu.flushWebhooks();
  const { body, signature } = receiver.deliveries[0]!;
  assert.throws(() => stripe.webhooks.constructEvent(body, signature, secret), /tolerance/);
  assert.ok(stripe.webhooks.constructEvent(body, signature, secret, 3600));
});

test('a 500 from the receiver is retried on the schedule', async () => {
  receiver.status = (n) => (n === 1 ? 500 : 200);
  await stripe.customers.create({ name: 'Retry' });
  // The receiver records a delivery before answering it: wait for the emulator to log the answer.
  await waitFor(() => emu.webhookAttempts().length === 2, 5000, 'the retry');
  assert.is(ids()[0], ids()[1]);
  const attempts = emu.webhookAttempts();
  assert.equal(
    attempts.map((a) => [a.attempt, a.status, a.ok]),
    [
      [1, 500, false],
      [2, 200, true],
    ],
  );
  assert.ok(receiver.deliveries[1]!.receivedAt - receiver.deliveries[0]!.receivedAt >= 90);
});

test('exhausted retries count as failed; flush returns once attempts are done', async () => {
  receiver.status = () => 503;
  await stripe.customers.create({ name: 'Never' });
  const result = await emu.flushWebhooks();
  assert.is(receiver.deliveries.length, 3);
  assert.is(result.failed, 1);
  assert.is(result.pending, 0);
});

test('a connection error is an attempt with an error and is retried', async () => {
  emu.registerWebhookEndpoint('http://127.0.0.1:9/closed');
  await stripe.customers.create({ name: 'Conn' });
  await emu.flushWebhooks();
  const failed = emu.webhookAttempts().filter((a) => a.url.endsWith('/closed'));
  assert.is(failed.length, 3);
  assert.ok(failed.every((a) => a.status === null && a.error !== null));
});

test('duplicate delivers every event twice', async () => {
  emu.configureWebhooks({ duplicate: true });
  await stripe.customers.create({ name: 'Twice' });
  await emu.flushWebhooks();
  assert.is(receiver.deliveries.length, 2);
  assert.is(ids()[0], ids()[1]);
});

test('delay holds deliveries; pause holds them until resume; flush delivers anyway', async () => {
  emu.configureWebhooks({ delayMs: 300 });
  const sent = Date.now();
  await stripe.customers.create({ name: 'Delayed' });
  await sleep(50);
  assert.is(receiver.deliveries.length, 0);
  await waitFor(() => receiver.deliveries.length === 1, 5000, 'the delayed delivery');
  assert.ok(receiver.deliveries[0]!.receivedAt - sent >= 290);
  emu.configureWebhooks({ delayMs: 0 });
  emu.pauseWebhooks();
  await stripe.customers.create({ name: 'Paused' });
  await sleep(80);
  assert.is(receiver.deliveries.length, 1);
  emu.resumeWebhooks();
  await waitFor(() => receiver.deliveries.length === 2, 5000, 'delivery after resume');
  emu.pauseWebhooks();
  await stripe.customers.create({ name: 'Flushed' });
  await emu.flushWebhooks();
  assert.is(receiver.deliveries.length, 3);
});

test('reorder shuffles deliveries within a window', async () => {
  emu.configureWebhooks({ reorderWindow: 20 });
  emu.pauseWebhooks();
  const created: string[] = [];
  for (let i = 0; i < 20; i++) await stripe.customers.create({ name: `r${i}` });
  for (const e of (await stripe.events.list({ limit: 100 })).data.reverse()) created.push(e.id);
  await emu.flushWebhooks();
  assert.is(receiver.deliveries.length, 20);
  assert.equal(new Set(ids()), new Set(created));
  assert.not.equal(ids(), created);
});

test('endpoints created through the API get a secret and only their enabled events', async () => {
  const other = await startReceiver();
  try {
    const endpoint = await stripe.webhookEndpoints.create({
      url: other.url,
      enabled_events: ['customer.updated'],
    });
    assert.match(endpoint.secret!, /^whsec_/);
    const c = await stripe.customers.create({ name: 'A' });
    await stripe.customers.update(c.id, { name: 'B' });
    await emu.flushWebhooks();
    assert.is(other.deliveries.length, 1);
    const event = stripe.webhooks.constructEvent(
      other.deliveries[0]!.body,
      other.deliveries[0]!.signature,
      endpoint.secret!,
    );
    assert.is(event.type, 'customer.updated');
    assert.is((await stripe.webhookEndpoints.retrieve(endpoint.id)).secret, undefined);
  } finally {
    await other.close();
  }
});

test.run();
