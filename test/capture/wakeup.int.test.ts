// The publisher sleeps with a slow safety poll and still wakes for a single write: the armed flag
// brings a NOTIFY, and a writer that missed the flag is caught by the in-flight check. Under a
// light load the flag stays armed between batches; under a steady one it is down. Latency
// belongs to the benchmark; these tests only prove the wake-up happens well inside a poll period.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import {
  arm,
  disarm,
  sleepUntilWork,
  stillOpen,
  waker,
} from '../../adapters/postgres/outbox/wakeup.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { createTestDatabase } from '../harness/services.ts';
import { testEnvironment, startTestRtws, type TestEnvironment } from '../harness/rtws.ts';
import { eventually, readStream, waitFor } from '../harness/stream.ts';
import type { Rtws } from '../../deploy/rtws.ts';

const POLL_MS = 60_000;
/** A third of the poll period: reaching the stream inside it cannot be the poll's doing. */
const WELL_WITHIN = POLL_MS / 3;

const test = suite<{ t: TestEnvironment; rtws: Rtws }>('wake-up');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.rtws = await startTestRtws(ctx.t, {
    RTWS_ROLES: 'publisher',
    RTWS_PUBLISHER_POLL_MS: String(POLL_MS),
  });
});
test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.t?.cleanup();
});

/** The wake-up flag as it stands: 1 armed, 0 not. */
const flag = async (sql: ReturnType<typeof connectPostgres>) =>
  (await sql<{ v: number }[]>`SELECT last_value AS v FROM outbox_armed`)[0]!.v;

/** Inserts a customer, and reads its change from the stream once published (within WELL_WITHIN). */
async function writeAndRead(ctx: { t: TestEnvironment; rtws: Rtws }, name: string) {
  const [c] = await ctx.rtws.sql<
    { id: string }[]
  >`INSERT INTO customers (name) VALUES (${name}) RETURNING id`;
  return eventually(
    () =>
      readStream(
        ctx.rtws.nats,
        ctx.t.names.streams.changes,
        ctx.t.names.customerHistoryFilter(c!.id),
      ),
    (m) => m.length === 1,
    WELL_WITHIN,
    5,
  );
}

test('an idle publisher arms the flag, and one write reaches the stream well within a poll period', async (ctx) => {
  const { sql } = ctx.rtws;
  // Idle: the publisher has drained and is asleep with the flag armed.
  const armed = await eventually(
    () => flag(sql),
    (v) => v === 1,
    5_000,
    20,
  );
  assert.is(armed, 1);
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    const got = await writeAndRead(ctx, `Idle ${i}`);
    assert.is(got.length, 1, `write ${i} was not published within ${WELL_WITHIN} ms`);
    assert.ok(Date.now() - started < WELL_WITHIN);
    // Let the publisher go back to sleep before the next write.
    await waitFor(
      () => flag(sql),
      (v) => v === 1,
      5_000,
      20,
    );
  }
});

test('under a steady stream of writes the publisher looks again after a batch instead of arming', async (ctx) => {
  const { sql, publisher } = ctx.rtws;
  // The rows of the tests before are counted first: a batch is counted once its transaction
  // commits, which may come after its row is seen in the stream and the flag is seen up.
  const [{ rows }] = (await sql`SELECT count(*)::int AS rows FROM customers`) as [{ rows: number }];
  await waitFor(
    async () => publisher!.stats.published,
    (n) => n >= rows,
    10_000,
    20,
  );
  const before = { ...publisher!.stats };
  const until = Date.now() + 1_500;
  let written = 0;
  // Four writers, each committing one row at a time: a row every few hundred microseconds.
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      while (Date.now() < until) {
        await sql`INSERT INTO customers (name) VALUES (${`Steady ${w}`})`;
        written++;
      }
    }),
  );
  await waitFor(
    async () => publisher!.stats.published - before.published,
    (n) => n >= written,
    10_000,
    20,
  );
  const batches = publisher!.stats.batches - before.batches;
  const sleeps = publisher!.stats.sleeps - before.sleeps;
  assert.is(publisher!.stats.published - before.published, written, 'every row published once');
  assert.ok(batches > 10, `${batches} batches for ${written} rows`);
  assert.ok(
    sleeps * 2 < batches,
    `${sleeps} sleeps (each an arm, a look and a disarm) for ${batches} batches`,
  );
});

test('under a light load the flag stays armed between batches: no arm, look or disarm per change', async (ctx) => {
  const { sql, publisher } = ctx.rtws;
  const before = { ...publisher!.stats };
  const writes = 12;
  for (let i = 0; i < writes; i++) {
    const got = await writeAndRead(ctx, `Light ${i}`);
    assert.is(got.length, 1, `write ${i} was not published within ${WELL_WITHIN} ms`);
    // Well apart: each write finds the publisher waiting, as a lone change in a quiet hour does.
    await new Promise((r) => setTimeout(r, 50));
  }
  const batches = publisher!.stats.batches - before.batches;
  const sleeps = publisher!.stats.sleeps - before.sleeps;
  const armedWaits = publisher!.stats.armedWaits - before.armedWaits;
  assert.is(publisher!.stats.published - before.published, writes, 'every row published once');
  assert.ok(batches >= writes, `${batches} batches for ${writes} lone writes`);
  // A stray notification (for a row an earlier batch took) can still end in a sleep now and then.
  assert.ok(sleeps <= 2, `${sleeps} sleeps (an arm and a look each) for ${writes} lone writes`);
  assert.ok(armedWaits >= writes - 2, `${armedWaits} waits with the flag left armed`);
  assert.is(await flag(sql), 1, 'still armed between changes');
});

test('a writer still open when the publisher armed is waited for before a wait without a look', async (ctx) => {
  const { sql } = ctx.rtws;
  for (let attempt = 1; ; attempt++) {
    assert.ok(attempt <= 10, 'a write found the flag down within ten bursts');
    // A burst: the publisher drains steadily, with the flag down.
    const until = Date.now() + 400;
    const burst = Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        while (Date.now() < until) await sql`INSERT INTO customers (name) VALUES (${`Burst ${w}`})`;
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    // Mid-burst, a writer whose trigger reads the flag down (so it will not notify) stays open.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let inserted!: (row: { id: string; flag: number }) => void;
    const row = new Promise<{ id: string; flag: number }>((r) => (inserted = r));
    const open = sql.begin(async (tx) => {
      const [r] = await tx<{ id: string; flag: number }[]>`
        INSERT INTO customers (name) VALUES ('Held') RETURNING id,
          (SELECT last_value FROM outbox_armed)::int AS flag`;
      inserted(r!);
      await released;
    });
    const held = await row;
    await burst;
    if (held.flag !== 0) {
      release();
      await open;
      continue;
    }
    // The burst over, the publisher arms and looks while the held writer is open...
    await waitFor(
      () => flag(sql),
      (v) => v === 1,
      5_000,
      5,
    );
    // ...and a row that notifies ends its sleep, the held writer still open.
    assert.is((await writeAndRead(ctx, 'Notifying')).length, 1);
    await new Promise((r) => setTimeout(r, 100));
    // The held writer commits with no NOTIFY: the publisher must have seen it still open, rather
    // than wait a poll period for the next notification.
    release();
    await open;
    const got = await eventually(
      () =>
        readStream(
          ctx.rtws.nats,
          ctx.t.names.streams.changes,
          ctx.t.names.customerHistoryFilter(held.id),
        ),
      (m) => m.length === 1,
      WELL_WITHIN,
      5,
    );
    assert.is(got.length, 1, `the held writer's row was not published within ${WELL_WITHIN} ms`);
    return;
  }
});

test('a writer that read the flag unarmed, and commits after the publisher armed, is still caught', async () => {
  // A database of its own, with no publisher draining it: this test plays the publisher.
  const db = await createTestDatabase();
  const sql = connectPostgres(db.url, { max: 3 });
  try {
    await migrate(sql);
    const wake = waker();
    await disarm(sql);
    let sleeping: Promise<unknown> | undefined;
    let committedAt = 0;
    await sql.begin(async (tx) => {
      // The trigger runs now, with the flag at 0: this transaction queues no NOTIFY.
      await tx`INSERT INTO customers (name) VALUES ('Racer')`;
      // The publisher arms and looks while this transaction is still open...
      sleeping = sleepUntilWork(sql, wake, POLL_MS);
      await new Promise((r) => setTimeout(r, 300));
    });
    committedAt = Date.now();
    // ...and the commit lands after that look. Without the in-flight check it would sleep a poll.
    const outcome = await Promise.race([
      sleeping!.then(() => 'woke'),
      new Promise<string>((r) => setTimeout(() => r('slept through'), WELL_WITHIN)),
    ]);
    assert.is(outcome, 'woke');
    assert.ok(committedAt > 0);
    assert.is(
      await flag(sql),
      1,
      'the flag stays armed on waking: the publisher disarms it under load',
    );
  } finally {
    await sql.end();
    await db.drop();
  }
});

/** A database of its own, with no publisher draining it: the test plays the publisher. */
async function withOwnDatabase(run: (sql: ReturnType<typeof connectPostgres>) => Promise<void>) {
  const db = await createTestDatabase();
  const sql = connectPostgres(db.url, { max: 3 });
  try {
    await migrate(sql);
    await run(sql);
  } finally {
    await sql.end();
    await db.drop();
  }
}

test('a sleep that ends with a writer still open that read the flag unarmed names it', async () => {
  await withOwnDatabase(async (sql) => {
    await disarm(sql);
    let woken: Awaited<ReturnType<typeof sleepUntilWork>> | undefined;
    let open = '';
    await sql.begin(async (tx) => {
      // Reads the flag unarmed, and stays open past the look.
      await tx`INSERT INTO customers (name) VALUES ('Open')`;
      const [me] = await tx<{ xid: string }[]>`SELECT pg_current_xact_id()::text AS xid`;
      open = me!.xid;
      // Another row committed: the look finds rows and the sleep ends at once.
      await sql`INSERT INTO customers (name) VALUES ('Committed')`;
      woken = await sleepUntilWork(sql, waker(), POLL_MS);
    });
    // The open writer may commit without a NOTIFY: the publisher must see it end before it waits
    // without looking.
    assert.ok(woken?.open.includes(open), `${open} among the open writers: ${woken?.open.join()}`);
    const ended = await stillOpen(sql, woken!.open);
    assert.not.ok(ended.inflight.includes(open), 'it has ended since');
    assert.ok(ended.rows, 'and its row is there to drain');
  });
});

test("rows of an aggregate this publisher cannot encode (a newer rtws's) do not wake it", async () => {
  await withOwnDatabase(async (sql) => {
    await sql`
      INSERT INTO outbox (id, aggregate, aggregate_id, customer_id, op, version, origin, payload,
                          occurred_at)
      VALUES (nextval('outbox_id_seq'), 'widget', gen_random_uuid(), gen_random_uuid(), 'created',
              1, 'api', '{}', now())`;
    assert.is((await stillOpen(sql, [])).rows, false, 'nothing for it to drain');
    const asleep = sleepUntilWork(sql, waker(), 300);
    const woken = await Promise.race([
      asleep.then(() => 'woken'),
      new Promise((r) => setTimeout(() => r('asleep'), 150)),
    ]);
    assert.is(woken, 'asleep', 'it sleeps to its poll');
    await asleep;
    await sql`INSERT INTO customers (name) VALUES ('Ours')`;
    assert.is((await stillOpen(sql, [])).rows, true, 'a row of its own is seen');
  });
});

test('the flag moves only from the session named: a publisher that lost its lock leaves it be', async () => {
  await withOwnDatabase(async (sql) => {
    const [me] = await sql.reserve().then(async (conn) => {
      try {
        const r = await conn<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
        await arm(conn, r[0]!.pid);
        assert.is(await flag(sql), 1, 'armed from its own session');
        await disarm(conn, r[0]!.pid + 100_000);
        assert.is(await flag(sql), 1, 'a stale pid does not disarm');
        await disarm(conn, r[0]!.pid);
        return r;
      } finally {
        conn.release();
      }
    });
    assert.ok(me!.pid > 0);
    assert.is(await flag(sql), 0, 'disarmed from its own session');
  });
});

test.run();
