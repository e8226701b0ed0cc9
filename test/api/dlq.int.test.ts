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

async function call(ctx: { f: ApiFixture }, method: 'GET' | 'POST', url: string) {
  const { 'content-type': _, ...headers } = authHeaders();
  const res = await ctx.f.app.inject({ method, url, headers });
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

test('the DLQ needs the token, and a malformed id is a 400', async (ctx) => {
  assert.is((await ctx.f.app.inject({ method: 'GET', url: '/dlq' })).statusCode, 401);
  assert.is((await call(ctx, 'POST', '/dlq/abc/retry')).status, 400);
});

test.run();
