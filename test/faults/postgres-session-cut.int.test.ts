// A Postgres session cut under a running transaction or a reserved connection (a failover, a
// pg_terminate_backend, a proxy's timeout): its statements fail, nothing of it commits, and the
// pool goes on. So it does when a new connection is reset during its type lookup, or closed by a
// proxy before it is ready. A backfill or a worker id whose lock session is cut learns it; the
// outbox publisher, which lives on one session, recovers and loses nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { silentLogger, type Logger } from '../../core/ports.ts';
import { TimeoutError, withTimeout } from '../../core/timeout.ts';
import { connectPostgres, type Sql, type Tx } from '../../adapters/postgres/connect.ts';
import { withBackfillLock } from '../../adapters/postgres/backfills.ts';
import { lockWorkerIdentity, WorkerIdInUseError } from '../../adapters/postgres/worker-identity.ts';
import { jetStreamPublisher } from '../../adapters/jetstream/durable-publisher.ts';
import {
  startOutboxPublisher,
  type OutboxPublisher,
} from '../../adapters/postgres/outbox/publisher.ts';
import { postgresProxy } from '../harness/postgres-proxy.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { testSize } from '../harness/services.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { assertStreamMatchesDatabase } from './verify.ts';
import { sleep, sqlBurst } from './writers.ts';

const ROUNDS = testSize('RTWS_FAULT_ROUNDS', 3);

const test = suite<{ t: TestEnvironment; o: Observer; pool?: Sql; publisher?: OutboxPublisher }>(
  'postgres session cut',
);

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  await ctx.o.sql`CREATE TABLE cut_probe (note text NOT NULL)`;
});

test.after.each(async (ctx) => {
  await ctx.publisher?.stop();
  await ctx.pool?.end({ timeout: 1 });
  ctx.publisher = ctx.pool = undefined;
});

test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

/** Settles with the promise's outcome, or 'hung' when it has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<{ ok: T } | { err: unknown } | 'hung'> {
  return withTimeout(p, ms).then(
    (ok) => ({ ok }),
    (err: unknown) => (err instanceof TimeoutError ? 'hung' : { err }),
  );
}

/**
 * A transaction on `sql` whose session is cut while a statement runs. Without `after` the cut
 * statement's error ends it; with `after`, the error is caught and `after` goes on in it.
 */
function cutMidStatement(o: Observer, sql: Sql, after?: (tx: Tx) => Promise<unknown>) {
  return sql.begin(async (tx) => {
    await tx`INSERT INTO cut_probe (note) VALUES ('before the cut')`;
    const [me] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    const running = tx`SELECT pg_sleep(10)`;
    await sleep(100);
    await o.sql`SELECT pg_terminate_backend(${me!.pid})`;
    if (!after) return running;
    const failed = await running.then(
      () => false,
      () => true,
    );
    assert.ok(failed, 'the statement under the cut fails');
    return after(tx);
  });
}

test('a transaction cut mid-statement fails, and the same single-session pool goes on', async (ctx) => {
  ctx.pool = connectPostgres(ctx.t.db.url, { max: 1, applicationName: 'rtws-cut-probe' });
  for (let round = 1; round <= ROUNDS; round++) {
    const cut = await within(cutMidStatement(ctx.o, ctx.pool), 5_000);
    assert.ok(cut !== 'hung' && 'err' in cut, `round ${round}: the cut transaction fails`);
    for (const attempt of ['first', 'second']) {
      const next = await within(
        ctx.pool.begin((tx) => tx<{ one: number }[]>`SELECT 1 AS one`),
        5_000,
      );
      assert.ok(
        next !== 'hung' && 'ok' in next && next.ok[0]?.one === 1,
        `round ${round}: the ${attempt} transaction after the cut runs (got ${JSON.stringify(next)})`,
      );
    }
  }
  const [left] = await ctx.o.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM cut_probe`;
  assert.is(left!.n, 0, 'nothing of a cut transaction commits');
});

test('a statement the transaction makes after its cut is refused, never run outside it', async (ctx) => {
  ctx.pool = connectPostgres(ctx.t.db.url, { max: 1, applicationName: 'rtws-cut-probe' });
  let afterCut!: (outcome: Awaited<ReturnType<typeof within>>) => void;
  const statementAfterCut = new Promise<Awaited<ReturnType<typeof within>>>((r) => (afterCut = r));
  const cut = await within(
    cutMidStatement(ctx.o, ctx.pool, async (tx) => {
      await sleep(50); // the socket's close has surely been seen
      afterCut(await within(tx`INSERT INTO cut_probe (note) VALUES ('after the cut')`, 3_000));
    }),
    8_000,
  );
  assert.ok(cut !== 'hung' && 'err' in cut, 'the transaction fails');
  const outcome = await statementAfterCut;
  assert.ok(
    outcome !== 'hung' && 'err' in outcome,
    `the statement after the cut is refused (got ${JSON.stringify(outcome)})`,
  );
  const notes = await ctx.o.sql<{ note: string }[]>`SELECT note FROM cut_probe`;
  assert.equal(
    notes.map((n) => n.note),
    [],
    'neither statement committed',
  );
  const next = await within(ctx.pool`SELECT 1 AS one`, 5_000);
  assert.ok(next !== 'hung' && 'ok' in next, 'the pool runs the next statement');
});

test('a reserved session that is cut refuses its statements, and the pool goes on after its release', async (ctx) => {
  ctx.pool = connectPostgres(ctx.t.db.url, { max: 1, applicationName: 'rtws-cut-probe' });
  for (let round = 1; round <= ROUNDS; round++) {
    const held = await ctx.pool.reserve();
    const [me] = await held<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    const running = within(held`SELECT pg_sleep(10)`, 5_000);
    await sleep(100);
    await ctx.o.sql`SELECT pg_terminate_backend(${me!.pid})`;
    const cut = await running;
    assert.ok(cut !== 'hung' && 'err' in cut, `round ${round}: the statement under the cut fails`);
    await sleep(50); // the socket's close has surely been seen
    const after = await within(held`INSERT INTO cut_probe (note) VALUES ('reserved')`, 3_000);
    assert.ok(
      after !== 'hung' && 'err' in after,
      `round ${round}: a statement on the cut session is refused (got ${JSON.stringify(after)})`,
    );
    held.release();
    const next = await within(ctx.pool<{ one: number }[]>`SELECT 1 AS one`, 5_000);
    assert.ok(
      next !== 'hung' && 'ok' in next && next.ok[0]?.one === 1,
      `round ${round}: the pool runs the next statement (got ${JSON.stringify(next)})`,
    );
  }
  const [left] = await ctx.o.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM cut_probe`;
  assert.is(left!.n, 0, 'no statement ran on a cut session');
});

test('a reserve waiting for the only connection gets it after that connection is cut', async (ctx) => {
  ctx.pool = connectPostgres(ctx.t.db.url, { max: 1, applicationName: 'rtws-cut-probe' });
  const busy = within(ctx.pool`SELECT pg_sleep(10)`, 5_000);
  await sleep(100);
  const waiting = within(ctx.pool.reserve(), 5_000);
  await sleep(100);
  await ctx.o.sql`
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'rtws-cut-probe' AND datname = current_database()`;
  const cut = await busy;
  assert.ok(cut !== 'hung' && 'err' in cut, 'the statement under the cut fails');
  const reserved = await waiting;
  assert.ok(reserved !== 'hung' && 'ok' in reserved, 'the waiting reserve gets the connection');
  const held = reserved.ok;
  const [row] = await held<{ one: number }[]>`SELECT 1 AS one`;
  assert.is(row?.one, 1, 'and runs on it');
  held.release();
  const next = await within(ctx.pool`SELECT 1 AS one`, 5_000);
  assert.ok(next !== 'hung' && 'ok' in next, 'the pool goes on after the release');
});

test('a connection reset during its type lookup: the process lives, and the query runs on the next', async (ctx) => {
  // Reset once, as the lookup postgres.js runs on each new connection goes by.
  let resets = 0;
  const proxy = await postgresProxy(ctx.t.db.url, (client, chunk) => {
    if (resets > 0 || !chunk.toString('latin1').includes('typarray')) return false;
    resets++;
    client.resetAndDestroy();
    return true;
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => void unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  try {
    ctx.pool = connectPostgres(proxy.url, { max: 1, applicationName: 'rtws-cut-probe' });
    const first = await within(ctx.pool<{ one: number }[]>`SELECT 1 AS one`, 5_000);
    assert.is(resets, 1, 'the proxy reset the type lookup');
    const next = await within(ctx.pool<{ one: number }[]>`SELECT 1 AS one`, 5_000);
    assert.ok(
      next !== 'hung' && 'ok' in next && next.ok[0]?.one === 1,
      `the pool runs the next query (first: ${JSON.stringify(first)}, next: ${JSON.stringify(next)})`,
    );
    await sleep(50);
    assert.equal(unhandled.map(String), [], 'no rejection went unhandled');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await proxy.close();
  }
});

test('a proxy that closes before the connection is ready: the query fails, and nothing spins', async (ctx) => {
  // As a database proxy does while its server is unreachable: it accepts, then closes cleanly.
  let refusing = true;
  const proxy = await postgresProxy(ctx.t.db.url, (client) => {
    if (refusing) client.end();
    return refusing;
  });
  try {
    ctx.pool = connectPostgres(proxy.url, { max: 2, applicationName: 'rtws-cut-probe' });
    const refused = await within(ctx.pool`SELECT 1 AS one`, 3_000);
    assert.ok(
      refused !== 'hung' && 'err' in refused,
      `the query fails (${JSON.stringify(refused)})`,
    );
    await sleep(500);
    const connections = proxy.connections();
    assert.ok(connections <= 3, `no reconnect loop: ${connections} connections in all`);
    refusing = false;
    const next = await within(ctx.pool<{ one: number }[]>`SELECT 1 AS one`, 5_000);
    assert.ok(
      next !== 'hung' && 'ok' in next && next.ok[0]?.one === 1,
      `once the server answers, the pool runs the next query (${JSON.stringify(next)})`,
    );
  } finally {
    await ctx.pool?.end({ timeout: 1 });
    ctx.pool = undefined;
    await proxy.close();
  }
});

test('a backfill whose lock session is cut learns it has lost the lock, and another process takes it', async (ctx) => {
  ctx.pool = connectPostgres(ctx.t.db.url, { max: 2, applicationName: 'rtws-cut-probe' });
  const other = connectPostgres(ctx.t.db.url, { max: 2, applicationName: 'rtws-cut-other' });
  try {
    const seen: boolean[] = [];
    let takenOver: boolean | undefined;
    const ran = await within(
      withBackfillLock(ctx.pool, 7, async (held) => {
        seen.push(await held());
        assert.is(
          await withBackfillLock(other, 7, async () => {}),
          false,
          'no other process takes a held lock',
        );
        await ctx.o.sql`
          SELECT pg_terminate_backend(pid) FROM pg_locks
          WHERE locktype = 'advisory' AND database = (
            SELECT oid FROM pg_database WHERE datname = current_database())`;
        await sleep(100);
        seen.push(await held());
        takenOver = await withBackfillLock(other, 7, async (theirs) => {
          assert.ok(await theirs(), 'the lock is held by the process that took it');
        });
      }),
      10_000,
    );
    assert.ok(ran !== 'hung' && 'ok' in ran && ran.ok, `the run ended (${JSON.stringify(ran)})`);
    assert.equal(seen, [true, false], 'held, then lost with the session');
    assert.is(takenOver, true, 'another process took the backfill over');
    const next = await within(ctx.pool`SELECT 1 AS one`, 5_000);
    assert.ok(next !== 'hung' && 'ok' in next, 'the pool goes on');
  } finally {
    await other.end({ timeout: 1 });
  }
});

test('a worker id lock whose session is cut is taken again; one taken by another process meanwhile is reported', async (ctx) => {
  const events: string[] = [];
  const log: Logger = {
    ...silentLogger,
    warn: (_f, msg) => void events.push(`warn: ${msg ?? ''}`),
    error: (_f, msg) => void events.push(`error: ${msg ?? ''}`),
  };
  const cutIdentity = () => ctx.o.sql`
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'rtws-worker-identity' AND datname = current_database()`;
  const mine = await lockWorkerIdentity(ctx.t.db.url, 'w-cut', { log, checkMs: 100 });
  try {
    await cutIdentity();
    const retaken = await eventually(
      async () => events.slice(),
      (e) => e.includes('warn: worker id lock taken again on a new session'),
      5_000,
      50,
    );
    assert.ok(
      retaken.includes('warn: worker id lock taken again on a new session'),
      retaken.join('; '),
    );
    const second = await lockWorkerIdentity(ctx.t.db.url, 'w-cut').then(
      async (l) => (await l.release(), 'locked'),
      (err: unknown) => err,
    );
    assert.instance(
      second,
      WorkerIdInUseError,
      'the id is held again: a second process cannot take it',
    );

    // Cut again, with another session already waiting for the lock: it has it before this one looks.
    events.length = 0;
    const other = connectPostgres(ctx.t.db.url, { max: 1, applicationName: 'rtws-cut-other' });
    try {
      const waiting = other`SELECT pg_advisory_lock(hashtext('rtws:worker:w-cut'))`.execute();
      await waitFor(
        () => ctx.o.sql`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
        (r) => r.length > 0,
        5_000,
        10,
      );
      await cutIdentity();
      await waiting;
      const lost = await eventually(
        async () => events.slice(),
        (e) => e.some((m) => m.startsWith('error: worker id lock lost with its session')),
        5_000,
        50,
      );
      assert.ok(
        lost.some((m) => m.startsWith('error: worker id lock lost with its session')),
        `the loss is logged as an error (${lost.join('; ')})`,
      );
    } finally {
      await other.end({ timeout: 1 });
    }
  } finally {
    await mine.release();
  }
});

test('the publisher session cut mid-burst, again and again: every change lands once, in order', async (ctx) => {
  const nc = ctx.o.nats;
  const warnings: string[] = [];
  const log: Logger = { ...silentLogger, warn: (_f, msg) => void warnings.push(msg ?? '') };
  ctx.publisher = await startOutboxPublisher({
    databaseUrl: ctx.t.db.url,
    names: ctx.t.names,
    publisher: jetStreamPublisher(jetstream(nc)),
    log,
    pollMs: 200,
    batchSize: 50,
    window: 64,
  });
  const publisher = ctx.publisher;
  const ids = (
    await ctx.o.sql<{ id: string }[]>`
    INSERT INTO customers (name) SELECT 'C' || g FROM generate_series(1, 40) g RETURNING id`
  ).map((r) => r.id);
  const burst = sqlBurst(ctx.o.sql, ids, 4);
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Cut it while it works: in a batch, not asleep between them.
      const cut = await eventually(
        () => ctx.o.sql`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'rtws-publisher' AND datname = current_database()
            AND state <> 'idle'`,
        (r) => r.length > 0,
        10_000,
        2,
      );
      assert.ok(cut.length > 0, `round ${round}: the publisher's session was cut`);
      const before = publisher.stats.published;
      const moved = await eventually(
        async () => publisher.stats.published,
        (n) => n > before + 100,
        15_000,
      );
      assert.ok(
        moved > before + 100,
        `round ${round}: the publisher publishes again after the cut`,
      );
    }
  } finally {
    await burst.stop();
  }
  await assertStreamMatchesDatabase(ctx.o.sql, ctx.o.nats, ctx.t.names.streams.changes);
  assert.ok(
    warnings.some((w) => w.startsWith('outbox publish failed')),
    `the cut was logged (${warnings.join('; ')})`,
  );
});

test.run();
