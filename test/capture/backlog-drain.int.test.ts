// A backlog in the outbox (rows written while no publisher ran: a NATS outage, an import) is
// drained by batches that find their rows by index. A batch that read the whole outbox made the
// drain take time in the backlog's square. Postgres's own count of the rows its sequential scans of
// the outbox read must stay below the backlog: the old plan read about backlog² / (2 × batch).
// RTWS_BACKLOG_ROWS (default 20,000) sets the backlog.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { testEnvironment, startTestRtws, type TestEnvironment } from '../harness/rtws.ts';
import { testSize } from '../harness/services.ts';
import { waitFor } from '../harness/stream.ts';
import { readsDuring, tableReads } from '../harness/table-reads.ts';
import type { Rtws } from '../../deploy/rtws.ts';

const BACKLOG = testSize('RTWS_BACKLOG_ROWS', 20_000);
const BATCH = 1_000;

interface Ctx {
  t: TestEnvironment;
  /** One connection: Postgres counts scans per session until it reports them. */
  sql: Sql;
  rtws?: Rtws;
}
const test = suite<Ctx>('outbox backlog drain');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.sql = connectPostgres(ctx.t.db.url, { max: 1 });
  await migrate(ctx.sql);
});
test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.sql?.end();
  await ctx.t?.cleanup();
});

test('a backlog is drained in batches found by index, not by reading the outbox', async (ctx) => {
  await ctx.sql`
    INSERT INTO customers (name, email)
    SELECT 'Backlog ' || i, 'backlog.' || i || '@example.com' FROM generate_series(1, ${BACKLOG}) i`;
  await ctx.sql`ANALYZE outbox`;
  // The control: reading the outbox through a scan moves the count by the backlog.
  const { seqRows: control } = await readsDuring(
    ctx.sql,
    'outbox',
    () => ctx.sql`SELECT count(*) FROM outbox WHERE payload IS NOT NULL`,
  );
  assert.ok(
    control >= BACKLOG,
    `a scan of the backlog read ${control} rows: the count is not kept`,
  );

  const start = await tableReads(ctx.sql, 'outbox');
  ctx.rtws = await startTestRtws(ctx.t, {
    RTWS_ROLES: 'publisher',
    RTWS_PUBLISHER_BATCH: String(BATCH),
  });
  const jsm = await jetstreamManager(ctx.rtws.nats);
  await waitFor(
    async () => (await jsm.streams.info(ctx.t.names.streams.changes)).state.messages,
    (n) => n >= BACKLOG,
    120_000,
    250,
  );
  // Closing ends the publisher's sessions, which report their counts as they end.
  await ctx.rtws.close();
  ctx.rtws = undefined;
  await waitFor(
    async () => {
      const [row] = await ctx.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`;
      return row!.n;
    },
    (n) => n === 0,
  );
  const [left] = await ctx.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM outbox WHERE id > 0`;
  assert.is(left!.n, 0, 'the whole backlog was published and deleted');
  const end = await tableReads(ctx.sql, 'outbox');
  const read = end.seqRows - start.seqRows;
  assert.ok(
    read < BACKLOG,
    `the drain read ${read} outbox rows by sequential scan for a backlog of ${BACKLOG}`,
  );
  // Each row is fetched twice by index: by the batch's select and by its delete.
  const fetched = end.indexRows - start.indexRows;
  assert.ok(
    fetched < 3 * BACKLOG,
    `the drain fetched ${fetched} outbox rows by index for a backlog of ${BACKLOG}`,
  );
});

test.run();
