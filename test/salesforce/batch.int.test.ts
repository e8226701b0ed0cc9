// Many customers' pending Salesforce intents in few calls: creates through the sObject
// Collections upsert, updates through its update (by Salesforce id) and deletes through its delete,
// 200 records a call, one outcome per intent whatever happens to the others.
import * as assert from 'uvu/assert';
import { executeSalesforceBatch } from '../../adapters/salesforce/batch.ts';
import { executeSalesforceIntent } from '../../adapters/salesforce/executor.ts';
import {
  TARGET,
  countByRtwsId,
  create,
  externalIdOf,
  failureOf,
  work,
  salesforceSuite,
} from './fixtures.ts';

const test = salesforceSuite('Salesforce batch');

const customers = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => create(`${prefix}-${i}`));

test('N creates go out in ⌈N/200⌉ collection calls, each intent gets its record id', async ({
  conn,
  emulator,
}) => {
  const items = customers(450, 'bulk');
  const outcomes = await executeSalesforceBatch(conn, items, TARGET);
  assert.is(emulator.stats().callsByEndpoint['collections.upsert'], 3);
  assert.is(emulator.apiCalls(), 3);
  assert.is(outcomes.length, 450);
  const byRtwsId = new Map(emulator.records('Account').map((r) => [r.Rtws_Id__c, r.Id]));
  assert.is(byRtwsId.size, 450);
  outcomes.forEach((o, i) => {
    assert.is(o.data.intentId, items[i]!.intent.id);
    assert.is(externalIdOf(o), byRtwsId.get(items[i]!.customerId));
  });
  assert.equal(emulator.stats().callOptions, { 'client=rtws': 3 });
});

test('creates share a Collections upsert, updates a Collections update; a lone delete and no-op updates go alone', async ({
  conn,
  emulator,
}) => {
  const existing = externalIdOf(await executeSalesforceIntent(conn, create('old'), TARGET));
  const other = externalIdOf(await executeSalesforceIntent(conn, create('other'), TARGET));
  const doomed = externalIdOf(await executeSalesforceIntent(conn, create('doomed'), TARGET));
  const before = emulator.apiCalls();
  const items = [
    create('new-1'),
    work('old', 'UpdateSalesforceAccount', { externalId: existing, patch: { name: 'Renamed' } }),
    work('doomed', 'DeleteSalesforceAccount', { externalId: doomed }),
    work('other', 'UpdateSalesforceAccount', { externalId: other, patch: { metadata: {} } }),
    create('new-2'),
    work('other', 'UpdateSalesforceAccount', { externalId: other, patch: { phone: null } }),
  ];
  const outcomes = await executeSalesforceBatch(conn, items, TARGET);
  assert.equal(
    outcomes.map((o) => o.type),
    [
      'SalesforceAccountCreated',
      'SalesforceAccountUpdated',
      'SalesforceAccountDeleted',
      'SalesforceAccountUpdated',
      'SalesforceAccountCreated',
      'SalesforceAccountUpdated',
    ],
  );
  assert.is(emulator.apiCalls() - before, 3, 'one upsert, one update and one delete');
  assert.is(emulator.stats().callsByEndpoint['collections.update'], 1);
  assert.is(await countByRtwsId(conn, 'doomed'), 0);
  const renamed = emulator.records('Account').find((r) => r.Rtws_Id__c === 'old');
  assert.is(renamed?.Name, 'Renamed');
  assert.is(renamed?.Phone, '+44 20 7946 0000');
  assert.is(emulator.records('Account').find((r) => r.Id === other)?.Phone, null);
});

test('an update of a record deleted in Salesforce is not_found alone, and makes no record', async ({
  conn,
  emulator,
}) => {
  const created = await executeSalesforceBatch(conn, customers(3, 'upd'), TARGET);
  const ids = created.map(externalIdOf);
  emulator.deleteAsPerson('Account', ids[1]!);
  const items = ids.map((externalId, i) =>
    work(`upd-${i}`, 'UpdateSalesforceAccount', { externalId, patch: { name: `Renamed ${i}` } }),
  );
  const outcomes = await executeSalesforceBatch(conn, items, TARGET);
  assert.equal(
    outcomes.map((o) => o.type),
    ['SalesforceAccountUpdated', 'SalesforceCallFailed', 'SalesforceAccountUpdated'],
  );
  assert.is(failureOf(outcomes[1]!).failure, 'not_found');
  assert.is(await countByRtwsId(conn, 'upd-1'), 0, 'not made again holding the patch alone');
  assert.equal(
    emulator
      .records('Account')
      .map((r) => r.Name)
      .sort(),
    ['Renamed 0', 'Renamed 2'],
  );
});

test('deletes share one Collections delete; an already deleted record reports not_found', async ({
  conn,
  emulator,
}) => {
  const created = await executeSalesforceBatch(conn, customers(3, 'del'), TARGET);
  const ids = created.map(externalIdOf);
  await executeSalesforceIntent(
    conn,
    work('del-2', 'DeleteSalesforceAccount', { externalId: ids[2]! }),
    TARGET,
  );
  const before = emulator.apiCalls();
  const items = ids.map((externalId, i) =>
    work(`del-${i}`, 'DeleteSalesforceAccount', { externalId }),
  );
  const outcomes = await executeSalesforceBatch(conn, items, TARGET);
  assert.is(emulator.apiCalls() - before, 1);
  assert.is(emulator.stats().callsByEndpoint['collections.delete'], 1);
  assert.equal(
    outcomes.slice(0, 2).map((o) => o.type),
    ['SalesforceAccountDeleted', 'SalesforceAccountDeleted'],
  );
  assert.is(failureOf(outcomes[2]!).failure, 'not_found', 'done, for the actor');
  assert.equal(
    outcomes.map((o) => o.data.intentId),
    items.map((w) => w.intent.id),
  );
  const total = await conn.query('SELECT COUNT() FROM Account');
  assert.is(total.totalSize, 0);
});

test('a record Salesforce rejects fails alone, permanently, with its message', async ({ conn }) => {
  const items = [create('good-1'), create('bad', ''), create('good-2')];
  const outcomes = await executeSalesforceBatch(conn, items, TARGET);
  externalIdOf(outcomes[0]!);
  externalIdOf(outcomes[2]!);
  const bad = failureOf(outcomes[1]!);
  assert.is(bad.failure, 'permanent');
  assert.match(bad.reason, /REQUIRED_FIELD_MISSING/);
  assert.is(outcomes[1]!.data.intentId, items[1]!.intent.id);
  assert.is(await countByRtwsId(conn, 'bad'), 0);
});

test('a spent quota pauses every record of the call; a lock conflict is transient for all', async ({
  conn,
  emulator,
}) => {
  emulator.exhaustQuota();
  const paused = await executeSalesforceBatch(conn, customers(3, 'q'), TARGET);
  assert.equal(
    paused.map((o) => failureOf(o).failure),
    ['rate_limited', 'rate_limited', 'rate_limited'],
  );
  emulator.restoreQuota();
  emulator.injectFault({ method: 'PATCH', path: '/composite/sobjects' });
  const locked = await executeSalesforceBatch(conn, customers(2, 'l'), TARGET);
  assert.equal(
    locked.map((o) => failureOf(o).failure),
    ['transient', 'transient'],
  );
});

test('resending a batch after an unknown outcome makes no duplicates', async ({
  conn,
  emulator,
}) => {
  const items = customers(250, 'again');
  const first = await executeSalesforceBatch(conn, items, TARGET);
  emulator.expireTokens();
  const second = await executeSalesforceBatch(conn, items, TARGET);
  assert.equal(second.map(externalIdOf), first.map(externalIdOf));
  const total = await conn.query('SELECT COUNT() FROM Account');
  assert.is(total.totalSize, 250);
});

test.run();
