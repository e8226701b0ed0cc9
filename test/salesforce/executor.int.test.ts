// The Salesforce executor against the emulator, through jsforce: each intent, each failure class,
// a token that expires mid-burst, and the rule that a resent create never makes a second record.
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { salesforceConnection } from '../../adapters/salesforce/client.ts';
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

const test = salesforceSuite('Salesforce executor', 2_000);

test('create upserts by our id with the mapped fields; a resend finds the same record', async ({
  conn,
  emulator,
}) => {
  const first = await executeSalesforceIntent(conn, create('cust-1'), TARGET);
  const id = externalIdOf(first);
  const again = await executeSalesforceIntent(conn, create('cust-1'), TARGET);
  assert.is(externalIdOf(again), id);
  assert.is(await countByRtwsId(conn, 'cust-1'), 1);
  const [record, ...more] = emulator.records('Account');
  assert.equal(more, []);
  assert.is(record?.Id, id);
  assert.is(record?.Name, 'Ada Lovelace');
  assert.is(record?.Phone, '+44 20 7946 0000');
  assert.is(record?.BillingStreet, '12 St James Sq\nFloor 2');
  assert.is(record?.BillingCity, 'London');
  assert.is(record?.BillingState, null);
  assert.is(record?.BillingPostalCode, 'SW1Y 4JH');
  assert.is(record?.BillingCountry, 'GB');
  assert.is(record?.Rtws_Email__c, 'ada@example.com');
  assert.is(record?.Rtws_Id__c, 'cust-1');
});

test('update sends only the changed fields; null unsets; an edit made in Salesforce survives', async ({
  conn,
  emulator,
}) => {
  const id = externalIdOf(await executeSalesforceIntent(conn, create('cust-2'), TARGET));
  await conn.sobject('Account').update({ Id: id, Name: 'Edited in Salesforce' });
  const out = await executeSalesforceIntent(
    conn,
    work('cust-2', 'UpdateSalesforceAccount', {
      externalId: id,
      patch: { email: 'new@example.com', phone: null },
    }),
    TARGET,
  );
  assert.is(out.type, 'SalesforceAccountUpdated');
  const record = emulator.records('Account')[0];
  assert.is(record?.Name, 'Edited in Salesforce', 'the name was not in the patch');
  assert.is(record?.Rtws_Email__c, 'new@example.com');
  assert.is(record?.Phone, null);
  assert.is(record?.BillingCity, 'London');
});

test('an update goes to the linked record: deleted there, it is not_found and nothing is made', async ({
  conn,
  emulator,
}) => {
  const id = externalIdOf(await executeSalesforceIntent(conn, create('cust-gone'), TARGET));
  emulator.deleteAsPerson('Account', id);
  const update = work('cust-gone', 'UpdateSalesforceAccount', {
    externalId: id,
    patch: { name: 'Renamed in the catalogue' },
  });
  const out = failureOf(await executeSalesforceIntent(conn, update, TARGET));
  assert.is(out.failure, 'not_found');
  assert.match(out.reason, /ENTITY_IS_DELETED/);
  assert.is(await countByRtwsId(conn, 'cust-gone'), 0, 'no second record, holding the patch alone');
});

test('an update puts back our id that someone cleared in Salesforce, on the same record', async ({
  conn,
  emulator,
}) => {
  const id = externalIdOf(await executeSalesforceIntent(conn, create('cust-cleared'), TARGET));
  await conn.sobject('Account').update({ Id: id, Rtws_Id__c: null });
  const update = work('cust-cleared', 'UpdateSalesforceAccount', {
    externalId: id,
    patch: { name: 'Renamed in the catalogue' },
  });
  assert.is((await executeSalesforceIntent(conn, update, TARGET)).type, 'SalesforceAccountUpdated');
  const records = emulator.records('Account').filter((r) => r.Name === 'Renamed in the catalogue');
  assert.equal(
    records.map((r) => [r.Id, r.Rtws_Id__c]),
    [[id, 'cust-cleared']],
  );
});

test('an update of nothing Salesforce holds costs no call', async ({ conn, emulator }) => {
  const id = externalIdOf(await executeSalesforceIntent(conn, create('cust-3'), TARGET));
  const before = emulator.apiCalls();
  const out = await executeSalesforceIntent(
    conn,
    work('cust-3', 'UpdateSalesforceAccount', { externalId: id, patch: { metadata: { a: '1' } } }),
    TARGET,
  );
  assert.is(out.type, 'SalesforceAccountUpdated');
  assert.is(emulator.apiCalls(), before);
});

test('delete removes the record; a second delete reports not_found, which the actor takes as done', async ({
  conn,
}) => {
  const id = externalIdOf(await executeSalesforceIntent(conn, create('cust-4'), TARGET));
  const del = work('cust-4', 'DeleteSalesforceAccount', { externalId: id });
  assert.is((await executeSalesforceIntent(conn, del, TARGET)).type, 'SalesforceAccountDeleted');
  assert.is(await countByRtwsId(conn, 'cust-4'), 0);
  const again = failureOf(await executeSalesforceIntent(conn, del, TARGET));
  assert.is(again.failure, 'not_found');
  assert.match(again.reason, /ENTITY_IS_DELETED|NOT_FOUND/);
});

test('find by our id: the record and its canonical fields, or not found', async ({ conn }) => {
  const id = externalIdOf(await executeSalesforceIntent(conn, create('cust-5'), TARGET));
  const found = await executeSalesforceIntent(
    conn,
    work('cust-5', 'FindSalesforceAccount', { rtwsId: 'cust-5', createdSince: 0 }),
    TARGET,
  );
  assert.is(found.type, 'SalesforceAccountFound');
  const { externalId, fields } = (
    found as Extract<typeof found, { type: 'SalesforceAccountFound' }>
  ).data;
  assert.is(externalId, id);
  assert.equal(fields, {
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    phone: '+44 20 7946 0000',
    address: {
      line1: '12 St James Sq',
      line2: 'Floor 2',
      city: 'London',
      state: null,
      postal_code: 'SW1Y 4JH',
      country: 'GB',
    },
    metadata: {},
  });
  const missing = await executeSalesforceIntent(
    conn,
    work('nobody', 'FindSalesforceAccount', { rtwsId: "o'brien", createdSince: 0 }),
    TARGET,
  );
  assert.is(missing.type, 'SalesforceAccountNotFound');
});

test('UNABLE_TO_LOCK_ROW and a 503 are transient; resending the create makes no duplicate', async ({
  conn,
  emulator,
}) => {
  emulator.injectFault({ method: 'PATCH', path: 'Rtws_Id__c' });
  emulator.injectFault({ method: 'PATCH', path: 'Rtws_Id__c', errorCode: 'SERVER_UNAVAILABLE' });
  const first = failureOf(await executeSalesforceIntent(conn, create('cust-6'), TARGET));
  assert.is(first.failure, 'transient');
  assert.match(first.reason, /UNABLE_TO_LOCK_ROW/);
  const second = failureOf(await executeSalesforceIntent(conn, create('cust-6'), TARGET));
  assert.is(second.failure, 'transient');
  externalIdOf(await executeSalesforceIntent(conn, create('cust-6'), TARGET));
  externalIdOf(await executeSalesforceIntent(conn, create('cust-6'), TARGET));
  assert.is(await countByRtwsId(conn, 'cust-6'), 1);
});

test("a create refused as a duplicate of our own id (another try ran at once) is sent again; another field's is permanent", async ({
  conn,
  emulator,
}) => {
  // The other try's record is made, and this one is told its id is taken.
  emulator.injectFault({
    method: 'PATCH',
    path: 'Rtws_Id__c',
    status: 400,
    errorCode: 'DUPLICATE_VALUE',
    message: 'duplicate value found: Rtws_Id__c duplicates value on record with id: 001',
    phase: 'after',
  });
  const raced = failureOf(await executeSalesforceIntent(conn, create('cust-raced'), TARGET));
  assert.is(raced.failure, 'transient');
  assert.match(raced.reason, /^DUPLICATE_VALUE/);
  const made = externalIdOf(await executeSalesforceIntent(conn, create('cust-raced'), TARGET));
  assert.is(await countByRtwsId(conn, 'cust-raced'), 1);
  assert.ok(made);
  emulator.injectFault({
    method: 'PATCH',
    path: 'Rtws_Id__c',
    status: 400,
    errorCode: 'DUPLICATE_VALUE',
    message: 'duplicate value found: Tax_Number__c duplicates value on record with id: 001',
  });
  const other = failureOf(await executeSalesforceIntent(conn, create('cust-taxed'), TARGET));
  assert.is(other.failure, 'permanent');
});

test('jsforce never retries on its own, not even a 503 on a DELETE', async ({ conn, emulator }) => {
  const id = externalIdOf(await executeSalesforceIntent(conn, create('cust-r'), TARGET));
  emulator.injectFault({ method: 'DELETE', errorCode: 'SERVER_UNAVAILABLE', count: 3 });
  const del = work('cust-r', 'DeleteSalesforceAccount', { externalId: id });
  assert.is(failureOf(await executeSalesforceIntent(conn, del, TARGET)).failure, 'transient');
  assert.is(emulator.stats().pendingFaults, 2, 'one request, one fault used');
});

test('a spent quota is rate_limited (the target pauses); restored, the same intent goes through', async ({
  conn,
  emulator,
}) => {
  emulator.exhaustQuota();
  const paused = failureOf(await executeSalesforceIntent(conn, create('cust-7'), TARGET));
  assert.is(paused.failure, 'rate_limited');
  assert.match(paused.reason, /REQUEST_LIMIT_EXCEEDED/);
  emulator.restoreQuota();
  externalIdOf(await executeSalesforceIntent(conn, create('cust-7'), TARGET));
});

test("a request Salesforce rejects is permanent, with Salesforce's message", async ({ conn }) => {
  // A create under a field map that leaves out the record's required name.
  const out = failureOf(
    await executeSalesforceIntent(conn, create('cust-8'), {
      ...TARGET,
      fieldMap: { Phone: 'phone' },
    }),
  );
  assert.is(out.failure, 'permanent');
  assert.match(out.reason, /^REQUIRED_FIELD_MISSING: .*Name/);
  const bad = failureOf(
    await executeSalesforceIntent(conn, create('cust-9'), {
      ...TARGET,
      fieldMap: { Name: 'name', Not_A_Field__c: 'phone' },
    }),
  );
  assert.is(bad.failure, 'permanent');
  assert.match(bad.reason, /INVALID_FIELD/);
});

test('a token that expires mid-burst is renewed transparently; nothing is lost', async ({
  conn,
  emulator,
}) => {
  const ids = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
  const tokenBefore = conn.accessToken;
  const outcomes = [];
  // Waves of six in flight; the session ends between the second and the third.
  for (let wave = 0; wave < 5; wave++) {
    if (wave === 2) emulator.expireTokens();
    const batch = ids.slice(wave * 6, wave * 6 + 6);
    outcomes.push(
      ...(await Promise.all(batch.map((id) => executeSalesforceIntent(conn, create(id), TARGET)))),
    );
  }
  assert.is.not(conn.accessToken, tokenBefore, 'the grant ran again');
  assert.equal(
    outcomes.filter((o) => o.type !== 'SalesforceAccountCreated'),
    [],
  );
  emulator.expireTokens();
  const later = await executeSalesforceIntent(conn, create('after-expiry'), TARGET);
  assert.is(later.type, 'SalesforceAccountCreated');
  assert.is(emulator.records('Account').length, ids.length + 1);
});

test('every call carries Sforce-Call-Options: client=rtws', async ({ conn, emulator }) => {
  await executeSalesforceIntent(conn, create('tagged'), TARGET);
  await executeSalesforceIntent(
    conn,
    work('tagged', 'FindSalesforceAccount', { rtwsId: 'tagged', createdSince: 0 }),
    TARGET,
  );
  const { callOptions, apiCalls } = emulator.stats();
  assert.ok(apiCalls >= 2);
  assert.equal(callOptions, { 'client=rtws': apiCalls });
});

test('a call that outlasts the timeout is transient', async ({ emulator }) => {
  let received = 0;
  const silent = createServer(() => {
    received++;
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const conn = salesforceConnection({
      loginUrl: emulator.loginUrl,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      timeoutMs: 200,
    });
    conn.instanceUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    conn.accessToken = 'unused';
    const del = work('slow', 'DeleteSalesforceAccount', { externalId: '001000000000001AAA' });
    const out = failureOf(await executeSalesforceIntent(conn, del, TARGET));
    assert.is(out.failure, 'transient');
    assert.is(received, 1);
  } finally {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test.run();
