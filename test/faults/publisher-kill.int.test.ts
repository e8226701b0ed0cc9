// SIGKILL the publisher process in the middle of a burst from several writers, start another, and
// find every change in the stream exactly once and in order. Also: a standby takes over, and a
// publisher whose database session is cut gives up its leadership before it publishes again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { assertStreamMatchesDatabase } from './verify.ts';
import { sleep, sqlBurst } from './writers.ts';
import { testSize } from '../harness/services.ts';
import { eventually } from '../harness/stream.ts';

const KILLS = testSize('RTWS_FAULT_ROUNDS', 3);

const test = suite<{ t: TestEnvironment; o: Observer; children: RtwsProcess[] }>(
  'publisher SIGKILL',
);

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.children = [];
});

test.after(async (ctx) => {
  for (const c of ctx.children ?? []) await c.kill();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

const publisherEnv = (t: TestEnvironment) => ({
  ...t.env,
  RTWS_ROLES: 'publisher',
  RTWS_PUBLISHER_BATCH: '50',
});

test('killed mid-burst, again and again: every change lands once, in order', async (ctx) => {
  const ids = (
    await ctx.o.sql<{ id: string }[]>`
    INSERT INTO customers (name) SELECT 'K' || g FROM generate_series(1, 40) g RETURNING id`
  ).map((r) => r.id);
  const burst = sqlBurst(ctx.o.sql, ids, 4);
  for (let round = 0; round < KILLS; round++) {
    const p = spawnRtws(publisherEnv(ctx.t));
    ctx.children.push(p);
    await sleep(2_000 + round * 400); // startup takes about a second; the kill lands mid-drain
    const code = await p.kill('SIGKILL');
    assert.is(code, null, 'the publisher died by the signal');
  }
  const { writes } = await burst.stop();
  assert.ok(writes > 100, `the burst wrote (${writes})`);
  const survivor = spawnRtws(publisherEnv(ctx.t));
  ctx.children.push(survivor);
  const total = await assertStreamMatchesDatabase(
    ctx.o.sql,
    ctx.o.nats,
    ctx.t.names.streams.changes,
  );
  assert.is(total, ids.length + writes);
});

test('a standby publisher takes over when the active one dies', async (ctx) => {
  const [active, standby] = [spawnRtws(publisherEnv(ctx.t)), spawnRtws(publisherEnv(ctx.t))];
  ctx.children.push(active, standby);
  await sleep(2_000);
  const holders = await ctx.o.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE l.locktype = 'advisory' AND a.application_name = 'rtws-publisher' AND a.datname = current_database()`;
  assert.is(holders[0]!.n, 1, 'exactly one publisher holds the lock');
  await active.kill('SIGKILL');
  await standby.kill('SIGKILL');
  const third = spawnRtws(publisherEnv(ctx.t));
  const fourth = spawnRtws(publisherEnv(ctx.t));
  ctx.children.push(third, fourth);
  await sleep(1_000);
  await third.kill('SIGKILL');
  const [c] = await ctx.o.sql<
    { id: string }[]
  >`INSERT INTO customers (name) VALUES ('After takeover') RETURNING id`;
  await assertStreamMatchesDatabase(ctx.o.sql, ctx.o.nats, ctx.t.names.streams.changes);
  assert.ok(c);
});

test('a publisher whose session is cut gives up before it publishes again; the other takes over', async (ctx) => {
  for (const c of ctx.children.splice(0)) await c.kill();
  const env = { ...publisherEnv(ctx.t), LOG_LEVEL: 'warn' };
  const [a, b] = [spawnRtws(env), spawnRtws(env)];
  ctx.children.push(a, b);
  const holders = () => ctx.o.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE l.locktype = 'advisory' AND a.application_name = 'rtws-publisher'
      AND a.datname = current_database()`;
  const deadline = Date.now() + 30_000;
  while ((await holders())[0]!.n === 0 && Date.now() < deadline) await sleep(100);
  await sleep(2_000); // the standby is up too
  const ids = (
    await ctx.o.sql<{ id: string }[]>`
    INSERT INTO customers (name) SELECT 'S' || g FROM generate_series(1, 20) g RETURNING id`
  ).map((r) => r.id);
  const burst = sqlBurst(ctx.o.sql, ids, 4);
  await sleep(500);
  // The lock holder's connection ends; its client reconnects by itself, without the lock.
  const [cut] = await ctx.o.sql<{ n: number }[]>`
    SELECT count(pg_terminate_backend(a.pid))::int AS n
    FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE l.locktype = 'advisory' AND a.application_name = 'rtws-publisher'
      AND a.datname = current_database()`;
  assert.is(cut?.n, 1, 'one session held the lock, and was cut');
  await sleep(1_500);
  const { writes } = await burst.stop();
  assert.ok(writes > 50, `the burst wrote (${writes})`);
  await assertStreamMatchesDatabase(ctx.o.sql, ctx.o.nats, ctx.t.names.streams.changes);
  // The cut publisher notices at its next batch with rows, or its next sleep, whichever is first;
  // under load its reconnect alone can take a while.
  const said = await eventually(
    () => Promise.resolve(a.output() + b.output()),
    (out) => /lost its database session/.test(out),
    15_000,
    100,
  );
  assert.match(said, /lost its database session/, said.slice(-2_000));
});

test.run();
