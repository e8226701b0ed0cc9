// Restart NATS (a private nats-server, SIGKILLed) in the middle of a burst: the publisher backs off,
// reconnects and publishes every change exactly once, in order.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { privateNats, type PrivateServer } from '../harness/private-servers.ts';
import {
  observe,
  startTestRtws,
  testEnvironment,
  type Observer,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { assertStreamMatchesDatabase } from './verify.ts';
import { sleep, sqlBurst } from './writers.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { testSize } from '../harness/services.ts';

const ROUNDS = testSize('RTWS_FAULT_ROUNDS', 2);

const test = suite<{ nats: PrivateServer; t: TestEnvironment; o: Observer; rtws: Rtws }>(
  'NATS restart',
);

test.before(async (ctx) => {
  ctx.nats = await privateNats();
  ctx.t = await testEnvironment({ natsUrl: ctx.nats.url });
  ctx.o = await observe(ctx.t);
  ctx.rtws = await startTestRtws(ctx.t, { RTWS_ROLES: 'publisher', RTWS_PUBLISHER_BATCH: '100' });
});

test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.o?.close();
  await ctx.t?.db.drop();
  await ctx.nats?.stop();
});

test('NATS dies and returns mid-burst: every change lands once, in order', async (ctx) => {
  const ids = (
    await ctx.o.sql<{ id: string }[]>`
    INSERT INTO customers (name) SELECT 'N' || g FROM generate_series(1, 30) g RETURNING id`
  ).map((r) => r.id);
  const burst = sqlBurst(ctx.o.sql, ids, 4);
  for (let round = 0; round < ROUNDS; round++) {
    await sleep(1_000);
    await ctx.nats.crash();
    await sleep(1_000);
    await ctx.nats.start();
  }
  await sleep(500);
  const { writes, errors } = await burst.stop();
  assert.is(errors, 0, 'Postgres writes never depend on NATS');
  const total = await assertStreamMatchesDatabase(
    ctx.o.sql,
    ctx.o.nats,
    ctx.t.names.streams.changes,
  );
  assert.is(total, ids.length + writes);
  assert.ok(ctx.rtws.publisher!.stats.lastError, 'the publisher did see the outage');
});

test.run();
