// Who made a change read from Salesforce: the change event's `changeOrigin` when one told of it
// (its commitTimestamp within a second of the record's SystemModstamp), else the last modifier.
// A deletion event names the records someone other than rtws deleted; an update event by anyone
// else tells the values of the fields it changed whole.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChangedRecord } from '../../adapters/salesforce/changes.ts';
import {
  ChangeOrigins,
  deletedByOthers,
  editsHeard,
  isOurOrigin,
} from '../../adapters/salesforce/change-events.ts';
import type { SalesforceTarget } from '../../adapters/salesforce/target.ts';

const US = '005000000000001AAA';
const PERSON = '005000000000002AAA';
const RECORD = '001000000000001AAA';

const read = (modifiedAt: number, lastModifiedById: string): ChangedRecord => ({
  salesforceId: RECORD,
  externalId: '6c1f3a52-9a1e-4a34-8f63-2b1c5ad1e0a1',
  fields: { phone: '+1 555 0100' },
  putBack: {},
  lastModifiedById,
  modifiedAt,
});

const event = (
  commitTimestamp: number,
  changeOrigin: string,
  recordIds = [RECORD],
  changeType = 'UPDATE',
) => ({
  payload: {
    ChangeEventHeader: {
      entityName: 'Account',
      changeType,
      recordIds,
      changeOrigin,
      commitTimestamp,
    },
  },
  event: { replayId: 1 },
});

test("a change origin names rtws's client only with client=rtws", () => {
  assert.ok(isOurOrigin('com/salesforce/api/rest/62.0;client=rtws'));
  assert.ok(isOurOrigin('com/salesforce/api/soap/62.0; client=rtws'));
  assert.not.ok(isOurOrigin(''));
  assert.not.ok(isOurOrigin('com/salesforce/api/rest/62.0'));
  assert.not.ok(isOurOrigin('com/salesforce/api/rest/62.0;client=rtws-import'));
  assert.not.ok(isOurOrigin('com/salesforce/api/rest/62.0;client=dataloader'));
});

test('with no event for the change, the last modifier decides', () => {
  const origins = new ChangeOrigins();
  assert.ok(origins.byUs(read(10_000, US), US));
  assert.not.ok(origins.byUs(read(10_000, PERSON), US));
  origins.heard(event(50_000, ''));
  assert.ok(origins.byUs(read(10_000, US), US), 'an event of another change says nothing');
});

test("an event's origin decides over the last modifier", () => {
  const origins = new ChangeOrigins();
  origins.heard(event(10_000, 'com/salesforce/api/rest/62.0'));
  assert.not.ok(origins.byUs(read(10_400, US), US), 'the integration user through another tool');
  origins.heard(event(20_000, 'com/salesforce/api/rest/62.0;client=rtws'));
  assert.ok(origins.byUs(read(20_000, US), US));
  assert.not.ok(
    origins.byUs(read(20_200, PERSON), US),
    "a person's change whose own event has not come yet is not taken for ours near ours",
  );
});

test('of two events near the change, the nearer decides', () => {
  const origins = new ChangeOrigins();
  origins.heard(event(10_000, 'com/salesforce/api/rest/62.0;client=rtws'));
  origins.heard(event(10_700, ''));
  assert.not.ok(origins.byUs(read(10_600, US), US));
  assert.ok(origins.byUs(read(10_200, US), US));
});

test('gap and overflow events, and malformed ones, are left', () => {
  const origins = new ChangeOrigins();
  origins.heard({
    payload: { ChangeEventHeader: { changeType: 'GAP_OVERFLOW', recordIds: [RECORD] } },
  });
  origins.heard({
    payload: {
      ChangeEventHeader: {
        changeType: 'GAP_UPDATE',
        recordIds: [RECORD],
        changeOrigin: '',
        commitTimestamp: 10_000,
      },
    },
  });
  origins.heard(undefined);
  origins.heard({ payload: {} });
  assert.ok(origins.byUs(read(10_000, US), US));
});

test("a deletion's event names the records someone else deleted; rtws's own are left", () => {
  assert.equal(deletedByOthers(event(1, '', [RECORD, 'x'], 'DELETE')), [RECORD, 'x']);
  assert.equal(deletedByOthers(event(1, 'com/salesforce/api/rest/62.0', [RECORD], 'DELETE')), [
    RECORD,
  ]);
  assert.equal(
    deletedByOthers(event(1, 'com/salesforce/api/rest/62.0;client=rtws', [RECORD], 'DELETE')),
    [],
  );
  assert.equal(deletedByOthers(event(1, '', [RECORD], 'UPDATE')), []);
  assert.equal(deletedByOthers(event(1, '', [RECORD], 'GAP_DELETE')), []);
  assert.equal(deletedByOthers({}), []);
});

const ACCOUNT: SalesforceTarget = { object: 'Account', externalIdField: 'Rtws_Id__c' };

const update = (
  changeOrigin: string,
  changedFields: string[],
  payload: Record<string, unknown>,
) => ({
  payload: {
    ChangeEventHeader: {
      entityName: 'Account',
      changeType: 'UPDATE',
      changedFields,
      recordIds: [RECORD],
      changeOrigin,
      commitTimestamp: 20_000,
    },
    ...payload,
  },
  event: { replayId: 7 },
});

test("an update event by anyone else tells the fields it changed whole; rtws's own, nothing", () => {
  const [edit, ...more] = editsHeard(
    ACCOUNT,
    update('', ['Phone', 'LastModifiedDate', 'BillingCity'], {
      Phone: '+1 555 0142',
      BillingCity: 'Leeds',
    }),
  );
  assert.equal(more, []);
  assert.equal(
    edit,
    {
      recordId: RECORD,
      eventId: `salesforce:cdc:7:${RECORD}`,
      fields: { phone: '+1 555 0142' },
      putBack: {},
      modifiedAt: 20_000,
    },
    'the address, changed in part, is left to the read',
  );
  assert.equal(
    editsHeard(
      ACCOUNT,
      update('com/salesforce/api/rest/62.0;client=rtws', ['Phone'], { Phone: 'x' }),
    ),
    [],
  );
  assert.equal(editsHeard(ACCOUNT, update('', ['LastModifiedDate'], {})), [], 'no mapped field');
  const cleared = editsHeard(ACCOUNT, update('', ['Phone'], { Phone: null }));
  assert.equal(cleared[0]?.fields, { phone: null }, 'a field set to null is told too');
});

test("the fields rtws's own writes changed after an edit, as their events said", () => {
  const origins = new ChangeOrigins();
  const ours = (at: number, changedFields: string[]) => ({
    payload: {
      ChangeEventHeader: {
        changeType: 'UPDATE',
        recordIds: [RECORD],
        changedFields,
        changeOrigin: 'com/salesforce/api/rest/62.0;client=rtws',
        commitTimestamp: at,
      },
    },
  });
  origins.heard(ours(10_000, ['Name']));
  origins.heard(event(20_000, ''));
  origins.heard(ours(20_050, ['Phone', 'LastModifiedDate']));
  assert.equal(origins.writtenSince(RECORD, 20_000), ['Phone', 'LastModifiedDate']);
  assert.equal(origins.writtenSince(RECORD, 5_000), ['Name', 'Phone', 'LastModifiedDate']);
  assert.equal(origins.writtenSince(RECORD, 20_050), [], 'none since');
  assert.equal(origins.writtenSince('001000000000099AAA', 0), []);
});

test.run();
