import type { Connection } from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection, rawRest, rejection } from './connect.ts';
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

test('create answers 201 with an 18-character Account id', async () => {
  const res = await rawRest(conn, 'POST', '/sobjects/Account', { Name: 'Acme' });
  assert.is(res.status, 201);
  assert.is(res.headers.get('content-type'), 'application/json;charset=UTF-8');
  const body = (await res.json()) as { id: string; success: boolean; errors: unknown[] };
  assert.match(body.id, /^001[0-9A-Za-z]{12}[A-Z0-5]{3}$/);
  assert.is(body.id.slice(15), referenceChecksum(body.id.slice(0, 15)));
  assert.equal({ ...body, id: 'x' }, { id: 'x', success: true, errors: [] });
});

test('retrieve returns the record with attributes and system fields; ?fields= narrows it', async () => {
  const { id } = await conn
    .sobject('Account')
    .create({ Name: 'Globex', Phone: '555', Rtws_Id__c: 'cus-1', Rtws_Email__c: 'a@b.co' });
  const full = await conn.sobject('Account').retrieve(id!);
  assert.equal(full.attributes, {
    type: 'Account',
    url: `/services/data/v${conn.version}/sobjects/Account/${id}`,
  });
  assert.is(full.Name, 'Globex');
  assert.is(full.Rtws_Email__c, 'a@b.co');
  assert.is(full.IsDeleted, false);
  assert.match(String(full.CreatedDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  const narrow = await conn.sobject('Account').retrieve(id!, { fields: ['Name', 'Phone'] });
  assert.equal(Object.keys(narrow).sort(), ['Id', 'Name', 'Phone', 'attributes']);
});

test('update is a 204 that changes only the given fields; delete is a 204', async () => {
  const { id } = await conn
    .sobject('Contact')
    .create({ LastName: 'Lovelace', FirstName: 'Ada', Email: 'ada@example.com' });
  const res = await rawRest(conn, 'PATCH', `/sobjects/Contact/${id}`, { Phone: '123' });
  assert.is(res.status, 204);
  const updated = await conn.sobject('Contact').update({ Id: id!, FirstName: 'Augusta' });
  assert.equal(updated, { id, success: true, errors: [] });
  const record = await conn.sobject('Contact').retrieve(id!);
  assert.is(record.FirstName, 'Augusta');
  assert.is(record.Phone, '123');
  assert.is(record.Email, 'ada@example.com');
  assert.ok(String(record.LastModifiedDate) > String(record.CreatedDate));
  const del = await rawRest(conn, 'DELETE', `/sobjects/Contact/${id}`);
  assert.is(del.status, 204);
});

test('a 15-character id is accepted on input, and an 18-character one in any case', async () => {
  const { id } = await conn.sobject('Account').create({ Name: 'Case' });
  const short = await conn.sobject('Account').retrieve(id!.slice(0, 15));
  assert.is(short.Id, id);
  const lower = await conn.sobject('Account').retrieve(id!.toLowerCase());
  assert.is(lower.Id, id);
});

test('Contact.AccountId must name a live Account', async () => {
  const { id: accountId } = await conn.sobject('Account').create({ Name: 'Parent' });
  const { id } = await conn
    .sobject('Contact')
    .create({ LastName: 'Child', AccountId: accountId!.slice(0, 15) });
  assert.is((await conn.sobject('Contact').retrieve(id!)).AccountId, accountId);
  const err = await rejection(
    conn.sobject('Contact').create({ LastName: 'Orphan', AccountId: id }),
  );
  assert.is(err.errorCode, 'FIELD_INTEGRITY_EXCEPTION');
});

test('REQUIRED_FIELD_MISSING names the fields', async () => {
  const err = await rejection(conn.sobject('Account').create({ Phone: '1' }));
  assert.is(err.errorCode, 'REQUIRED_FIELD_MISSING');
  assert.equal((err.data as { fields: string[] }).fields, ['Name']);
  const { id } = await conn.sobject('Contact').create({ LastName: 'Keep' });
  const nulled = await rejection(conn.sobject('Contact').update({ Id: id!, LastName: '' }));
  assert.is(nulled.errorCode, 'REQUIRED_FIELD_MISSING');
});

test('DUPLICATE_VALUE on a second record with the same Rtws_Id__c; the id is case-sensitive', async () => {
  await conn.sobject('Account').create({ Name: 'One', Rtws_Id__c: 'dup-1' });
  const err = await rejection(conn.sobject('Account').create({ Name: 'Two', Rtws_Id__c: 'dup-1' }));
  assert.is(err.errorCode, 'DUPLICATE_VALUE');
  assert.match(err.message, /Rtws_Id__c duplicates value on record with id: 001/);
  const other = await conn.sobject('Account').create({ Name: 'Three', Rtws_Id__c: 'DUP-1' });
  assert.ok(other.success);
});

test('INVALID_FIELD for an unknown column; read-only fields cannot be written', async () => {
  const err = await rejection(conn.sobject('Account').create({ Name: 'x', Nope__c: 1 }));
  assert.is(err.errorCode, 'INVALID_FIELD');
  const readOnly = await rejection(
    conn.sobject('Account').create({ Name: 'x', CreatedDate: '2020-01-01T00:00:00.000+0000' }),
  );
  assert.is(readOnly.errorCode, 'INVALID_FIELD_FOR_INSERT_UPDATE');
});

test('NOT_FOUND for an unknown id and an unknown type; ENTITY_IS_DELETED once deleted', async () => {
  const missing = await rejection(conn.sobject('Account').retrieve('001Hs0000000000AAA'));
  assert.is(missing.errorCode, 'NOT_FOUND');
  const badType = await rawRest(conn, 'GET', '/sobjects/Opportunity/describe');
  assert.is(badType.status, 404);
  const { id } = await conn.sobject('Account').create({ Name: 'Doomed' });
  await conn.sobject('Account').destroy(id!);
  const update = await rejection(conn.sobject('Account').update({ Id: id!, Name: 'x' }));
  assert.is(update.errorCode, 'ENTITY_IS_DELETED');
  const again = await rawRest(conn, 'DELETE', `/sobjects/Account/${id}`);
  assert.is(again.status, 404);
  assert.equal(
    ((await again.json()) as { errorCode: string }[])[0]!.errorCode,
    'ENTITY_IS_DELETED',
  );
});

test('describe lists fields with their flags; describeGlobal and limits answer', async () => {
  const describe = await conn.sobject('Account').describe();
  const ext = describe.fields.find((f) => f.name === 'Rtws_Id__c')!;
  assert.equal(
    [ext.externalId, ext.unique, ext.nillable, ext.createable, ext.updateable, ext.type],
    [true, true, true, true, true, 'string'],
  );
  const name = describe.fields.find((f) => f.name === 'Name')!;
  assert.is(name.nillable, false);
  assert.is(describe.keyPrefix, '001');
  const global = await conn.describeGlobal();
  assert.equal(
    global.sobjects.map((s) => s.name),
    ['Account', 'Contact'],
  );
  const limits = await conn.request<{ DailyApiRequests: { Max: number; Remaining: number } }>(
    '/limits',
  );
  assert.is(limits.DailyApiRequests.Max, 100000);
  assert.ok(limits.DailyApiRequests.Remaining < 100000);
});

test('every REST response carries Sforce-Limit-Info, and jsforce reads it into limitInfo', async () => {
  const before = emulator.apiCalls();
  await conn.sobject('Account').create({ Name: 'Counted' });
  assert.equal(conn.limitInfo.apiUsage, { used: before + 1, limit: 100000 });
  const res = await rawRest(conn, 'GET', '/sobjects/Account/001Hs0000000000AAA');
  assert.is(res.headers.get('sforce-limit-info'), `api-usage=${before + 2}/100000`);
});

test('GET /services/data/ lists versions, and any vNN.N is served', async () => {
  const res = await fetch(`${emulator.loginUrl}/services/data/`);
  const versions = (await res.json()) as { version: string; url: string }[];
  assert.ok(versions.some((v) => v.version === '50.0' && v.url === '/services/data/v50.0'));
  const old = await fetch(`${emulator.loginUrl}/services/data/v31.0/sobjects`, {
    headers: { Authorization: `Bearer ${conn.accessToken}` },
  });
  assert.is(old.status, 200);
});

test.run();
