// Changes made "as a person in Salesforce": the control endpoints and the emulator's methods that
// edit and delete a record under another user's id, with the system fields Salesforce sets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test.before.each(() => {
  emulator.reset();
});

function control(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${emulator.loginUrl}/_emulator${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function account(rtwsId: string, name = 'Initech'): Promise<string> {
  const { id } = await conn.sobject('Account').create({ Name: name, Rtws_Id__c: rtwsId });
  return id!;
}

const retrieve = (id: string) => conn.sobject('Account').retrieve(id);

test('an API write is stamped with the integration user, the one the session names', async () => {
  const id = await account('api-1');
  const record = await retrieve(id);
  assert.is(conn.userInfo?.id, emulator.userId);
  assert.is(record.CreatedById, emulator.userId);
  assert.is(record.LastModifiedById, emulator.userId);
  assert.is(record.LastModifiedDate, record.SystemModstamp);
  assert.is.not(emulator.personUserId, emulator.userId);
  assert.match(emulator.personUserId, /^005[0-9A-Za-z]{15}$/);
});

test('PATCH /_emulator/records/{type}/{id}: a person edit, stamped as Salesforce stamps it', async () => {
  const id = await account('person-1');
  const before = await retrieve(id);
  const calls = emulator.apiCalls();
  const res = await control('PATCH', `/records/Account/${id}`, {
    fields: { Name: 'Initrode', Phone: '+1 555 0100' },
  });
  assert.is(res.status, 200);
  const returned = (await res.json()) as Record<string, unknown>;
  assert.is(returned.Name, 'Initrode');
  assert.is(emulator.apiCalls(), calls, 'a person in the UI costs no API call');
  const after = await retrieve(id);
  assert.is(after.Name, 'Initrode');
  assert.is(after.Phone, '+1 555 0100');
  assert.is(after.LastModifiedById, emulator.personUserId);
  assert.is(after.CreatedById, emulator.userId);
  assert.is(after.CreatedDate, before.CreatedDate);
  assert.ok(String(after.SystemModstamp) > String(before.SystemModstamp));
  assert.is(after.LastModifiedDate, after.SystemModstamp);
  const mine = await conn.query(
    `SELECT Id FROM Account WHERE LastModifiedById = '${emulator.personUserId}'`,
  );
  assert.equal(
    mine.records.map((r) => r.Id),
    [id],
  );
});

test('by external id, as a chosen user, and through the emulator object', async () => {
  const id = await account('person-2');
  const someone = '005000000000042AAA';
  const res = await control('PATCH', '/records/Account/Rtws_Id__c/person-2', {
    fields: { BillingCity: 'Austin' },
    userId: someone,
  });
  assert.is(res.status, 200);
  assert.is((await retrieve(id)).LastModifiedById, someone);
  const edited = emulator.editAsPerson('Account', id, { Description: 'called twice' });
  assert.is(edited.LastModifiedById, emulator.personUserId);
  assert.is(edited.BillingCity, 'Austin');
  const byRef = emulator.editAsPerson(
    'Account',
    { field: 'Rtws_Id__c', value: 'person-2' },
    { Phone: '1' },
    { userId: someone.slice(0, 15) },
  );
  assert.is(byRef.LastModifiedById, someone, 'a 15-character user id is taken in its long form');
});

test('bad person edits are refused with a clear 4xx and change nothing', async () => {
  const id = await account('person-3');
  const before = await retrieve(id);
  const cases: [string, unknown, number, string][] = [
    [`/records/Account/${id}`, { fields: { Nope__c: 'x' } }, 400, 'INVALID_FIELD'],
    [
      `/records/Account/${id}`,
      { fields: { LastModifiedById: emulator.userId } },
      400,
      'INVALID_FIELD_FOR_INSERT_UPDATE',
    ],
    [`/records/Account/${id}`, { fields: { Name: null } }, 400, 'REQUIRED_FIELD_MISSING'],
    [`/records/Account/${id}`, { fields: { Name: 'x' }, userId: id }, 400, 'INVALID_REQUEST'],
    [`/records/Account/${id}`, { Name: 'no fields wrapper' }, 400, 'INVALID_REQUEST'],
    ['/records/Account/001000000000000AAA', { fields: { Name: 'x' } }, 404, 'NOT_FOUND'],
    ['/records/Account/Rtws_Id__c/nobody', { fields: { Name: 'x' } }, 404, 'NOT_FOUND'],
    ['/records/Account/Name/Initech', { fields: { Name: 'x' } }, 404, 'NOT_FOUND'],
    ['/records/Opportunity/x', { fields: { Name: 'x' } }, 404, 'NOT_FOUND'],
  ];
  for (const [path, body, status, error] of cases) {
    const res = await control('PATCH', path, body);
    assert.is(res.status, status, path);
    assert.is(((await res.json()) as { error: string }).error, error, path);
  }
  await conn.sobject('Account').create({ Name: 'Twin A', Legacy_Id__c: 'L-1' });
  await conn.sobject('Account').create({ Name: 'Twin B', Legacy_Id__c: 'L-1' });
  const twins = await control('DELETE', '/records/Account/Legacy_Id__c/L-1');
  assert.is(twins.status, 300);
  assert.is(((await twins.json()) as { error: string }).error, 'DUPLICATE_EXTERNAL_ID');
  assert.is(emulator.records('Account').length, 3);
  const after = await retrieve(id);
  assert.is(after.Name, 'Initech');
  assert.is(after.SystemModstamp, before.SystemModstamp);
  assert.is((await control('PUT', `/records/Account/${id}`, {})).status, 404);
});

test('DELETE: gone from queries and reads, in queryAll as deleted by the person', async () => {
  const id = await account('gone-1');
  await account('stays-1');
  const res = await control('DELETE', '/records/Account/Rtws_Id__c/gone-1');
  assert.is(res.status, 200);
  assert.is(((await res.json()) as { IsDeleted: boolean }).IsDeleted, true);
  const live = await conn.query('SELECT Rtws_Id__c FROM Account WHERE Rtws_Id__c != null');
  assert.equal(
    live.records.map((r) => r.Rtws_Id__c),
    ['stays-1'],
  );
  const err = await rejection(retrieve(id));
  assert.is(err.errorCode, 'ENTITY_IS_DELETED');
  const all = await conn.query(
    `SELECT Id, IsDeleted, LastModifiedById, LastModifiedDate, SystemModstamp FROM Account WHERE IsDeleted = true`,
    { scanAll: true },
  );
  assert.is(all.records.length, 1);
  const binned = all.records[0]!;
  assert.is(binned.Id, id);
  assert.is(binned.LastModifiedById, emulator.personUserId);
  assert.is(binned.LastModifiedDate, binned.SystemModstamp);
  const again = await control('DELETE', `/records/Account/${id}`);
  assert.is(again.status, 404);
  assert.is(((await again.json()) as { error: string }).error, 'ENTITY_IS_DELETED');
  const recreated = await conn
    .sobject('Account')
    .upsert({ Rtws_Id__c: 'gone-1', Name: 'Back' }, 'Rtws_Id__c');
  assert.ok((recreated as { created: boolean }).created, 'the next upsert makes a new record');
});

test('a delete through the API is stamped with the integration user', async () => {
  const id = await account('api-gone');
  const res = await rawRest(conn, 'DELETE', `/sobjects/Account/${id}`);
  assert.is(res.status, 204);
  const [binned] = emulator.records('Account', { includeDeleted: true });
  assert.is(binned!.IsDeleted, true);
  assert.is(binned!.LastModifiedById, emulator.userId);
  assert.throws(() => emulator.deleteAsPerson('Account', id), /entity is deleted/);
});

test('describe lists who created and last changed a record as read-only references to User', async () => {
  const describe = await conn.sobject('Account').describe();
  for (const [name, relationship] of [
    ['CreatedById', 'CreatedBy'],
    ['LastModifiedById', 'LastModifiedBy'],
  ] as const) {
    const field = describe.fields.find((f) => f.name === name)!;
    assert.is(field.type, 'reference');
    assert.equal(field.referenceTo, ['User']);
    assert.is(field.relationshipName, relationship);
    assert.is(field.createable, false);
    assert.is(field.updateable, false);
  }
  const err = await rejection(
    conn.sobject('Account').create({ Name: 'Forged', LastModifiedById: emulator.userId }),
  );
  assert.is(err.errorCode, 'INVALID_FIELD_FOR_INSERT_UPDATE');
});

test('the person user and the stamps survive a restart with the same dataDir', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sf-emulator-person-'));
  try {
    const first = await startSalesforceEmulator({ dataDir });
    let personUserId: string;
    try {
      const c = await clientCredentialsConnection(first);
      const { id } = await c.sobject('Account').create({ Name: 'Durable', Rtws_Id__c: 'p-1' });
      first.editAsPerson('Account', id!, { Phone: '2' });
      personUserId = first.personUserId;
    } finally {
      await first.close();
    }
    const second = await startSalesforceEmulator({ dataDir });
    try {
      assert.is(second.personUserId, personUserId);
      const [record] = second.records('Account');
      assert.is(record!.LastModifiedById, personUserId);
      assert.is(record!.CreatedById, second.userId);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
