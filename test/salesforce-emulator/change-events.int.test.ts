// Change Data Capture over the Streaming API, received with jsforce's own faye client: what each
// kind of write publishes, who it names as origin and user, and how one call is one transaction.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fieldsOf, header, Inbox, streamingScenario } from './streaming.ts';

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

test('an API upsert reaches a topic subscriber as CREATE, then UPDATE, naming client=rtws', () =>
  streamingScenario(async ({ emulator, conn, connection }) => {
    const inbox = new Inbox();
    await conn.streaming.topic('/data/AccountChangeEvent').subscribe(inbox.push);
    const account = conn.sobject('Account');
    const { id } = await account.upsert(
      { Rtws_Id__c: 'cdc-1', Name: 'Acme', BillingCity: 'Paris' },
      'Rtws_Id__c',
    );
    await account.upsert(
      { Rtws_Id__c: 'cdc-1', Name: 'Acme Corp', BillingCity: null },
      'Rtws_Id__c',
    );
    const [created, updated] = await inbox.waitFor(2);
    const record = await account.retrieve(id!);

    const first = header(created!);
    assert.equal(first.recordIds, [id]);
    assert.is(first.entityName, 'Account');
    assert.is(first.changeType, 'CREATE');
    assert.is(first.changeOrigin, 'com/salesforce/api/rest/62.0;client=rtws');
    assert.is(first.commitUser, emulator.userId);
    assert.equal(first.changedFields, []);
    assert.is(first.sequenceNumber, 1);
    assert.match(
      first.transactionKey,
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    assert.is(first.commitTimestamp, Date.parse(String(record.CreatedDate)));
    assert.ok(Number.isInteger(first.commitNumber));
    const body = fieldsOf(created!);
    assert.is(body.Name, 'Acme');
    assert.equal(
      body.BillingAddress,
      { City: 'Paris' },
      'address parts nest, empty ones are left out',
    );
    assert.is(body.Rtws_Id__c, 'cdc-1');
    assert.is(body.CreatedById, emulator.userId);
    assert.match(String(body.CreatedDate), ISO_UTC);
    for (const absent of ['Id', 'IsDeleted', 'SystemModstamp', 'Phone', 'BillingCity'])
      assert.not.ok(absent in body, `${absent} is not in a CREATE event`);
    assert.type(created!.schema, 'string');

    const second = header(updated!);
    assert.is(second.changeType, 'UPDATE');
    assert.is(second.commitUser, emulator.userId);
    assert.equal([...second.changedFields].sort(), [
      'BillingAddress.City',
      'LastModifiedDate',
      'Name',
    ]);
    assert.equal(fieldsOf(updated!), {
      Name: 'Acme Corp',
      BillingAddress: { City: null },
      LastModifiedDate: new Date(String(record.LastModifiedDate)).toISOString(),
    });
    assert.ok(second.commitNumber > first.commitNumber);
    assert.is.not(second.transactionKey, first.transactionKey);
    assert.ok(updated!.event.replayId > created!.event.replayId);

    const plain = await connection();
    await plain.sobject('Account').create({ Name: 'No client named' });
    const [, , third] = await inbox.waitFor(3);
    assert.is(header(third!).changeOrigin, 'com/salesforce/api/rest/62.0');
  }));

test("a person's create, edit, delete and undelete: that user, an empty changeOrigin", () =>
  streamingScenario(async ({ emulator, conn, subscribe, control }) => {
    const { inbox } = await subscribe('/data/ContactChangeEvent');
    const someone = '005000000000042AAA';
    await conn.sobject('Account').create({ Name: 'Not on the Contact channel' });
    const created = await control('POST', '/records/Contact', {
      fields: { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com' },
      as_user: someone,
    });
    assert.is(created.status, 201);
    const id = String(((await created.json()) as { Id: string }).Id);
    const edited = await control('PATCH', `/records/Contact/${id}`, {
      fields: { LastName: 'King' },
      as_user: emulator.personUserId,
    });
    assert.is(edited.status, 200);
    assert.is((await control('DELETE', `/records/Contact/${id}?as_user=${someone}`)).status, 200);
    assert.is((await control('POST', `/records/Contact/${id}/undelete`, {})).status, 200);

    const events = await inbox.waitFor(4);
    assert.equal(
      events.map((e) => header(e).changeType),
      ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE'],
    );
    assert.equal(
      events.map((e) => header(e).commitUser),
      [someone, emulator.personUserId, someone, emulator.personUserId],
    );
    for (const event of events) {
      assert.is(header(event).changeOrigin, '');
      assert.equal(header(event).recordIds, [id]);
    }
    const [create, update, remove, undelete] = events;
    assert.equal(fieldsOf(create!).Name, { FirstName: 'Ada', LastName: 'Lovelace' });
    assert.is(fieldsOf(create!).CreatedById, someone);
    assert.equal(
      [...header(update!).changedFields].sort(),
      ['LastModifiedById', 'LastModifiedDate', 'Name.LastName'],
      'the modifier changed, so LastModifiedById is listed',
    );
    assert.equal(fieldsOf(update!).Name, { LastName: 'King' });
    assert.equal(fieldsOf(remove!), {}, 'a DELETE carries the header only');
    assert.is(fieldsOf(undelete!).Email, 'ada@example.com');
    assert.equal(fieldsOf(undelete!).Name, { FirstName: 'Ada', LastName: 'King' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(inbox.events.length, 4, 'the Account change stays off the Contact channel');
    assert.is(emulator.apiCalls(), 1, 'the person cost no API call');
  }));

test('/data/ChangeEvents carries every entity; one API call is one transaction', () =>
  streamingScenario(async ({ conn, subscribe }) => {
    const { inbox } = await subscribe('/data/ChangeEvents');
    const results = await conn.sobject('Account').create([{ Name: 'One' }, { Name: 'Two' }]);
    const [a, b] = await inbox.waitFor(2);
    assert.equal(
      [a, b].map((e) => header(e!).recordIds[0]),
      results.map((r) => r.id),
    );
    assert.equal(
      [a, b].map((e) => header(e!).sequenceNumber),
      [1, 2],
    );
    assert.is(header(a!).transactionKey, header(b!).transactionKey);
    assert.is(header(a!).commitNumber, header(b!).commitNumber);
    assert.is(header(a!).commitTimestamp, header(b!).commitTimestamp);

    // allOrNone: the valid record is rolled back, so nothing is published for it.
    const rolledBack = await conn
      .sobject('Account')
      .create([{ Name: 'Rolled back' }, { Phone: 'no name' }], { allOrNone: true });
    assert.equal(
      rolledBack.map((r) => r.success),
      [false, false],
    );
    // Without allOrNone the valid record commits and the invalid one publishes nothing.
    await conn.sobject('Account').create([{ Phone: 'no name' }, { Name: 'Kept' }]);
    const { id: contactId } = await conn.sobject('Contact').create({ LastName: 'Hopper' });
    const [, , kept, contact] = await inbox.waitFor(4);
    assert.is(fieldsOf(kept!).Name, 'Kept');
    assert.is(header(kept!).sequenceNumber, 1);
    assert.is(header(contact!).entityName, 'Contact');
    assert.equal(header(contact!).recordIds, [contactId]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(inbox.events.length, 4);
  }));

test('the retained events are there for the emulator object and the control endpoint', () =>
  streamingScenario(async ({ emulator, conn, control }) => {
    await conn.sobject('Account').create({ Name: 'Kept for replay' });
    const res = await control('GET', '/events');
    assert.is(res.status, 200);
    const listed = (await res.json()) as unknown[];
    assert.equal(listed, emulator.changeEvents());
    assert.is(listed.length, 1);
    const { events } = emulator.stats();
    assert.is(events.retainedEvents, 1);
    assert.is(events.latestReplayId, emulator.changeEvents()[0]!.event.replayId);
    assert.is(events.deliveredEvents, 0, 'no subscriber, nothing delivered');
  }));

test.run();
