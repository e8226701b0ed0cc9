// What a correctly signed delivery becomes: customer and invoice events are published as they
// arrived; malformed bodies are 400s; other types are acknowledged and dropped; a foreign
// api_version is logged once.
import { jetstream } from '@nats-io/jetstream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inboundPublisher } from '../../adapters/jetstream/inbound.ts';
import { partitionOf, partitionToken } from '../../core/subjects.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import {
  counter,
  deliver,
  eventBody,
  inboundCount,
  inboundMessages,
  sign,
  startReceiver,
  type Receiver,
} from './support.ts';

const test = suite<{ t: TestEnvironment; o: Observer; r: Receiver }>('webhook events');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.r = await startReceiver({
    names: ctx.t.names,
    publish: inboundPublisher(jetstream(ctx.o.nats)),
  });
});

test.after(async (ctx) => {
  await ctx.r?.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

const idOf = (payload: string) => (JSON.parse(payload) as { id: string }).id;

test("customer and invoice events are published byte for byte, keyed by event id, in their Stripe customer's partition", async (ctx) => {
  // Odd spacing on purpose: what is stored must be what was signed, not a re-serialisation.
  const bodies = [
    eventBody({
      type: 'customer.created',
      data: { object: { id: 'cus_EventsA', object: 'customer', name: 'Ada' } },
    }).replace('{\n', '{ \n\t'),
    eventBody({
      type: 'invoice.paid',
      data: { object: { id: 'in_1', object: 'invoice', customer: 'cus_EventsB' } },
    }),
    // No customer named (every handled type names one): partition 0, whose consumer dead-letters it.
    eventBody({ type: 'invoice.paid', data: { object: { id: 'in_2', object: 'invoice' } } }),
  ];
  for (const payload of bodies) {
    const res = await deliver(ctx.r.app, payload, sign(payload));
    assert.is(res.statusCode, 200, res.body);
    assert.equal(res.json(), { received: true, outcome: 'published' });
  }
  const stored = await inboundMessages(ctx.o.nats, ctx.t.names);
  const [a, b] = ['cus_EventsA', 'cus_EventsB'].map((id) =>
    partitionToken(partitionOf(id, ctx.t.names.partitions)),
  );
  const inbound = `${ctx.t.namespace}.inbound.stripe`;
  assert.equal(
    stored.map((m) => [m.subject, m.msgId, Buffer.from(m.data).toString('utf8')]),
    [
      [`${inbound}.customer.created.${a}`, idOf(bodies[0]!), bodies[0]],
      [`${inbound}.invoice.paid.${b}`, idOf(bodies[1]!), bodies[1]],
      [`${inbound}.invoice.paid.p00`, idOf(bodies[2]!), bodies[2]],
    ],
  );
  // The event's id is also the correlation id of the change it starts, in its header.
  assert.equal(
    stored.map((m) => m.correlation),
    bodies.map((b) => idOf(b)),
  );
});

test('the same event delivered again is a 2xx and stored once', async (ctx) => {
  const before = await inboundCount(ctx.o.nats, ctx.t.names);
  const payload = eventBody();
  const first = await deliver(ctx.r.app, payload, sign(payload));
  const again = await deliver(ctx.r.app, payload, sign(payload));
  assert.equal([first.statusCode, again.statusCode], [200, 200]);
  assert.is(again.json<{ outcome: string }>().outcome, 'duplicate');
  assert.is(await inboundCount(ctx.o.nats, ctx.t.names), before + 1);
  assert.is(
    await counter(ctx.r.registry, 'rtws_webhooks_received_total', { outcome: 'duplicate' }),
    1,
  );
});

const malformed: [string, string, string][] = [
  ['not JSON', 'ada@example.com is not { json', 'body'],
  ['a JSON array', '[1, 2]', 'body'],
  ['JSON without type', JSON.stringify({ id: 'evt_x1', created: 1, data: { object: {} } }), 'type'],
  [
    'an id that is not an event id',
    JSON.stringify({ id: 'cus_1', type: 'customer.created', created: 1, data: { object: {} } }),
    'id',
  ],
  [
    'no data.object',
    JSON.stringify({ id: 'evt_x2', type: 'customer.created', created: 1, data: {} }),
    'data.object',
  ],
  [
    'a type that is no subject',
    JSON.stringify({ id: 'evt_x3', type: 'customer.>', created: 1, data: { object: {} } }),
    'type',
  ],
];

for (const [what, payload, field] of malformed) {
  test(`a signed body with ${what} is a 400 naming ${field}, and nothing is published`, async (ctx) => {
    const before = await inboundCount(ctx.o.nats, ctx.t.names);
    const res = await deliver(ctx.r.app, payload, sign(payload));
    assert.is(res.statusCode, 400);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    const body = res.json<{ code: string; field: string }>();
    assert.is(body.code, 'malformed');
    assert.is(body.field, field);
    assert.is(await inboundCount(ctx.o.nats, ctx.t.names), before);
    assert.not.ok(JSON.stringify(ctx.r.log.lines).includes('ada@ex'), 'the body is never logged');
  });
}

test('plain application/json is read raw too; other content types are a 415', async (ctx) => {
  const before = await inboundCount(ctx.o.nats, ctx.t.names);
  const payload = eventBody();
  const plain = await deliver(ctx.r.app, payload, sign(payload), 'application/json');
  assert.is(plain.statusCode, 200);
  for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
    const other = eventBody();
    assert.is((await deliver(ctx.r.app, other, sign(other), type)).statusCode, 415, type);
  }
  assert.is(await inboundCount(ctx.o.nats, ctx.t.names), before + 1);
});

test('a large event passes the API body limit; only a huge one is a 413', async (ctx) => {
  const before = await inboundCount(ctx.o.nats, ctx.t.names);
  const withLines = (n: number) =>
    eventBody({
      type: 'invoice.finalized',
      data: {
        object: {
          id: 'in_big',
          object: 'invoice',
          lines: Array.from({ length: n }, (_, i) => ({
            id: `il_${i}`,
            description: 'x'.repeat(90),
          })),
        },
      },
    });
  const large = withLines(1_000); // ~130 KiB, twice the API's 64 KiB
  assert.is((await deliver(ctx.r.app, large, sign(large))).statusCode, 200);
  const huge = withLines(6_000);
  assert.is((await deliver(ctx.r.app, huge, sign(huge))).statusCode, 413);
  assert.is(await inboundCount(ctx.o.nats, ctx.t.names), before + 1);
});

test('an event type no consumer reads (invoice items, parts of a customer) is not published', async (ctx) => {
  const before = await inboundCount(ctx.o.nats, ctx.t.names);
  for (const [type, object] of [
    ['invoiceitem.created', { id: 'ii_1', object: 'invoiceitem', customer: 'cus_EventsB' }],
    ['customer.source.created', { id: 'card_1', object: 'card', customer: 'cus_EventsB' }],
    ['customer.subscription.updated', { id: 'sub_1', object: 'subscription', customer: 'cus_B' }],
  ] as const) {
    const payload = eventBody({ type, data: { object } });
    const res = await deliver(ctx.r.app, payload, sign(payload));
    assert.is(res.statusCode, 200);
    assert.equal(res.json(), { received: true, outcome: 'ignored' }, type);
  }
  assert.is(await inboundCount(ctx.o.nats, ctx.t.names), before);
});

test('an unhandled event type is acknowledged, counted, logged once, and not published', async (ctx) => {
  const before = await inboundCount(ctx.o.nats, ctx.t.names);
  const payload = eventBody({
    type: 'charge.succeeded',
    data: { object: { id: 'ch_1', object: 'charge' } },
  });
  const res = await deliver(ctx.r.app, payload, sign(payload));
  assert.is(res.statusCode, 200);
  assert.equal(res.json(), { received: true, outcome: 'ignored' });
  assert.is(await inboundCount(ctx.o.nats, ctx.t.names), before);
  assert.is(
    await counter(ctx.r.registry, 'rtws_webhooks_ignored_total', { type: 'charge.succeeded' }),
    1,
  );
  const lines = ctx.r.log.lines.filter(
    (l) => (l.obj as { event_id?: string }).event_id === idOf(payload),
  );
  assert.is(lines.length, 1);
  assert.equal(lines[0]!.obj, { event_id: idOf(payload), type: 'charge.succeeded' });
});

test('a foreign api_version is warned about once per version', async (ctx) => {
  const warnings = () => ctx.r.log.lines.filter((l) => l.level === 'warn');
  assert.is(warnings().length, 0);
  for (const version of ['2020-08-27', '2020-08-27', '2022-11-15', '2020-08-27']) {
    const payload = eventBody({ api_version: version });
    assert.is((await deliver(ctx.r.app, payload, sign(payload))).statusCode, 200);
  }
  assert.equal(
    warnings().map((l) => (l.obj as { api_version: string }).api_version),
    ['2020-08-27', '2022-11-15'],
  );
});

test('a publish that fails or never acks is a 503 with Retry-After, counted as unavailable', async (ctx) => {
  const failing = await startReceiver({
    names: ctx.t.names,
    publish: () => Promise.reject(new Error('503 no responders')),
  });
  const hanging = await startReceiver({
    names: ctx.t.names,
    publish: () => new Promise(() => {}),
    timeoutMs: 200,
  });
  try {
    for (const r of [failing, hanging]) {
      const payload = eventBody();
      const res = await deliver(r.app, payload, sign(payload));
      assert.is(res.statusCode, 503);
      assert.is(res.headers['retry-after'], '1');
      assert.is(res.json<{ code: string }>().code, 'unavailable');
      assert.is(
        await counter(r.registry, 'rtws_webhooks_received_total', { outcome: 'unavailable' }),
        1,
      );
    }
  } finally {
    await failing.close();
    await hanging.close();
  }
});

test('a plugin without secrets refuses to start', async (ctx) => {
  try {
    await startReceiver({ secrets: [], names: ctx.t.names, publish: async () => {} });
    assert.unreachable('registration should fail');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'config_invalid');
  }
});

test.run();
