// Reading Salesforce back for drift repair: one SOQL query read in pages of 2,000, records in
// canonical fields with who changed them last, and the customers with no live record.
import * as assert from 'uvu/assert';
import { executeSalesforceBatch } from '../../adapters/salesforce/batch.ts';
import {
  ReadBackTally,
  integrationUserId,
  readBackSoql,
  readSalesforceRecords,
  type ReadBackOptions,
  type SalesforceReadPage,
} from '../../adapters/salesforce/read-back.ts';
import type { Connection } from 'jsforce';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { TARGET, create, fields, salesforceSuite } from './fixtures.ts';

const test = salesforceSuite('Salesforce read-back', 20_000);

const N = 4_500;
const ids = Array.from({ length: N }, (_, i) => `cus-${String(i).padStart(5, '0')}`);

/** N customers pushed the way the worker pushes them, and one Account that is not ours. */
async function seed(conn: Connection): Promise<void> {
  await executeSalesforceBatch(
    conn,
    ids.map((id) => create(id, `Customer ${id}`)),
    TARGET,
  );
  await conn.sobject('Account').create({ Name: 'Made by sales, not ours' });
}

async function readAll(
  conn: Connection,
  options?: ReadBackOptions,
): Promise<{ pages: SalesforceReadPage[]; tally: ReadBackTally }> {
  const pages: SalesforceReadPage[] = [];
  const tally = new ReadBackTally();
  for await (const page of readSalesforceRecords(conn, TARGET, options)) {
    pages.push(page);
    tally.add(page);
  }
  return { pages, tally };
}

function queryCalls(emulator: SalesforceEmulator): number {
  const calls = emulator.stats().callsByEndpoint;
  return (calls.query ?? 0) + (calls.queryAll ?? 0) + (calls['query.more'] ?? 0);
}

test('4,500 records in 3 pages for 3 calls, edits and deletes made by a person told apart', async ({
  conn,
  emulator,
}) => {
  await seed(conn);
  emulator.editAsPerson(
    'Account',
    { field: 'Rtws_Id__c', value: 'cus-00007' },
    {
      Name: 'Renamed in Salesforce',
      BillingCity: 'Paris',
      BillingCountry: 'fr',
    },
  );
  emulator.editAsPerson('Account', { field: 'Rtws_Id__c', value: 'cus-03999' }, { Phone: null });
  emulator.deleteAsPerson('Account', { field: 'Rtws_Id__c', value: 'cus-00100' });
  emulator.deleteAsPerson('Account', { field: 'Rtws_Id__c', value: 'cus-04321' });

  const me = await integrationUserId(conn);
  assert.is(me, emulator.userId);
  const before = emulator.stats();
  const { pages, tally } = await readAll(conn);
  const after = emulator.stats();

  assert.is(after.apiCalls - before.apiCalls, 3, '⌈4,498 / 2,000⌉ calls');
  assert.is((after.callsByEndpoint.query ?? 0) - (before.callsByEndpoint.query ?? 0), 1);
  assert.is(
    (after.callsByEndpoint['query.more'] ?? 0) - (before.callsByEndpoint['query.more'] ?? 0),
    2,
  );
  assert.equal(
    pages.map((p) => [p.page, p.records.length, p.done, p.totalSize]),
    [
      [0, 2000, false, N - 2],
      [1, 2000, false, N - 2],
      [2, N - 2 - 4000, true, N - 2],
    ],
  );
  assert.ok(pages.every((p, i) => i === 0 || p.readAt >= pages[i - 1]!.readAt));

  const records = new Map(pages.flatMap((p) => p.records).map((r) => [r.externalId, r]));
  assert.is(records.size, N - 2);
  const sfIds = new Map(emulator.records('Account').map((r) => [r.Rtws_Id__c, r.Id]));

  const renamed = records.get('cus-00007')!;
  assert.is(renamed.salesforceId, sfIds.get('cus-00007'));
  assert.is(renamed.lastModifiedById, emulator.personUserId);
  assert.equal(renamed.fields, {
    ...fields('cus-00007', 'Renamed in Salesforce'),
    address: { ...fields('cus-00007').address!, city: 'Paris', country: 'FR' },
    metadata: {},
  });
  assert.is(records.get('cus-03999')!.fields.phone, null);
  assert.is(records.get('cus-03999')!.lastModifiedById, emulator.personUserId);

  const untouched = records.get('cus-02500')!;
  assert.is(untouched.lastModifiedById, me);
  assert.equal(untouched.fields, { ...fields('cus-02500', 'Customer cus-02500'), metadata: {} });
  assert.ok(renamed.systemModstamp > untouched.systemModstamp);
  assert.is(
    [...records.values()].filter((r) => r.lastModifiedById !== me).length,
    2,
    'only the person edits are not ours',
  );

  const absent = tally.absent([...ids, 'cus-never-pushed']);
  assert.equal(absent.missing, ['cus-00100', 'cus-04321', 'cus-never-pushed']);
  assert.equal(absent.deleted, []);
});

test('with includeDeleted, deleted records come from the recycle bin with who deleted them', async ({
  conn,
  emulator,
}) => {
  await seed(conn);
  const person = emulator.deleteAsPerson('Account', { field: 'Rtws_Id__c', value: 'cus-00100' });
  const ours = emulator.records('Account').find((r) => r.Rtws_Id__c === 'cus-00200')!;
  await conn.sobject('Account').destroy(String(ours.Id));
  emulator.deleteAsPerson('Account', { field: 'Rtws_Id__c', value: 'cus-00300' });
  // Recreated after the delete: the live record wins.
  await conn.sobject('Account').upsert({ Rtws_Id__c: 'cus-00300', Name: 'Again' }, 'Rtws_Id__c');

  const before = emulator.stats();
  const { pages, tally } = await readAll(conn, { includeDeleted: true });
  const after = emulator.stats();
  assert.is(after.apiCalls - before.apiCalls, 3, '4,501 rows: ⌈4,501 / 2,000⌉ calls');
  assert.is((after.callsByEndpoint.queryAll ?? 0) - (before.callsByEndpoint.queryAll ?? 0), 1);
  assert.is(
    pages.reduce((n, p) => n + p.records.length, 0),
    N + 1,
  );

  const absent = tally.absent([...ids, 'cus-never-pushed']);
  assert.equal(absent.missing, ['cus-never-pushed']);
  assert.equal(
    absent.deleted.map((r) => [r.externalId, r.salesforceId, r.deleted, r.lastModifiedById]),
    [
      ['cus-00100', person.Id, true, emulator.personUserId],
      ['cus-00200', ours.Id, true, emulator.userId],
    ],
  );
});

test('no records: one call and one empty page; a smaller batch size gives more pages', async ({
  conn,
  emulator,
}) => {
  const empty = await readAll(conn, { clock: () => 42 });
  assert.equal(
    empty.pages.map((p) => [p.records.length, p.done, p.totalSize, p.readAt]),
    [[0, true, 0, 42]],
  );
  assert.is(queryCalls(emulator), 1);
  await executeSalesforceBatch(
    conn,
    ids.slice(0, 450).map((id) => create(id)),
    TARGET,
  );
  const before = queryCalls(emulator);
  const { pages } = await readAll(conn, { batchSize: 200 });
  assert.equal(
    pages.map((p) => p.records.length),
    [200, 200, 50],
  );
  assert.is(queryCalls(emulator) - before, 3);
});

test('the query selects each field once, in Id order, and takes only API names and ids', () => {
  assert.is(
    readBackSoql({ ...TARGET, fieldMap: { Name: 'name', rtws_id__c: 'metadata.x', Id: 'phone' } }),
    'SELECT Id, Rtws_Id__c, Name, LastModifiedById, SystemModstamp FROM Account WHERE Rtws_Id__c != null ORDER BY Id',
  );
  assert.is(
    readBackSoql({ ...TARGET, fieldMap: { Name: 'name' } }, false, '001000000000001AAA'),
    "SELECT Id, Rtws_Id__c, Name, LastModifiedById, SystemModstamp FROM Account WHERE Rtws_Id__c != null AND Id > '001000000000001AAA' ORDER BY Id",
  );
  assert.throws(() => readBackSoql(TARGET, false, "x' OR Name != '"), /not a Salesforce record id/);
  assert.throws(
    () => readBackSoql({ ...TARGET, externalIdField: "Rtws_Id__c != null OR Name != 'x'" }),
    /not a Salesforce API name/,
  );
});

test.run();
