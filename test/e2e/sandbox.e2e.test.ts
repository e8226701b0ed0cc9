// `npm start` with no Stripe key: the built-in emulators start, rtws points at them (both ways: a
// customer created in the emulator lands in the catalogue), the banner names them, and they stop
// with rtws.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Stripe from 'stripe';
import { spawnSandbox, type RtwsProcess } from '../harness/process.ts';
import { observe, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { reachable } from '../harness/services.ts';
import { eventually, readStream } from '../harness/stream.ts';

const test = suite<{ t: TestEnvironment; p?: RtwsProcess }>('sandbox');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
});
test.after(async (ctx) => {
  await ctx.p?.kill();
  await ctx.t?.cleanup();
});

test('the emulators start, answer their official clients, and stop with rtws', async (ctx) => {
  const { process: p, banner } = await spawnSandbox({ ...ctx.t.env, LOG_LEVEL: 'warn' });
  ctx.p = p;
  assert.match(banner.webhook.url, /\/webhooks\/stripe$/);
  assert.match(banner.webhook.secret, /^whsec_/);
  const base = new URL(banner.stripe.url);
  const stripe = new Stripe(banner.stripe.key, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const c = await stripe.customers.create({ name: 'Sandboxed' });
  assert.match(c.id, /^cus_/);

  // The emulator's signed webhook reached rtws's receiver, which stored it in INBOUND.
  const o = await observe(ctx.t);
  try {
    const inbound = await eventually(
      () => readStream(o.nats, ctx.t.names.streams.inbound),
      (m) => m.length > 0,
      15_000,
    );
    const event = inbound[0]!.message as unknown as {
      type: string;
      data: { object: { id: string } };
    };
    assert.is(event.type, 'customer.created');
    assert.is(event.data.object.id, c.id);
    assert.match(inbound[0]!.msgId ?? '', /^evt_/);
    // And made it into the catalogue: a customer born in the sandbox's Stripe.
    const [row] = await eventually(
      () => o.sql<{ name: string; origin: string }[]>`
        SELECT c.name, c.origin FROM customers c JOIN customer_links l ON l.customer_id = c.id
        WHERE l.target = 'stripe' AND l.external_id = ${c.id}`,
      (rows) => rows.length === 1,
      15_000,
    );
    assert.equal(row, { name: 'Sandboxed', origin: 'stripe' });
  } finally {
    await o.close();
  }

  const { loginUrl, clientId, clientSecret } = banner.salesforce;
  const token = await fetch(`${loginUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    }),
  });
  assert.is(token.status, 200);

  assert.is(await p.kill('SIGTERM'), 0, p.output().split('\n').slice(-30).join('\n'));
  assert.not.ok(await reachable(base.hostname, Number(base.port)), 'the Stripe emulator stopped');
  assert.not.ok(
    await reachable('127.0.0.1', Number(new URL(loginUrl).port)),
    'the Salesforce emulator stopped',
  );
});

test.run();
