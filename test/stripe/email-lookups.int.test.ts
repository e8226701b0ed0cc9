// The lookups that match by email compare emails case-insensitively and must not read the whole
// catalogue to do it: an import's page lookup and a match's candidates (Stripe), the decision
// of a record a Salesforce import finds, and the API's `GET /customers?email=`. Each is run on a catalogue of RTWS_EMAIL_LOOKUP_CUSTOMERS
// customers (default 20,000), and Postgres's own count of sequential scans of `customers` must not
// move. A control query that does read the whole table shows the count moving, so the check can
// fail.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import {
  catalogueEmails,
  unlinkedCustomersWithEmail,
} from '../../adapters/postgres/import-lookups.ts';
import { customerRepository } from '../../adapters/postgres/customers.ts';
import { decideImport } from '../../adapters/postgres/salesforce-imports.ts';
import { createTestDatabase, testSize, type TestDatabase } from '../harness/services.ts';
import { readsDuring } from '../harness/table-reads.ts';

const CUSTOMERS = testSize('RTWS_EMAIL_LOOKUP_CUSTOMERS', 20_000);

interface Ctx {
  db: TestDatabase;
  /** One connection: Postgres counts scans per session until it reports them. */
  sql: Sql;
}
const test = suite<Ctx>('email lookups');

test.before(async (ctx) => {
  ctx.db = await createTestDatabase();
  ctx.sql = connectPostgres(ctx.db.url, { max: 1 });
  await migrate(ctx.sql);
  // Emails stored with capitals, as people type them; the lookups take them lower-cased.
  await ctx.sql`
    INSERT INTO customers (name, email)
    SELECT 'Person ' || i, 'Person.' || i || '@Example.com' FROM generate_series(1, ${CUSTOMERS}) i`;
  await ctx.sql`ANALYZE customers`;
});
test.after(async (ctx) => {
  await ctx.sql?.end();
  await ctx.db?.drop();
});

test('the control: a query on an unindexed column is counted as a sequential scan', async (ctx) => {
  const { seqScans: scans } = await readsDuring(
    ctx.sql,
    'customers',
    () => ctx.sql`SELECT count(*) FROM customers WHERE name = 'Nobody'`,
  );
  assert.ok(scans >= 1, `the count did not move (${scans}): the checks below would prove nothing`);
});

test("an import page's lookup finds emails whatever their case, by index", async (ctx) => {
  const emails = Array.from({ length: 100 }, (_, i) => `person.${i * 97 + 1}@example.com`);
  let found = new Set<string>();
  const { seqScans: scans } = await readsDuring(ctx.sql, 'customers', async () => {
    found = await catalogueEmails(ctx.sql, [...emails, 'nobody@example.com']);
  });
  assert.equal(found, new Set(emails));
  assert.is(scans, 0, 'the page lookup read the whole catalogue');
});

test("a match's candidates are found whatever the case, by index", async (ctx) => {
  let ids: string[] = [];
  const { seqScans: scans } = await readsDuring(ctx.sql, 'customers', async () => {
    ids = await unlinkedCustomersWithEmail(ctx.sql, 'person.42@example.com');
  });
  const [expected] = await ctx.sql<{ id: string }[]>`
    SELECT id FROM customers WHERE email = 'Person.42@Example.com'`;
  assert.equal(ids, [expected!.id]);
  assert.is(scans, 0, "the match's lookup read the whole catalogue");
});

test('a Salesforce record is matched whatever the case, by index', async (ctx) => {
  let decided: Awaited<ReturnType<typeof decideImport>> | undefined;
  const { seqScans: scans } = await readsDuring(ctx.sql, 'customers', async () => {
    decided = await decideImport(ctx.sql, {
      recordId: '003000000000042AAA',
      org: '00D000000000001',
      email: 'PERSON.7@example.COM',
      matchBy: 'email',
    });
  });
  const [expected] = await ctx.sql<{ id: string }[]>`
    SELECT id FROM customers WHERE email = 'Person.7@Example.com'`;
  assert.equal(decided, { decision: 'match', customerId: expected!.id, decidedNow: true });
  assert.is(scans, 0, "the Salesforce import's lookup read the whole catalogue");
});

test("the API's email filter finds an email whatever its case, by index", async (ctx) => {
  let names: string[] = [];
  const { seqScans: scans, indexRows } = await readsDuring(ctx.sql, 'customers', async () => {
    const page = await customerRepository(ctx.sql).list({
      limit: 20,
      email: 'PERSON.1234@example.com',
    });
    names = page.data.map((c) => c.name);
  });
  assert.equal(names, ['Person 1234']);
  assert.is(scans, 0, 'the email filter read the whole catalogue');
  // Nor walked it in order by another index, looking at every email on the way.
  assert.ok(indexRows <= 10, `the email filter fetched ${indexRows} rows by index`);
});

test.run();
