import type { Connection } from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection, rawRest, rejection } from './connect.ts';

let emulator: SalesforceEmulator;
let conn: Connection;

test.before(async () => {
  emulator = await startSalesforceEmulator({ dailyApiLimit: 5000 });
  conn = await clientCredentialsConnection(emulator, { callOptions: { client: 'rtws' } });
});

test.after(async () => {
  await emulator?.close();
});

function control(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${emulator.loginUrl}/_emulator${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

test('Sforce-Call-Options: client=rtws is recorded for every call of a connection with callOptions', async () => {
  emulator.reset();
  await conn.sobject('Account').create({ Name: 'Tagged' });
  await conn.query('SELECT Id FROM Account');
  const plain = await clientCredentialsConnection(emulator);
  await plain.sobject('Account').create({ Name: 'Untagged' });
  const stats = emulator.stats();
  assert.equal(stats.callOptions, { 'client=rtws': 2, '': 1 });
  assert.is(stats.apiCalls, 3);
  assert.equal(stats.callsByEndpoint, { 'sobject.create': 2, query: 1 });
});

test('the quota hook: REQUEST_LIMIT_EXCEEDED (403) until restored', async () => {
  emulator.exhaustQuota();
  const err = await rejection(conn.sobject('Account').create({ Name: 'Over budget' }));
  assert.is(err.errorCode, 'REQUEST_LIMIT_EXCEEDED');
  const res = await rawRest(conn, 'GET', '/limits');
  assert.is(res.status, 403);
  assert.is(res.headers.get('sforce-limit-info'), `api-usage=5000/5000`);
  emulator.restoreQuota();
  assert.ok((await conn.sobject('Account').create({ Name: 'Within budget' })).success);
});

test('a daily limit that is really used up refuses calls too', async () => {
  emulator.reset();
  emulator.setDailyApiLimit(2);
  await conn.sobject('Account').create({ Name: 'One' });
  await conn.sobject('Account').create({ Name: 'Two' });
  const err = await rejection(conn.sobject('Account').create({ Name: 'Three' }));
  assert.is(err.errorCode, 'REQUEST_LIMIT_EXCEEDED');
  emulator.setDailyApiLimit(5000);
});

test("the org's usage, as other clients spend it, set over HTTP", async () => {
  emulator.reset();
  await conn.sobject('Account').create({ Name: 'Before' });
  assert.is((await control('POST', '/quota/usage', { apiCalls: 4990 })).status, 200);
  const res = await rawRest(conn, 'GET', '/limits');
  assert.is(res.headers.get('sforce-limit-info'), 'api-usage=4991/5000');
  assert.equal(emulator.stats().callsByEndpoint, { 'sobject.create': 1, limits: 1 });
  await control('POST', '/quota/usage', { apiCalls: 5000 });
  const err = await rejection(conn.sobject('Account').create({ Name: 'Over' }));
  assert.is(err.errorCode, 'REQUEST_LIMIT_EXCEEDED');
  emulator.setApiUsage(10);
  await conn.sobject('Account').create({ Name: 'Again' });
  assert.equal(conn.limitInfo.apiUsage, { used: 11, limit: 5000 }, 'what jsforce reads');
  assert.is((await control('POST', '/quota/usage', { apiCalls: -1 })).status, 400);
  assert.is((await control('POST', '/quota/usage', {})).status, 400);
});

test('the fault hook: UNABLE_TO_LOCK_ROW for the next matching request only', async () => {
  emulator.injectFault({
    method: 'PATCH',
    path: '/composite/sobjects/Account/Rtws_Id__c',
    errorCode: 'UNABLE_TO_LOCK_ROW',
  });
  const other = await conn.sobject('Account').create({ Name: 'Unaffected' });
  assert.ok(other.success);
  const batch = [{ Rtws_Id__c: 'lock-1', Name: 'Locked' }];
  const err = await rejection(conn.sobject('Account').upsert(batch, 'Rtws_Id__c'));
  assert.is(err.errorCode, 'UNABLE_TO_LOCK_ROW');
  assert.is(
    emulator.records('Account').filter((r) => r.Rtws_Id__c === 'lock-1').length,
    0,
    'nothing was written',
  );
  const retried = (await conn.sobject('Account').upsert(batch, 'Rtws_Id__c')) as {
    success: boolean;
  }[];
  assert.ok(retried[0]!.success);
});

test('faults over HTTP: 503 for two requests, with a chosen code', async () => {
  const added = await control('POST', '/faults', {
    path: '/sobjects/Contact',
    count: 2,
    status: 503,
    errorCode: 'SERVER_UNAVAILABLE',
  });
  assert.is(added.status, 200);
  for (let i = 0; i < 2; i++) {
    const res = await rawRest(conn, 'POST', '/sobjects/Contact', { LastName: 'Retry' });
    assert.is(res.status, 503);
    assert.is(((await res.json()) as { errorCode: string }[])[0]!.errorCode, 'SERVER_UNAVAILABLE');
  }
  assert.ok((await conn.sobject('Contact').create({ LastName: 'Through' })).success);
  await control('POST', '/faults', { count: 5 });
  assert.is(emulator.stats().pendingFaults, 5);
  assert.is((await control('DELETE', '/faults')).status, 200);
  assert.is(emulator.stats().pendingFaults, 0);
  assert.is((await control('POST', '/faults', { path: '(' })).status, 400);
});

test('expire tokens, exhaust and restore quota, stats, records and reset over HTTP', async () => {
  await control('POST', '/tokens/expire');
  const stale = await fetch(`${emulator.loginUrl}/services/data/v50.0/limits`, {
    headers: { Authorization: `Bearer ${conn.accessToken}` },
  });
  assert.is(stale.status, 401);
  await conn.sobject('Account').create({ Name: 'After re-auth' });
  await control('POST', '/quota/exhaust');
  assert.is((await rawRest(conn, 'GET', '/limits')).status, 403);
  await control('POST', '/quota/restore');
  assert.is((await rawRest(conn, 'GET', '/limits')).status, 200);
  const stats = (await (await control('GET', '/stats')).json()) as {
    apiCalls: number;
    callOptions: Record<string, number>;
  };
  assert.ok(stats.apiCalls > 0);
  assert.ok(stats.callOptions['client=rtws']! > 0);
  const records = (await (await control('GET', '/records/Account')).json()) as { Name: string }[];
  assert.ok(records.some((r) => r.Name === 'After re-auth'));
  assert.is((await control('POST', '/reset')).status, 200);
  assert.equal(emulator.records('Account'), []);
  assert.is(emulator.apiCalls(), 0);
  assert.is((await control('GET', '/nothing-here')).status, 404);
});

test.run();
