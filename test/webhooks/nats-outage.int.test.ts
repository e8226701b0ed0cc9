// NATS dies while Stripe is delivering: the receiver answers 503 rather than acknowledging an event
// it could not store, the emulator retries on its schedule, and once NATS is back every event lands
// exactly once.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type Stripe from 'stripe';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { inboundPublisher } from '../../adapters/jetstream/inbound.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { onPrivateNats, type PrivateEnvironment } from '../harness/private-environment.ts';
import { eventually } from '../harness/stream.ts';
import { counter, inboundMessages, SECRET, startReceiver, type Receiver } from './support.ts';

interface Context {
  env: PrivateEnvironment;
  receiverNats: NatsConnection;
  r: Receiver;
  emu: StripeEmulator;
  stripe: Stripe;
}

const test = suite<Context>('webhooks while NATS is down');

test.before(async (ctx) => {
  ctx.env = await onPrivateNats();
  ctx.receiverNats = await connectNats({
    servers: [ctx.env.server.url],
    name: 'rtws-webhooks-receiver',
  });
  ctx.r = await startReceiver(
    {
      names: ctx.env.t.names,
      publish: inboundPublisher(jetstream(ctx.receiverNats), { timeoutMs: 500 }),
      timeoutMs: 500,
    },
    true,
  );
  ctx.emu = await startStripeEmulator({
    port: 0,
    searchLagMs: 0,
    webhookRetryScheduleMs: [300, 500, 1_000, 1_000, 2_000, 2_000, 3_000],
    webhooks: [{ url: ctx.r.url, secret: SECRET }],
  });
  ctx.stripe = stripeClient({ secretKey: 'sk_test_outage', apiBase: ctx.emu.url });
});

test.after(async (ctx) => {
  await ctx.emu?.close();
  await ctx.r?.close();
  await ctx.receiverNats?.close();
  await ctx.env?.close();
});

test('deliveries during the outage get 503s, are retried, and land exactly once after it', async (ctx) => {
  const { server: nats, t, o } = ctx.env;
  await nats.crash();
  const created = [];
  for (const name of ['Outage 1', 'Outage 2', 'Outage 3'])
    created.push(await ctx.stripe.customers.create({ name }));
  const refused = await eventually(
    async () => ctx.emu.webhookAttempts().filter((a) => a.status === 503),
    (a) => new Set(a.map((x) => x.eventId)).size === created.length,
    10_000,
    50,
  );
  assert.is(
    new Set(refused.map((a) => a.eventId)).size,
    created.length,
    'every event was refused while NATS was down',
  );
  assert.ok(
    ctx.emu.webhookAttempts().every((a) => !a.ok),
    'nothing was acknowledged while NATS was down',
  );

  await nats.start();
  const eventIds = [...new Set(refused.map((a) => a.eventId))];
  const accepted = await eventually(
    async () => ctx.emu.webhookAttempts().filter((a) => a.ok),
    (a) => eventIds.every((id) => a.some((x) => x.eventId === id)),
    15_000,
    100,
  );
  assert.ok(
    eventIds.every((id) => accepted.some((a) => a.eventId === id)),
    'every event was redelivered and accepted',
  );

  // The observer's own connection reconnects on its own schedule after the restart: until it has,
  // its requests time out, which says nothing about what the stream holds.
  const stored = await eventually(
    () => inboundMessages(o.nats, t.names).catch(() => undefined),
    (m) => m !== undefined,
    15_000,
    200,
  );
  assert.ok(stored, 'the stream could be read after the restart');
  assert.equal(
    stored.map((m) => m.msgId).sort(),
    [...eventIds].sort(),
    'exactly one message per event',
  );
  const customers = stored.map(
    (m) =>
      (JSON.parse(Buffer.from(m.data).toString('utf8')) as Stripe.Event).data
        .object as Stripe.Customer,
  );
  assert.equal(customers.map((c) => c.id).sort(), created.map((c) => c.id).sort());
  assert.ok(
    (await counter(ctx.r.registry, 'rtws_webhooks_received_total', { outcome: 'unavailable' })) >=
      created.length,
  );
});

test.run();
