// Restart NATS (a private nats-server, SIGKILLed) in the middle of a burst: the publisher backs off,
// reconnects and publishes every change exactly once, in order.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  crashAndRestart,
  onPrivateNats,
  type PrivateEnvironment,
} from '../harness/private-environment.ts';
import { startTestRtws } from '../harness/rtws.ts';
import { assertStreamMatchesDatabase } from './verify.ts';
import { sleep, sqlBurst } from './writers.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { testSize } from '../harness/services.ts';

const ROUNDS = testSize('RTWS_FAULT_ROUNDS', 2);

const test = suite<{ env: PrivateEnvironment; rtws: Rtws }>('NATS restart');

test.before(async (ctx) => {
  ctx.env = await onPrivateNats();
  ctx.rtws = await startTestRtws(ctx.env.t, {
    RTWS_ROLES: 'publisher',
    RTWS_PUBLISHER_BATCH: '100',
  });
});

test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.env?.close();
});

test('NATS dies and returns mid-burst: every change lands once, in order', async (ctx) => {
  const { server, t, o } = ctx.env;
  const ids = (
    await o.sql<{ id: string }[]>`
    INSERT INTO customers (name) SELECT 'N' || g FROM generate_series(1, 30) g RETURNING id`
  ).map((r) => r.id);
  const burst = sqlBurst(o.sql, ids, 4);
  await crashAndRestart(server, ROUNDS);
  await sleep(500);
  const { writes, errors } = await burst.stop();
  assert.is(errors, 0, 'Postgres writes never depend on NATS');
  const total = await assertStreamMatchesDatabase(o.sql, o.nats, t.names.streams.changes);
  assert.is(total, ids.length + writes);
  assert.ok(ctx.rtws.publisher!.stats.lastError, 'the publisher did see the outage');
});

test.run();
