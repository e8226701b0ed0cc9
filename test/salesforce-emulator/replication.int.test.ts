// Replication by polling with jsforce: `sobject(type).updated(start, end)` and `.deleted(...)`,
// their window rules, and a delete log that forgets.
import type { Connection } from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection, rawRest, rejection } from './connect.ts';

let emulator: SalesforceEmulator;
let conn: Connection;

test.before(async () => {
  try {
    emulator = await startSalesforceEmulator();
    conn = await clientCredentialsConnection(emulator, { version: '62.0' });
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

const MINUTE = 60_000;
const ago = (ms: number): Date => new Date(Date.now() - ms);
const soon = (): Date => new Date(Date.now() + 2 * MINUTE);
const minuteOf = (ms: number): string =>
  new Date(Math.floor(ms / MINUTE) * MINUTE).toISOString().replace('Z', '+0000');

function control(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${emulator.loginUrl}/_emulator${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

test('updated: the ids changed in the window, by SystemModstamp, to the minute', async () => {
  const [a, b] = await conn.sobject('Account').create([{ Name: 'A' }, { Name: 'B' }]);
  const gone = await conn.sobject('Account').create({ Name: 'Deleted' });
  await conn.sobject('Account').destroy(gone.id!);
  await conn.sobject('Contact').create({ LastName: 'Other type' });
  emulator.editAsPerson('Account', b!.id!, { Phone: '1' });
  const before = Date.now();
  const result = await conn.sobject('Account').updated(ago(10 * MINUTE), soon());
  assert.equal([...result.ids].sort(), [a!.id, b!.id].sort());
  assert.ok(
    [minuteOf(before), minuteOf(Date.now())].includes(result.latestDateCovered),
    'no later than now: more may still come',
  );
  const end = ago(10 * MINUTE);
  const earlier = await conn.sobject('Account').updated(ago(20 * MINUTE), end);
  assert.equal(earlier, { ids: [], latestDateCovered: minuteOf(end.getTime()) });
});

test('deleted: the recycle bin with deletion times, through the API or by a person', async () => {
  const [a, b, kept] = await conn
    .sobject('Account')
    .create([{ Name: 'A' }, { Name: 'B' }, { Name: 'Kept' }]);
  await conn.sobject('Account').destroy(a!.id!);
  emulator.deleteAsPerson('Account', b!.id!);
  const result = await conn.sobject('Account').deleted(ago(10 * MINUTE), soon());
  const binned = await conn.query<{ Id: string; SystemModstamp: string }>(
    'SELECT Id, SystemModstamp FROM Account WHERE IsDeleted = true',
    { scanAll: true },
  );
  assert.equal(
    [...result.deletedRecords].sort((x, y) => x.id.localeCompare(y.id)),
    binned.records
      .map((r) => ({ id: r.Id, deletedDate: r.SystemModstamp }))
      .sort((x, y) => x.id.localeCompare(y.id)),
  );
  assert.not.ok(result.deletedRecords.some((d) => d.id === kept!.id));
  assert.ok(Date.parse(result.earliestDateAvailable) <= Date.now() - 14 * 24 * 60 * MINUTE);
  assert.match(result.latestDateCovered, /:00\.000\+0000$/);
  assert.equal(await conn.sobject('Contact').deleted(ago(MINUTE * 10), soon()), {
    deletedRecords: [],
    earliestDateAvailable: result.earliestDateAvailable,
    latestDateCovered: result.latestDateCovered,
  });
});

test('bad windows are refused with INVALID_REPLICATION_DATE, as Salesforce refuses them', async () => {
  const now = Date.now();
  const cases: [string, Promise<unknown>][] = [
    ['end before start', conn.sobject('Account').updated(ago(0), ago(10 * MINUTE))],
    [
      'within one minute',
      conn
        .sobject('Account')
        .deleted(
          new Date(Math.floor(now / MINUTE) * MINUTE),
          new Date(Math.floor(now / MINUTE) * MINUTE + 30_000),
        ),
    ],
    ['updated beyond 30 days', conn.sobject('Account').updated(ago(31 * 24 * 60 * MINUTE), soon())],
    ['deleted beyond 15 days', conn.sobject('Account').deleted(ago(16 * 24 * 60 * MINUTE), soon())],
  ];
  for (const [label, call] of cases) {
    const err = await rejection(call);
    assert.is(err.errorCode, 'INVALID_REPLICATION_DATE', label);
  }
  const missing = await rawRest(
    conn,
    'GET',
    '/sobjects/Account/updated/?start=2024-01-01T00:00:00Z',
  );
  assert.is(missing.status, 400);
  assert.is(((await missing.json()) as { errorCode: string }[])[0]!.errorCode, 'MISSING_ARGUMENT');
  const posted = await rawRest(conn, 'POST', '/sobjects/Account/deleted/', {});
  assert.is(posted.status, 405);
});

test('forgotten deletions: a window from before them fails, and they leave queryAll', async () => {
  const { id } = await conn.sobject('Account').create({ Name: 'Soon forgotten' });
  await conn.sobject('Account').destroy(id!);
  const [binned] = emulator.records('Account', { includeDeleted: true });
  const deletedAt = Date.parse(String(binned!.SystemModstamp));
  const res = await control('POST', '/deleted/forget', {});
  assert.equal(await res.json(), { forgotten: 1 });
  const err = await rejection(conn.sobject('Account').deleted(ago(10 * MINUTE), soon()));
  assert.is(err.errorCode, 'INVALID_REPLICATION_DATE');
  const next = await conn.sobject('Account').deleted(new Date(Date.now() + MINUTE), soon());
  assert.equal(next.deletedRecords, []);
  const earliest = Date.parse(next.earliestDateAvailable);
  assert.ok(
    earliest > deletedAt && earliest <= deletedAt + MINUTE,
    'the minute after the deletion',
  );
  const all = await conn.query('SELECT Id FROM Account', { scanAll: true });
  assert.is(all.totalSize, 0);
  assert.throws(() => emulator.undeleteAsPerson('Account', id!), /does not exist/);
});

test('the retention control: deletions older than the retention are emptied', async () => {
  const { id } = await conn.sobject('Account').create({ Name: 'Kept briefly' });
  await conn.sobject('Account').destroy(id!);
  assert.is((await control('POST', '/deleted/retention', { retentionMs: 0 })).status, 200);
  try {
    const err = await rejection(conn.sobject('Account').deleted(ago(10 * MINUTE), soon()));
    assert.is(err.errorCode, 'INVALID_REPLICATION_DATE');
    assert.equal(emulator.records('Account', { includeDeleted: true }), []);
  } finally {
    emulator.setDeletedRetention(15 * 24 * 60 * MINUTE);
  }
});

test('each call counts once, as sobject.updated or sobject.deleted', async () => {
  await conn.sobject('Account').updated(ago(10 * MINUTE), soon());
  await conn.sobject('Contact').deleted(ago(10 * MINUTE), soon());
  await rejection(conn.sobject('Contact').deleted(ago(0), ago(10 * MINUTE)));
  assert.equal(emulator.stats().callsByEndpoint, { 'sobject.updated': 1, 'sobject.deleted': 2 });
});

test('describe reports what a field map needs per field, as Salesforce does', async () => {
  const describe = await conn.sobject('Account').describe();
  const field = (name: string) => {
    const f = describe.fields.find((x) => x.name === name)!;
    return {
      type: f.type,
      externalId: f.externalId,
      unique: f.unique,
      createable: f.createable,
      updateable: f.updateable,
      nillable: f.nillable,
    };
  };
  assert.equal(field('Id'), {
    type: 'id',
    externalId: false,
    unique: false,
    createable: false,
    updateable: false,
    nillable: false,
  });
  assert.equal(field('Name'), {
    type: 'string',
    externalId: false,
    unique: false,
    createable: true,
    updateable: true,
    nillable: false,
  });
  assert.equal(field('Rtws_Id__c'), {
    type: 'string',
    externalId: true,
    unique: true,
    createable: true,
    updateable: true,
    nillable: true,
  });
  assert.equal(field('Legacy_Id__c').unique, false);
  assert.equal(field('Rtws_Email__c').type, 'email');
  assert.equal(field('SystemModstamp'), {
    type: 'datetime',
    externalId: false,
    unique: false,
    createable: false,
    updateable: false,
    nillable: false,
  });
});

test.run();
