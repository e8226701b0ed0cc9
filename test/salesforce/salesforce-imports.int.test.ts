// The decision an import of a Salesforce-born record makes, once per record, from the catalogue:
// inserted when no customer has its email; matched (claiming the link) with the one customer of
// that email without a Salesforce record; ambiguous with several; left when the one there is
// linked, or matching is off. A decision made is the one every later read gets.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import {
  decideImport,
  markImportDuplicate,
  salesforceBornId,
} from '../../adapters/postgres/salesforce-imports.ts';
import { testEnvironment, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t: TestEnvironment; sql: Sql }>('Salesforce-born records: the decision');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.sql = connectPostgres(ctx.t.db.url, { max: 4 });
  await migrate(ctx.sql);
});

test.after(async (ctx) => {
  await ctx.sql?.end();
  await ctx.t?.cleanup();
});

let records = 0;
const nextRecord = () => `001000000000${String(++records).padStart(3, '0')}AAA`;
const decide = (
  sql: Sql,
  email: string | null,
  matchBy: 'email' | 'none' = 'email',
  recordId = nextRecord(),
) => decideImport(sql, { recordId, org: '00D000000000001AAA', email, matchBy });

async function customer(sql: Sql, email: string, salesforceId?: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO customers (name, email) VALUES ('Someone', ${email}) RETURNING id`;
  if (salesforceId)
    await sql`
      INSERT INTO customer_links (customer_id, target, external_id)
      VALUES (${row!.id}, 'salesforce', ${salesforceId})`;
  return row!.id;
}

test('no customer with the email: inserted under an id derived from the record', async ({
  sql,
}) => {
  const recordId = nextRecord();
  const d = await decide(sql, 'nobody@example.com', 'email', recordId);
  assert.equal(d, { decision: 'insert', customerId: salesforceBornId(recordId), decidedNow: true });
  assert.is(salesforceBornId(recordId), salesforceBornId(recordId), 'the same id every time');
  assert.is.not(salesforceBornId(recordId), salesforceBornId(nextRecord()));
});

test('the one unlinked customer of the email, any case: matched, and its link claimed', async ({
  sql,
}) => {
  const id = await customer(sql, 'Match@Example.com');
  const recordId = nextRecord();
  const d = await decide(sql, ' match@example.COM ', 'email', recordId);
  assert.equal([d.decision, d.customerId], ['match', id]);
  const [link] = await sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links WHERE customer_id = ${id} AND target = 'salesforce'`;
  assert.is(link?.external_id, recordId);
  const again = await decide(sql, 'match@example.com', 'email', recordId);
  assert.equal(again, { decision: 'match', customerId: id, decidedNow: false }, 'decided once');
  const second = await decide(sql, 'match@example.com');
  assert.is(second.decision, 'email_in_catalogue', 'a second record of that email is not matched');
});

test('several unlinked customers of the email: ambiguous, nothing imported', async ({ sql }) => {
  await customer(sql, 'twins@example.com');
  await customer(sql, 'twins@example.com');
  const d = await decide(sql, 'twins@example.com');
  assert.equal([d.decision, d.customerId], ['ambiguous', null]);
});

test('the customer of the email is linked, or matching is off: nothing imported', async ({
  sql,
}) => {
  await customer(sql, 'linked@example.com', '001000000000999AAA');
  assert.is((await decide(sql, 'linked@example.com')).decision, 'email_in_catalogue');
  await customer(sql, 'unmatched@example.com');
  assert.is((await decide(sql, 'unmatched@example.com', 'none')).decision, 'email_in_catalogue');
  assert.is((await decide(sql, null)).decision, 'insert', 'no email: inserted');
});

test('a record that cannot be given our id is marked, and stays so', async ({ sql }) => {
  const recordId = nextRecord();
  await decide(sql, 'dup@example.com', 'email', recordId);
  await markImportDuplicate(sql, recordId);
  const d = await decide(sql, 'dup@example.com', 'email', recordId);
  assert.equal(d, { decision: 'duplicate', customerId: null, decidedNow: false });
});

test.run();
