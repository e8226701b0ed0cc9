// A person's creates and undeletes, and `as_user` on every person endpoint: records made and
// restored in Salesforce's UI under another user than the integration user.
import type { Connection } from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection, rejection } from './connect.ts';

let emulator: SalesforceEmulator;
let conn: Connection;

test.before(async () => {
  try {
    emulator = await startSalesforceEmulator();
    conn = await clientCredentialsConnection(emulator);
  } catch (err) {
    console.error(err);
    throw err;
  }
});

test.after(async () => {
  await emulator?.close();
});

test.before.each(() => {
  emulator.reset();
});

const someone = '005000000000077AAA';

async function control(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${emulator.loginUrl}/_emulator${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('POST /_emulator/records/{type}: a person creates a record, 201 with every field', async () => {
  const calls = emulator.apiCalls();
  const created = await control('POST', '/records/Account', {
    fields: { Name: 'Made in the UI', Rtws_Id__c: 'ui-1' },
    as_user: someone,
  });
  assert.is(created.status, 201);
  assert.is(created.body.CreatedById, someone);
  assert.is(created.body.LastModifiedById, someone);
  assert.is(created.body.IsDeleted, false);
  const record = await conn.sobject('Account').retrieve(String(created.body.Id));
  assert.is(record.Name, 'Made in the UI');
  assert.is(record.CreatedById, someone);
  assert.is(emulator.apiCalls(), calls + 1, 'only the retrieve was an API call');

  const byDefault = emulator.createAsPerson('Contact', { LastName: 'Default person' });
  assert.is(byDefault.CreatedById, emulator.personUserId);
  const legacy = await control('POST', '/records/Contact', {
    fields: { LastName: 'Named by userId' },
    userId: someone,
  });
  assert.is(legacy.body.CreatedById, someone);
});

test('a person create is validated as an API create, and changes nothing when refused', async () => {
  const cases: [unknown, string][] = [
    [{ fields: { Phone: '1' } }, 'REQUIRED_FIELD_MISSING'],
    [{ fields: { Name: 'x', Nope__c: 1 } }, 'INVALID_FIELD'],
    [{ fields: { Name: 'x', CreatedById: someone } }, 'INVALID_FIELD_FOR_INSERT_UPDATE'],
    [{ fields: { Name: 'x' }, as_user: '001000000000001AAA' }, 'INVALID_REQUEST'],
    [{ Name: 'no fields wrapper' }, 'INVALID_REQUEST'],
  ];
  for (const [body, error] of cases) {
    const res = await control('POST', '/records/Account', body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.is(res.body.error, error, JSON.stringify(body));
  }
  await conn.sobject('Account').create({ Name: 'Taken', Rtws_Id__c: 'dup' });
  const duplicate = await control('POST', '/records/Account', {
    fields: { Name: 'Again', Rtws_Id__c: 'dup' },
  });
  assert.is(duplicate.body.error, 'DUPLICATE_VALUE');
  assert.is(emulator.records('Account').length, 1);
});

test('as_user on PATCH (body) and DELETE (query) names the person who changed the record', async () => {
  const { id } = await conn.sobject('Account').create({ Name: 'Shared', Rtws_Id__c: 'as-1' });
  const edited = await control('PATCH', '/records/Account/Rtws_Id__c/as-1', {
    fields: { Phone: '2' },
    as_user: someone,
  });
  assert.is(edited.body.LastModifiedById, someone);
  const deleted = await control(
    'DELETE',
    `/records/Account/${id}?as_user=${emulator.personUserId}`,
  );
  assert.is(deleted.status, 200);
  assert.is(deleted.body.IsDeleted, true);
  assert.is(deleted.body.LastModifiedById, emulator.personUserId);
});

test('undelete: the record is live again, stamped by the person, its external id claimed', async () => {
  const { id } = await conn.sobject('Account').create({ Name: 'Back again', Rtws_Id__c: 'u-1' });
  await conn.sobject('Account').destroy(id!);
  const restored = await control('POST', `/records/Account/${id}/undelete`, { as_user: someone });
  assert.is(restored.status, 200);
  assert.is(restored.body.IsDeleted, false);
  assert.is(restored.body.LastModifiedById, someone);
  const live = await conn.sobject('Account').retrieve(id!);
  assert.is(live.Rtws_Id__c, 'u-1');
  const upsert = await conn
    .sobject('Account')
    .upsert({ Rtws_Id__c: 'u-1', Name: 'Matched' }, 'Rtws_Id__c');
  assert.is((upsert as { created: boolean }).created, false, 'the upsert finds it again');

  const again = await control('POST', `/records/Account/${id}/undelete`, {});
  assert.is(again.status, 400);
  assert.is(again.body.error, 'UNDELETE_FAILED');
});

test('an undelete whose external id was taken meanwhile fails with DUPLICATE_VALUE', async () => {
  const { id } = await conn.sobject('Account').create({ Name: 'First', Rtws_Id__c: 'u-2' });
  await conn.sobject('Account').destroy(id!);
  await conn.sobject('Account').create({ Name: 'Second', Rtws_Id__c: 'u-2' });
  assert.throws(() => emulator.undeleteAsPerson('Account', id!), /duplicate value found/);
  const err = await rejection(conn.sobject('Account').retrieve(id!));
  assert.is(err.errorCode, 'ENTITY_IS_DELETED', 'still in the recycle bin');
  const unknown = await control('POST', '/records/Account/001000000000000AAA/undelete', {});
  assert.is(unknown.status, 404);
});

test.run();
