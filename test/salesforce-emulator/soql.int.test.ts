import type { Connection } from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection, rawRest, rejection } from './connect.ts';

let emulator: SalesforceEmulator;
let conn: Connection;

const people = [
  {
    LastName: 'Turing',
    FirstName: 'Alan',
    Email: 'alan@example.com',
    MailingCity: 'London',
    Rtws_Id__c: 'p1',
  },
  {
    LastName: 'Hopper',
    FirstName: 'Grace',
    Email: 'grace@example.com',
    MailingCity: 'New York',
    Rtws_Id__c: 'p2',
  },
  { LastName: 'Lovelace', FirstName: 'Ada', Email: null, MailingCity: 'London', Rtws_Id__c: 'p3' },
  {
    LastName: "O'Neil",
    FirstName: 'Cathy',
    Email: 'cathy@example.com',
    MailingCity: null,
    Rtws_Id__c: 'p4',
  },
];

test.before(async () => {
  emulator = await startSalesforceEmulator({ queryBatchSize: 50 });
  conn = await clientCredentialsConnection(emulator);
  await conn.sobject('Contact').create(people);
});

test.after(async () => {
  await emulator?.close();
});

const names = (records: readonly object[]): unknown[] =>
  records.map((r) => (r as { LastName?: unknown }).LastName);

test('WHERE with =, AND, OR in parentheses, and ORDER BY', async () => {
  const london = await conn.query<{ LastName: string }>(
    "SELECT Id, LastName FROM Contact WHERE MailingCity = 'london' ORDER BY LastName",
  );
  assert.equal(names(london.records), ['Lovelace', 'Turing']);
  assert.is(london.totalSize, 2);
  assert.is(london.done, true);
  assert.equal(Object.keys(london.records[0]!), ['attributes', 'Id', 'LastName']);
  const mixed = await conn.query(
    "SELECT LastName FROM Contact WHERE (MailingCity = 'London' AND FirstName = 'Ada') OR LastName = 'Hopper' ORDER BY LastName DESC",
  );
  assert.equal(names(mixed.records), ['Lovelace', 'Hopper']);
});

test('string escapes, LIKE, IN, NOT IN, != and null', async () => {
  const quoted = await conn.query("SELECT LastName FROM Contact WHERE LastName = 'O\\'Neil'");
  assert.equal(names(quoted.records), ["O'Neil"]);
  const like = await conn.query(
    "SELECT LastName FROM Contact WHERE Email LIKE '%@example.com' ORDER BY LastName",
  );
  assert.equal(names(like.records), ['Hopper', "O'Neil", 'Turing']);
  const within = await conn.query(
    "SELECT LastName FROM Contact WHERE Rtws_Id__c IN ('p1', 'p3') ORDER BY LastName",
  );
  assert.equal(names(within.records), ['Lovelace', 'Turing']);
  const outside = await conn.query(
    "SELECT LastName FROM Contact WHERE Rtws_Id__c NOT IN ('p1', 'p3') ORDER BY LastName",
  );
  assert.equal(names(outside.records), ['Hopper', "O'Neil"]);
  const noEmail = await conn.query('SELECT LastName FROM Contact WHERE Email = null');
  assert.equal(names(noEmail.records), ['Lovelace']);
  const notLondon = await conn.query(
    "SELECT LastName FROM Contact WHERE MailingCity != 'London' ORDER BY LastName",
  );
  assert.equal(names(notLondon.records), ['Hopper', "O'Neil"]);
});

test('ORDER BY puts nulls first ascending and last descending; LIMIT and OFFSET slice', async () => {
  const asc = await conn.query(
    'SELECT LastName FROM Contact ORDER BY MailingCity ASC, LastName ASC',
  );
  assert.equal(names(asc.records), ["O'Neil", 'Lovelace', 'Turing', 'Hopper']);
  const desc = await conn.query(
    'SELECT LastName FROM Contact ORDER BY MailingCity DESC, LastName ASC',
  );
  assert.equal(names(desc.records), ['Hopper', 'Lovelace', 'Turing', "O'Neil"]);
  const page = await conn.query('SELECT LastName FROM Contact ORDER BY LastName LIMIT 2 OFFSET 1');
  assert.equal(names(page.records), ['Lovelace', "O'Neil"]);
});

test('COUNT() answers totalSize with no records', async () => {
  const res = await rawRest(
    conn,
    'GET',
    `/query?q=${encodeURIComponent("SELECT COUNT() FROM Contact WHERE MailingCity = 'London'")}`,
  );
  assert.equal(await res.json(), { totalSize: 2, done: true, records: [] });
  assert.is(await conn.sobject('Contact').count({ MailingCity: 'London' }), 2);
});

test('find and findOne build SOQL the emulator understands', async () => {
  const found = await conn
    .sobject('Contact')
    .find({ MailingCity: 'London', FirstName: { $like: 'A%' } }, ['Id', 'LastName'], {
      sort: { LastName: -1 },
    });
  assert.equal(names(found), ['Turing', 'Lovelace']);
  const one = await conn.sobject('Contact').findOne({ Rtws_Id__c: 'p2' }, ['Email']);
  assert.is(one?.Email, 'grace@example.com');
  const none = await conn.sobject('Contact').findOne({ Rtws_Id__c: 'nobody' }, ['Id']);
  assert.is(none, null);
});

test('datetime literals compare with the system timestamps', async () => {
  const recent = await conn.query(
    `SELECT LastName FROM Contact WHERE CreatedDate > 2000-01-01T00:00:00Z`,
  );
  assert.is(recent.totalSize, 4);
  const future = await conn.query(
    `SELECT LastName FROM Contact WHERE SystemModstamp >= 2999-01-01T00:00:00.000+0000`,
  );
  assert.is(future.totalSize, 0);
});

test('queryAll includes deleted records with IsDeleted = true; query does not', async () => {
  const { id } = await conn.sobject('Contact').create({ LastName: 'Ephemeral' });
  await conn.sobject('Contact').destroy(id!);
  const live = await conn.query("SELECT Id FROM Contact WHERE LastName = 'Ephemeral'");
  assert.is(live.totalSize, 0);
  const all = await conn.query<{ Id: string; IsDeleted: boolean }>(
    "SELECT Id, IsDeleted FROM Contact WHERE LastName = 'Ephemeral'",
    { scanAll: true },
  );
  assert.equal(
    all.records.map((r) => [r.Id, r.IsDeleted]),
    [[id, true]],
  );
});

test('more rows than a batch come in pages behind nextRecordsUrl', async () => {
  await conn
    .sobject('Account')
    .create(
      Array.from({ length: 120 }, (_, i) => ({ Name: `Paged ${String(i).padStart(3, '0')}` })),
    );
  const first = await rawRest(
    conn,
    'GET',
    `/query?q=${encodeURIComponent('SELECT Name FROM Account ORDER BY Name')}`,
  );
  const page = (await first.json()) as {
    totalSize: number;
    done: boolean;
    nextRecordsUrl: string;
    records: unknown[];
  };
  assert.equal([page.totalSize, page.done, page.records.length], [120, false, 50]);
  assert.match(page.nextRecordsUrl, /^\/services\/data\/v\d+\.0\/query\/01g/);
  const all = await conn.query<{ Name: string }>('SELECT Name FROM Account ORDER BY Name', {
    autoFetch: true,
    maxFetch: 1000,
  });
  assert.is(all.records.length, 120);
  assert.is(all.records[119]!.Name, 'Paged 119');
});

test('Sforce-Query-Options batchSize sets the page size; a locator can be read twice', async () => {
  await conn
    .sobject('Account')
    .create(Array.from({ length: 130 }, (_, i) => ({ Name: `More ${i}` })));
  const res = await fetch(
    `${conn.instanceUrl}/services/data/v${conn.version}/query?q=${encodeURIComponent('SELECT Id FROM Account')}`,
    {
      headers: {
        Authorization: `Bearer ${conn.accessToken}`,
        'Sforce-Query-Options': 'batchSize=200',
      },
    },
  );
  const page = (await res.json()) as {
    totalSize: number;
    nextRecordsUrl: string;
    records: unknown[];
  };
  assert.equal([page.totalSize, page.records.length], [250, 200]);
  const read = async () =>
    (await (
      await fetch(`${conn.instanceUrl}${page.nextRecordsUrl}`, {
        headers: { Authorization: `Bearer ${conn.accessToken}` },
      })
    ).json()) as { done: boolean; records: { Id: string }[] };
  const once = await read();
  const twice = await read();
  assert.equal([once.done, once.records.length], [true, 50]);
  assert.equal(twice.records, once.records);
});

test('bad syntax is MALFORMED_QUERY; unknown fields and objects are refused', async () => {
  for (const soql of [
    'SELECT FROM Contact',
    "SELECT Id FROM Contact WHERE LastName = 'x' AND FirstName = 'y' OR Email = null",
    "SELECT Id FROM Contact WHERE LastName = 'open",
    'SELECT Id FROM Contact LIMIT x',
  ]) {
    const err = await rejection(conn.query(soql));
    assert.is(err.errorCode, 'MALFORMED_QUERY', soql);
  }
  const field = await rejection(conn.query('SELECT Nope__c FROM Contact'));
  assert.is(field.errorCode, 'INVALID_FIELD');
  const object = await rejection(conn.query('SELECT Id FROM Lead'));
  assert.is(object.errorCode, 'INVALID_TYPE');
  const typed = await rejection(
    conn.query("SELECT Id FROM Contact WHERE CreatedDate > '2020-01-01'"),
  );
  assert.is(typed.errorCode, 'INVALID_FIELD');
});

test.run();
