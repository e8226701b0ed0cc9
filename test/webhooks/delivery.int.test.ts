// Real deliveries: the Stripe emulator signs and POSTs events to the listening receiver, which
// stores each in the INBOUND stream before it answers 2xx.
import { jetstream } from '@nats-io/jetstream';
import type Stripe from 'stripe';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inboundPublisher } from '../../adapters/jetstream/inbound.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { partitionOf, partitionToken } from '../../core/subjects.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { counter, inboundMessages, SECRET, startReceiver, type Receiver } from './support.ts';

interface Context {
  t: TestEnvironment;
  o: Observer;
  r: Receiver;
  emu: StripeEmulator;
  stripe: Stripe;
  /** When each event id's PubAck came back. */
  ackedAt: Map<string, number>;
}

const SLOW_BROKER_MS = 150;

const test = suite<Context>('webhook delivery from the emulator');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  const publish = inboundPublisher(jetstream(ctx.o.nats));
  ctx.ackedAt = new Map();
  ctx.r = await startReceiver(
    {
      names: ctx.t.names,
      // A slow broker: an answer sent before the PubAck would reach the emulator well before it.
      publish: async (subject, payload, msgId) => {
        await new Promise((r) => setTimeout(r, SLOW_BROKER_MS));
        const receipt = await publish(subject, payload, msgId);
        if (!ctx.ackedAt.has(msgId)) ctx.ackedAt.set(msgId, Date.now());
        return receipt;
      },
    },
    true,
  );
  ctx.emu = await startStripeEmulator({
    port: 0,
    searchLagMs: 0,
    webhookRetryScheduleMs: [200, 200],
  });
  ctx.stripe = stripeClient({ secretKey: 'sk_test_webhooks', apiBase: ctx.emu.url });
});

test.after(async (ctx) => {
  await ctx.emu?.close();
  await ctx.r?.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

test.before.each((ctx) => {
  ctx.emu.reset();
  ctx.emu.registerWebhookEndpoint(ctx.r.url, SECRET);
});

const okAttempts = (emu: StripeEmulator, eventId: string) =>
  emu.webhookAttempts().filter((a) => a.eventId === eventId && a.ok);

test('a customer.created delivery is stored with its event id before the 2xx', async (ctx) => {
  const customer = await ctx.stripe.customers.create({ name: 'Grace', email: 'grace@example.com' });
  const attempts = await eventually(
    async () => ctx.emu.webhookAttempts(),
    (a) => a.some((x) => x.ok),
    5_000,
    20,
  );
  const ok = attempts.find((a) => a.ok)!;
  // Read the stream the moment the emulator has its 2xx: the event must already be there.
  const stored = await inboundMessages(ctx.o.nats, ctx.t.names);
  assert.is(ok.eventType, 'customer.created');
  assert.is(ok.status, 200);
  assert.equal(
    stored.map((m) => [m.subject, m.msgId]),
    [[ctx.t.names.inboundSubject('stripe', 'customer.created', customer.id), ok.eventId]],
  );
  const event = JSON.parse(Buffer.from(stored[0]!.data).toString('utf8')) as Stripe.Event;
  assert.is(event.id, ok.eventId);
  assert.is((event.data.object as Stripe.Customer).id, customer.id);
  const acked = ctx.ackedAt.get(ok.eventId);
  assert.ok(
    acked !== undefined && acked <= ok.at,
    'the PubAck came before the emulator saw the 2xx',
  );
  assert.is(ctx.emu.webhookAttempts().length, 1, 'accepted at the first attempt');
});

test('a duplicated delivery is answered 2xx twice and stored once', async (ctx) => {
  ctx.emu.configureWebhooks({ duplicate: true });
  const before = (await inboundMessages(ctx.o.nats, ctx.t.names)).length;
  await ctx.stripe.customers.create({ name: 'Twice' });
  await ctx.emu.flushWebhooks();
  const attempts = ctx.emu.webhookAttempts();
  assert.is(attempts.length, 2);
  assert.is(attempts[0]!.eventId, attempts[1]!.eventId);
  assert.ok(attempts.every((a) => a.ok && a.status === 200));
  const stored = await inboundMessages(ctx.o.nats, ctx.t.names);
  assert.is(stored.length, before + 1);
  assert.is(stored.at(-1)!.msgId, attempts[0]!.eventId);
  assert.is(
    await counter(ctx.r.registry, 'rtws_webhooks_received_total', { outcome: 'duplicate' }),
    1,
  );
});

test('updates and deletes flow too, each event once', async (ctx) => {
  const before = (await inboundMessages(ctx.o.nats, ctx.t.names)).length;
  const c = await ctx.stripe.customers.create({ name: 'Lin' });
  await ctx.stripe.customers.update(c.id, { email: 'lin@example.com' });
  await ctx.stripe.customers.del(c.id);
  await ctx.emu.flushWebhooks();
  const stored = (await inboundMessages(ctx.o.nats, ctx.t.names)).slice(before);
  // One customer's events, all in its partition.
  const p = partitionToken(partitionOf(c.id, ctx.t.names.partitions));
  assert.equal(stored.map((m) => m.subject.split('.inbound.stripe.')[1]).sort(), [
    `customer.created.${p}`,
    `customer.deleted.${p}`,
    `customer.updated.${p}`,
  ]);
  assert.equal(new Set(stored.map((m) => m.msgId)).size, 3);
  assert.ok(stored.every((m) => okAttempts(ctx.emu, m.msgId!).length === 1));
});

test.run();
