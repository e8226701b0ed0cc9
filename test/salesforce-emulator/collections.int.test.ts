import type { Connection } from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection, rawRest } from './connect.ts';
import { referenceChecksum } from './reference-checksum.ts';

let emulator: SalesforceEmulator;
let conn: Connection;

test.before(async () => {
  emulator = await startSalesforceEmulator();
  conn = await clientCredentialsConnection(emulator);
});

test.after(async () => {
  await emulator?.close();
});

interface Result {
  id?: string;
  success: boolean;
  errors: { statusCode: string; message: string; fields: string[] }[];
  created?: boolean;
}

const ids = (results: Result[]): string[] => results.map((r) => r.id!);

test('create, update and destroy arrays go through sObject Collections', async () => {
  const created = (await conn
    .sobject('Account')
    .create([{ Name: 'A' }, { Name: 'B' }, { Name: 'C' }])) as Result[];
  assert.equal(
    created.map((r) => r.success),
    [true, true, true],
  );
  const updated = (await conn
    .sobject('Account')
    .update(created.map((r) => ({ Id: r.id!, Phone: '42' })))) as Result[];
  assert.equal(
    updated.map((r) => r.id),
    ids(created),
  );
  const records = await conn.sobject('Account').retrieve(ids(created), { fields: ['Phone'] });
  assert.equal(
    records.map((r) => String(r.Phone)),
    ['42', '42', '42'],
  );
  const destroyed = (await conn.sobject('Account').destroy(ids(created))) as Result[];
  assert.equal(
    destroyed.map((r) => r.success),
    [true, true, true],
  );
  const calls = emulator.stats().callsByEndpoint;
  assert.equal(
    [calls['collections.create'], calls['collections.update'], calls['collections.delete']],
    [1, 1, 1],
  );
});

test('failed items report statusCode errors with HTTP 200; the others still commit', async () => {
  const res = await rawRest(conn, 'POST', '/composite/sobjects', {
    allOrNone: false,
    records: [
      { attributes: { type: 'Account' }, Name: 'Good' },
      { attributes: { type: 'Account' }, Phone: 'no name' },
    ],
  });
  assert.is(res.status, 200);
  const [good, bad] = (await res.json()) as Result[];
  assert.ok(good!.success);
  assert.is(bad!.success, false);
  assert.equal(bad!.errors[0]!.statusCode, 'REQUIRED_FIELD_MISSING');
  assert.equal(bad!.errors[0]!.fields, ['Name']);
  assert.is((await conn.sobject('Account').retrieve(good!.id!)).Name, 'Good');
});

test('upsert arrays report created per record', async () => {
  await conn.sobject('Contact').upsert({ Rtws_Id__c: 'c-1', LastName: 'Existing' }, 'Rtws_Id__c');
  const results = (await conn.sobject('Contact').upsert(
    [
      { Rtws_Id__c: 'c-1', LastName: 'Updated' },
      { Rtws_Id__c: 'c-2', LastName: 'New' },
    ],
    'Rtws_Id__c',
  )) as Result[];
  assert.equal(
    results.map((r) => [r.success, r.created]),
    [
      [true, false],
      [true, true],
    ],
  );
  assert.is(emulator.stats().callsByEndpoint['collections.upsert'], 1);
  const names = emulator
    .records('Contact')
    .map((r) => r.LastName)
    .sort();
  assert.equal(names, ['New', 'Updated']);
});

test('allOrNone: one failure rolls every item back', async () => {
  await conn.sobject('Account').upsert({ Rtws_Id__c: 'aon-1', Name: 'Before' }, 'Rtws_Id__c');
  const before = emulator.records('Account').length;
  const results = (await conn.sobject('Account').upsert(
    [
      { Rtws_Id__c: 'aon-1', Name: 'Changed' },
      { Rtws_Id__c: 'aon-2', Name: 'Created' },
      { Rtws_Id__c: 'aon-3', Phone: 'missing name' },
    ],
    'Rtws_Id__c',
    { allOrNone: true },
  )) as Result[];
  assert.equal(
    results.map((r) => r.errors[0]?.statusCode),
    [
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'REQUIRED_FIELD_MISSING',
    ],
  );
  assert.is(emulator.records('Account').length, before);
  const kept = emulator.records('Account').find((r) => r.Rtws_Id__c === 'aon-1')!;
  assert.is(kept.Name, 'Before');
});

test('allOrNone delete rolls back when an id is already deleted', async () => {
  const [a, b] = (await conn
    .sobject('Account')
    .create([{ Name: 'Keep' }, { Name: 'Gone' }])) as Result[];
  await conn.sobject('Account').destroy(b!.id!);
  const results = (await conn
    .sobject('Account')
    .destroy([a!.id!, b!.id!], { allOrNone: true })) as Result[];
  assert.equal(
    results.map((r) => r.errors[0]?.statusCode),
    ['ALL_OR_NONE_OPERATION_ROLLED_BACK', 'ENTITY_IS_DELETED'],
  );
  assert.is((await conn.sobject('Account').retrieve(a!.id!)).Name, 'Keep');
});

test('a repeated external id in one upsert fails both items', async () => {
  const results = (await conn.sobject('Account').upsert(
    [
      { Rtws_Id__c: 'twice', Name: 'One' },
      { Rtws_Id__c: 'twice', Name: 'Two' },
    ],
    'Rtws_Id__c',
  )) as Result[];
  assert.equal(
    results.map((r) => r.errors[0]?.statusCode),
    ['DUPLICATE_EXTERNAL_ID', 'DUPLICATE_EXTERNAL_ID'],
  );
});

test('more than 200 records is a 400', async () => {
  const records = Array.from({ length: 201 }, (_, i) => ({
    attributes: { type: 'Account' },
    Name: `N${i}`,
  }));
  const res = await rawRest(conn, 'POST', '/composite/sobjects', { allOrNone: false, records });
  assert.is(res.status, 400);
  assert.is(((await res.json()) as { errorCode: string }[])[0]!.errorCode, 'EXCEEDED_ID_LIMIT');
});

test('200 upserts in one call land, and a second pass updates them all', async () => {
  const batch = Array.from({ length: 200 }, (_, i) => ({
    Rtws_Id__c: `bulk-${i}`,
    Name: `Bulk ${i}`,
  }));
  const first = (await conn.sobject('Account').upsert(batch, 'Rtws_Id__c')) as Result[];
  assert.ok(first.every((r) => r.success && r.created));
  assert.ok(first.every((r) => r.id!.slice(15) === referenceChecksum(r.id!.slice(0, 15))));
  const second = (await conn.sobject('Account').upsert(
    batch.map((r) => ({ ...r, Phone: '1' })),
    'Rtws_Id__c',
  )) as Result[];
  assert.ok(second.every((r) => r.success && r.created === false));
});

test.run();
