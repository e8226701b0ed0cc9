// Signatures are the webhook's only auth: anything not signed by a configured secret within 300 s
// is a 400 and publishes nothing; a rotated secret signs as well as the first.
import { jetstream } from '@nats-io/jetstream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inboundPublisher } from '../../adapters/jetstream/inbound.ts';
import {
  TEST_TOKEN,
  observe,
  testEnvironment,
  type Observer,
  type TestEnvironment,
} from '../harness/rtws.ts';
import {
  counter,
  deliver,
  eventBody,
  inboundCount,
  ROTATED_SECRET,
  SECRET,
  sign,
  startReceiver,
  type Receiver,
} from './support.ts';

const test = suite<{ t: TestEnvironment; o: Observer; r: Receiver }>('webhook signatures');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.r = await startReceiver({
    secrets: [SECRET, ROTATED_SECRET],
    names: ctx.t.names,
    publish: inboundPublisher(jetstream(ctx.o.nats)),
  });
});

test.after(async (ctx) => {
  await ctx.r?.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

const now = () => Math.floor(Date.now() / 1000);

async function assertRejected(
  ctx: { t: TestEnvironment; o: Observer; r: Receiver },
  payload: string,
  signature: string | undefined,
  detail: RegExp,
) {
  const before = await inboundCount(ctx.o.nats, ctx.t.names);
  const res = await deliver(ctx.r.app, payload, signature);
  assert.is(res.statusCode, 400);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  const body = res.json<{ code: string; field: string; detail: string }>();
  assert.is(body.code, 'bad_signature');
  assert.is(body.field, 'stripe-signature');
  assert.match(body.detail, detail);
  assert.is(await inboundCount(ctx.o.nats, ctx.t.names), before, 'nothing was published');
}

test('a tampered body is refused', async (ctx) => {
  const payload = eventBody();
  await assertRejected(ctx, payload.replace('Ada', 'Eve'), sign(payload), /no signature/);
});

test('a body signed with an unknown secret is refused', async (ctx) => {
  const payload = eventBody();
  await assertRejected(ctx, payload, sign(payload, 'whsec_someone_else'), /no signature/);
});

test('a signature 301 s old is refused even though the secret matches', async (ctx) => {
  const payload = eventBody();
  await assertRejected(ctx, payload, sign(payload, SECRET, now() - 301), /older than 300 s/);
});

test('a missing Stripe-Signature header is refused', async (ctx) => {
  await assertRejected(ctx, eventBody(), undefined, /missing/);
});

test('a header without a v1 signature is refused', async (ctx) => {
  await assertRejected(ctx, eventBody(), `t=${now()}`, /no signature/);
});

test('a signature inside the tolerance is accepted, without a bearer token', async (ctx) => {
  const before = await inboundCount(ctx.o.nats, ctx.t.names);
  const payload = eventBody();
  const res = await deliver(ctx.r.app, payload, sign(payload, SECRET, now() - 240));
  assert.is(res.statusCode, 200);
  assert.equal(res.json(), { received: true, outcome: 'published' });
  assert.is(await inboundCount(ctx.o.nats, ctx.t.names), before + 1);
});

test('the rotated (second) secret is accepted', async (ctx) => {
  const before = await inboundCount(ctx.o.nats, ctx.t.names);
  const payload = eventBody();
  const res = await deliver(ctx.r.app, payload, sign(payload, ROTATED_SECRET));
  assert.is(res.statusCode, 200);
  assert.is(await inboundCount(ctx.o.nats, ctx.t.names), before + 1);
});

test('only the webhook is public, and only it reads raw bodies', async (ctx) => {
  const echo = (headers: Record<string, string>) =>
    ctx.r.app.inject({
      method: 'POST',
      url: '/echo',
      payload: '{"a":1}',
      headers: { 'content-type': 'application/json', ...headers },
    });
  assert.is((await echo({})).statusCode, 401);
  const res = await echo({ authorization: `Bearer ${TEST_TOKEN}` });
  assert.is(res.statusCode, 200);
  assert.equal(res.json(), { parsed: true });
});

test('rejections are counted, and neither secrets, signatures nor bodies reach the log', async (ctx) => {
  assert.is(
    await counter(ctx.r.registry, 'rtws_webhooks_received_total', { outcome: 'bad_signature' }),
    5,
  );
  assert.is(
    await counter(ctx.r.registry, 'rtws_webhooks_received_total', { outcome: 'published' }),
    2,
  );
  const logged = JSON.stringify(ctx.r.log.lines);
  assert.ok(ctx.r.log.lines.length >= 5, 'each rejection is logged');
  for (const secret of [SECRET, ROTATED_SECRET, 'whsec_'])
    assert.not.ok(logged.includes(secret), 'no secret logged');
  assert.not.match(logged, /v1=|[0-9a-f]{64}/, 'no signature logged');
  assert.not.ok(logged.includes('ada@example.com'), 'no body logged');
});

test.run();
