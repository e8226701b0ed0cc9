// One customer's conflicts (its sync status, which the console's customer page asks for every two
// seconds) are read through the customer's index whatever plan Postgres keeps for the statement.
// With RTWS_CONFLICT_ROWS conflicts (default 20,000) of other customers, newer than this
// customer's, a listing must fetch about as many rows as it returns. The session keeps generic
// plans only (`plan_cache_mode`), which Postgres otherwise switches a prepared statement to after a
// few calls: a statement whose filters were `$1 IS NULL OR …` then read every newer conflict. A
// control query that reads every conflict shows the count moving, so the check can fail.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { listConflicts } from '../../adapters/postgres/conflicts.ts';
import { createTestDatabase, testSize, type TestDatabase } from '../harness/services.ts';
import { readsDuring } from '../harness/table-reads.ts';

const OTHERS = testSize('RTWS_CONFLICT_ROWS', 20_000);
if (OTHERS < 1_000) throw new Error('RTWS_CONFLICT_ROWS must be 1,000 or more: fewer cannot tell');

interface Ctx {
  db: TestDatabase;
  /** One connection: Postgres counts reads per session until it reports them. */
  sql: Sql;
  customer: string;
}
const test = suite<Ctx>('conflict listing');

async function addConflicts(sql: Sql, customer: string, n: number, field = 'name') {
  await sql`
    INSERT INTO conflicts (customer_id, field, postgres_value, stripe_value, winner, reason,
                           stripe_event_id, detected_at)
    SELECT ${customer}::uuid, ${field}, '"a"', '"b"', 'stripe', 'test', 'evt_' || i, now()
    FROM generate_series(1, ${n}) i`;
}

test.before(async (ctx) => {
  ctx.db = await createTestDatabase();
  ctx.sql = connectPostgres(ctx.db.url, { max: 1 });
  await migrate(ctx.sql);
  ctx.customer = randomUUID();
  await addConflicts(ctx.sql, ctx.customer, 3);
  // Other customers' conflicts, all newer: a scan down the primary key meets them first.
  await ctx.sql`
    INSERT INTO conflicts (customer_id, field, postgres_value, stripe_value, winner, reason,
                           stripe_event_id, detected_at)
    SELECT gen_random_uuid(), 'email', '"a"', '"b"', 'stripe', 'test', 'evt_other', now()
    FROM generate_series(1, ${OTHERS})`;
  await ctx.sql`ANALYZE conflicts`;
  await ctx.sql`SET plan_cache_mode = force_generic_plan`;
});
test.after(async (ctx) => {
  await ctx.sql?.end();
  await ctx.db?.drop();
});

test('the control: a query that reads every conflict is counted', async (ctx) => {
  const reads = await readsDuring(
    ctx.sql,
    'conflicts',
    () => ctx.sql`SELECT count(*) FROM conflicts WHERE reason = 'nobody gave this reason'`,
  );
  const read = reads.seqRows + reads.indexRows;
  assert.ok(
    read >= OTHERS,
    `reading every conflict counted ${read}: the check below proves nothing`,
  );
});

test("one customer's conflicts are fetched by its index, with a generic plan", async (ctx) => {
  let listed: Awaited<ReturnType<typeof listConflicts>> | undefined;
  const reads = await readsDuring(ctx.sql, 'conflicts', async () => {
    listed = await listConflicts(ctx.sql, { limit: 20, customerId: ctx.customer });
  });
  assert.is(listed!.data.length, 3);
  assert.ok(listed!.data.every((c) => c.customer_id === ctx.customer));
  const fetched = reads.seqRows + reads.indexRows;
  assert.ok(fetched < 100, `the listing read ${fetched} conflicts: ${JSON.stringify(reads)}`);
});

test('the filters still narrow, and the cursor pages', async (ctx) => {
  await addConflicts(ctx.sql, ctx.customer, 2, 'email');
  const emails = await listConflicts(ctx.sql, {
    limit: 10,
    customerId: ctx.customer,
    field: 'email',
  });
  assert.is(emails.data.length, 2);
  assert.ok(emails.data.every((c) => c.field === 'email' && c.customer_id === ctx.customer));
  const first = await listConflicts(ctx.sql, { limit: 3, customerId: ctx.customer });
  assert.is(first.data.length, 3);
  assert.ok(first.next_cursor !== null);
  const rest = await listConflicts(ctx.sql, {
    limit: 3,
    customerId: ctx.customer,
    cursor: Number(first.next_cursor),
  });
  assert.is(rest.data.length, 2);
  assert.ok(rest.data.every((c) => c.id < Number(first.next_cursor)));
});

test.run();
