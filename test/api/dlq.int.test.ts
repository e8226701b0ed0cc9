// GET /dlq and POST /dlq/:id/retry over the real DLQ stream.
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
import { readStream } from '../harness/stream.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import { deadLetterQueue } from '../../adapters/jetstream/dlq.ts';

const test = suite<{ t: TestEnvironment; o: Observer; f: ApiFixture }>('DLQ');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  const dlq = await deadLetterQueue(ctx.o.nats, ctx.t.names);
  ctx.f = await apiFixture({ dlq: async () => dlq });
});
test.after(async (ctx) => {
  await ctx.f?.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

async function call(
  ctx: { f: ApiFixture },
  method: 'GET' | 'POST',
  url: string,
  payload?: unknown,
) {
  const { 'content-type': _, ...auth } = authHeaders();
  const res = await ctx.f.app.inject({
    method,
    url,
    headers: payload === undefined ? auth : authHeaders(),
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  return { status: res.statusCode, body: res.json<Record<string, any>>() };
}

test('letters are listed with their reason; a redrive republishes the original bytes and clears the entry', async (ctx) => {
  const sink = jetStreamDeadLetters(jetstream(ctx.o.nats), ctx.t.names);
  const subject = ctx.t.names.customerSubject('00000000-0000-4000-8000-000000000001');
  const original = new TextEncoder().encode('{"type":"Poison"}');
  for (let seq = 1; seq <= 3; seq++) {
    await sink.publish({
      source: 'changes',
      stream: ctx.t.names.streams.changes,
      streamSeq: seq,
      subject,
      reason: `bad message ${seq}`,
      deliveries: 1,
      data: original,
    });
  }
  assert.is((await call(ctx, 'GET', '/dlq')).status, 200);
  const page1 = await call(ctx, 'GET', '/dlq?limit=2');
  assert.is(page1.status, 200);
  assert.equal(
    page1.body.data.map((e: { reason: string }) => e.reason),
    ['bad message 1', 'bad message 2'],
  );
  const page2 = await call(ctx, 'GET', `/dlq?limit=2&cursor=${page1.body.next_cursor}`);
  assert.equal(
    page2.body.data.map((e: { reason: string }) => e.reason),
    ['bad message 3'],
  );
  assert.is(page2.body.next_cursor, null);

  const id = page1.body.data[0].id as number;
  const redriven = await call(ctx, 'POST', `/dlq/${id}/retry`);
  assert.is(redriven.status, 202);
  assert.is(redriven.body.redriven_to, subject);
  const inChanges = await readStream(ctx.o.nats, ctx.t.names.streams.changes);
  assert.is(inChanges.length, 1);
  assert.is(inChanges[0]!.subject, subject);
  const after = await call(ctx, 'GET', '/dlq');
  assert.equal(
    after.body.data.map((e: { id: number }) => e.id).includes(id),
    false,
    'the redriven entry left the DLQ',
  );
  assert.is(
    (await call(ctx, 'POST', `/dlq/${id}/retry`)).status,
    404,
    'a second redrive finds nothing',
  );
});

test('letters are filtered by source and subject prefix, and read with their payload', async (ctx) => {
  const sink = jetStreamDeadLetters(jetstream(ctx.o.nats), ctx.t.names);
  const names = ctx.t.names;
  const letters = [
    { source: 'inbound', subject: names.inboundSubject('stripe', 'customer.updated', 'cus_A') },
    { source: 'invoices', subject: names.invoiceSubject('inv-1', 'c-1') },
    { source: 'inbound', subject: names.legacyInboundSubject('stripe', 'invoice.paid') },
  ];
  for (const [i, l] of letters.entries())
    await sink.publish({
      ...l,
      stream: 'S',
      streamSeq: 100 + i,
      reason: `filtered ${i}`,
      deliveries: 1,
      data: i === 1 ? new Uint8Array([0xff, 0x00, 0x01]) : new TextEncoder().encode('{"a":[1]}'),
    });
  const reasons = async (query: string) =>
    ((await call(ctx, 'GET', `/dlq?${query}`)).body.data as { reason: string }[])
      .map((e) => e.reason)
      .filter((r) => r.startsWith('filtered'));
  assert.equal(await reasons('source=inbound'), ['filtered 0', 'filtered 2']);
  assert.equal(await reasons('source=invoices'), ['filtered 1']);
  const customerEvents = names.legacyInboundSubject('stripe', 'customer.');
  assert.equal(await reasons(`subject=${encodeURIComponent(customerEvents)}`), ['filtered 0']);
  assert.equal(await reasons('source=invoices&subject=nothing.'), []);
  assert.is((await call(ctx, 'GET', '/dlq?source=Bad!')).status, 400);

  const all = (await call(ctx, 'GET', '/dlq?source=invoices')).body.data as { id: number }[];
  const binary = await call(ctx, 'GET', `/dlq/${all[0]!.id}`);
  assert.is(binary.status, 200);
  assert.equal(binary.body.payload, { encoding: 'base64', data: '/wAB' });
  assert.is(binary.body.size, 3);
  assert.is(binary.body.reason, 'filtered 1');
  const json = (await call(ctx, 'GET', '/dlq?source=inbound')).body.data as { id: number }[];
  assert.equal((await call(ctx, 'GET', `/dlq/${json[0]!.id}`)).body.payload, {
    encoding: 'json',
    data: { a: [1] },
  });
  assert.is((await call(ctx, 'GET', '/dlq/987654')).status, 404);
});

test('a discard removes the letter and records why, by which token', async (ctx) => {
  const sink = jetStreamDeadLetters(jetstream(ctx.o.nats), ctx.t.names);
  const subject = ctx.t.names.customerSubject('00000000-0000-4000-8000-000000000002');
  await sink.publish({
    source: 'changes',
    stream: 'S',
    streamSeq: 200,
    subject,
    reason: 'to be discarded',
    deliveries: 3,
    data: new TextEncoder().encode('{}'),
  });
  const listed = (await call(ctx, 'GET', '/dlq?limit=100')).body.data as {
    id: number;
    reason: string;
  }[];
  const id = listed.find((e) => e.reason === 'to be discarded')!.id;
  assert.is((await call(ctx, 'POST', `/dlq/${id}/discard`, {})).status, 400);
  assert.is((await call(ctx, 'POST', `/dlq/${id}/discard`, { reason: '' })).status, 400);
  const before = await ctx.f.sql`SELECT count(*)::int AS n FROM dlq_discards`;
  assert.is(before[0]!.n, 0, 'a refused discard records nothing');

  const discarded = await call(ctx, 'POST', `/dlq/${id}/discard`, { reason: 'test data' });
  assert.is(discarded.status, 200, JSON.stringify(discarded.body));
  assert.equal(
    { ...discarded.body, discarded_at: undefined },
    {
      id,
      source: 'changes',
      subject,
      reason: 'test data',
      discarded_by: 'default',
      discarded_at: undefined,
    },
  );
  assert.is((await call(ctx, 'GET', `/dlq/${id}`)).status, 404);
  const rows = await ctx.f.sql<Record<string, unknown>[]>`
    SELECT letter_id::int, source, subject, letter_reason, reason, discarded_by FROM dlq_discards`;
  assert.equal(
    rows.map((r) => ({ ...r })),
    [
      {
        letter_id: id,
        source: 'changes',
        subject,
        letter_reason: 'to be discarded',
        reason: 'test data',
        discarded_by: 'default',
      },
    ],
  );
  const again = await call(ctx, 'POST', `/dlq/${id}/discard`, { reason: 'twice' });
  assert.is(again.status, 404);
  assert.is((await ctx.f.sql`SELECT count(*)::int AS n FROM dlq_discards`)[0]!.n, 1);
});

test('the DLQ needs the token, and a malformed id is a 400', async (ctx) => {
  assert.is((await ctx.f.app.inject({ method: 'GET', url: '/dlq' })).statusCode, 401);
  assert.is((await call(ctx, 'POST', '/dlq/abc/retry')).status, 400);
});

test.run();
