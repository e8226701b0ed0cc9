import jsforce from 'jsforce';
import type { Connection } from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection, rawRest, rejection } from './connect.ts';

let emulator: SalesforceEmulator;
let conn: Connection;

test.before(async () => {
  emulator = await startSalesforceEmulator();
  conn = await clientCredentialsConnection(emulator);
});

test.after(async () => {
  await emulator?.close();
});

test('upsert by external id: 201 created, then 200 updated (API v50.0)', async () => {
  const first = await rawRest(conn, 'PATCH', '/sobjects/Account/Rtws_Id__c/cus-100', {
    Name: 'First',
  });
  assert.is(first.status, 201);
  const created = (await first.json()) as { id: string; created: boolean; success: boolean };
  assert.equal([created.created, created.success], [true, true]);
  const second = await conn
    .sobject('Account')
    .upsert({ Rtws_Id__c: 'cus-100', Name: 'Second' }, 'Rtws_Id__c');
  assert.equal(second, { id: created.id, success: true, errors: [], created: false });
  const record = await conn.sobject('Account').retrieve(created.id);
  assert.equal([record.Name, record.Rtws_Id__c], ['Second', 'cus-100']);
});

test('on API v45.0 an upsert that updates answers 204 without a body', async () => {
  const old = new jsforce.Connection({
    instanceUrl: conn.instanceUrl,
    accessToken: conn.accessToken!,
    version: '45.0',
  });
  const created = await old
    .sobject('Account')
    .upsert({ Rtws_Id__c: 'cus-45', Name: 'Old' }, 'Rtws_Id__c');
  assert.is((created as { created?: boolean }).created, true);
  const res = await rawRest(old, 'PATCH', '/sobjects/Account/Rtws_Id__c/cus-45', { Name: 'Older' });
  assert.is(res.status, 204);
  assert.is(await res.text(), '');
  const updated = await old
    .sobject('Account')
    .upsert({ Rtws_Id__c: 'cus-45', Name: 'Oldest' }, 'Rtws_Id__c');
  assert.equal(updated, { success: true, errors: [] });
});

test('several records with the external id: 300 with their URLs, MULTIPLE_CHOICES in jsforce', async () => {
  const a = await conn.sobject('Account').create({ Name: 'A', Legacy_Id__c: 'L-1' });
  const b = await conn.sobject('Account').create({ Name: 'B', Legacy_Id__c: 'L-1' });
  const err = await rejection(
    conn.sobject('Account').upsert({ Legacy_Id__c: 'L-1', Name: 'C' }, 'Legacy_Id__c'),
  );
  assert.is(err.errorCode, 'MULTIPLE_CHOICES');
  assert.equal(
    err.data,
    [a.id, b.id].map((id) => `/services/data/v${conn.version}/sobjects/Account/${id}`),
  );
  const res = await rawRest(conn, 'GET', '/sobjects/Account/Legacy_Id__c/L-1');
  assert.is(res.status, 300);
});

test('an upsert on a field that is not an external id is 404 NOT_FOUND', async () => {
  const err = await rejection(conn.sobject('Account').upsert({ Name: 'x', Phone: '1' }, 'Phone'));
  assert.is(err.errorCode, 'NOT_FOUND');
  const unknown = await rejection(
    conn.sobject('Account').upsert({ Name: 'x', Nope__c: '1' }, 'Nope__c'),
  );
  assert.is(unknown.errorCode, 'NOT_FOUND');
});

test('the external id segment is percent-decoded; matching is case-sensitive for Rtws_Id__c', async () => {
  const res = await rawRest(conn, 'PATCH', '/sobjects/Account/Rtws_Id__c/with%20space%2Bplus', {
    Name: 'Spaced',
  });
  assert.is(res.status, 201);
  const found = await conn.sobject('Account').findOne({ Rtws_Id__c: 'with space+plus' }, ['Id']);
  assert.ok(found);
  const upper = await conn
    .sobject('Account')
    .upsert({ Rtws_Id__c: 'WITH SPACE+PLUS', Name: 'Other' }, 'Rtws_Id__c');
  assert.is((upper as { created?: boolean }).created, true);
});

test('upsert enforces the usual validation: REQUIRED_FIELD_MISSING on create', async () => {
  const err = await rejection(
    conn.sobject('Account').upsert({ Rtws_Id__c: 'cus-noname', Phone: '1' }, 'Rtws_Id__c'),
  );
  assert.is(err.errorCode, 'REQUIRED_FIELD_MISSING');
  assert.is(emulator.records('Account').filter((r) => r.Rtws_Id__c === 'cus-noname').length, 0);
});

test('an upsert after a delete creates a new record', async () => {
  const first = await conn
    .sobject('Account')
    .upsert({ Rtws_Id__c: 'cus-del', Name: 'Gone' }, 'Rtws_Id__c');
  await conn.sobject('Account').destroy((first as { id: string }).id);
  const second = await conn
    .sobject('Account')
    .upsert({ Rtws_Id__c: 'cus-del', Name: 'Back' }, 'Rtws_Id__c');
  assert.is((second as { created?: boolean }).created, true);
  assert.is.not((second as { id: string }).id, (first as { id: string }).id);
});

test('retrieve and delete by external id', async () => {
  await conn.sobject('Contact').upsert({ Rtws_Id__c: 'con-1', LastName: 'Hopper' }, 'Rtws_Id__c');
  const got = await rawRest(conn, 'GET', '/sobjects/Contact/Rtws_Id__c/con-1');
  assert.is(((await got.json()) as { LastName: string }).LastName, 'Hopper');
  const del = await rawRest(conn, 'DELETE', '/sobjects/Contact/Rtws_Id__c/con-1');
  assert.is(del.status, 204);
  const missing = await rawRest(conn, 'GET', '/sobjects/Contact/Rtws_Id__c/con-1');
  assert.is(missing.status, 404);
});

test.run();
