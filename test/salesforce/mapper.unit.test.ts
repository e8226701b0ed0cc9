// The default Account field map, both ways, and patches that send only what changed; directions:
// a `from_salesforce` field is read and never written, a `to_salesforce` one written and never
// taken back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DEFAULT_ACCOUNT_FIELD_MAP as MAP,
  fieldsOfRecord,
  flowsFromSalesforce,
  flowsToSalesforce,
  inboundSources,
  mappedFieldNames,
  outboundSources,
  valuesOfFields,
  valuesOfPatch,
  type FieldMap,
} from '../../adapters/salesforce/mapper.ts';
import { fields } from './fixtures.ts';

test('a create maps every field, empty ones as null, the street from both lines', () => {
  assert.equal(valuesOfFields(MAP, fields('c')), {
    Name: 'Ada Lovelace',
    Phone: '+44 20 7946 0000',
    BillingStreet: '12 St James Sq\nFloor 2',
    BillingCity: 'London',
    BillingState: null,
    BillingPostalCode: 'SW1Y 4JH',
    BillingCountry: 'GB',
    Rtws_Email__c: 'ada@example.com',
  });
});

test('a patch maps only its fields; null unsets; a removed address clears every address field', () => {
  assert.equal(valuesOfPatch(MAP, { phone: null, email: 'b@example.com' }), {
    Phone: null,
    Rtws_Email__c: 'b@example.com',
  });
  assert.equal(valuesOfPatch(MAP, { address: null }), {
    BillingStreet: null,
    BillingCity: null,
    BillingState: null,
    BillingPostalCode: null,
    BillingCountry: null,
  });
  assert.equal(valuesOfPatch(MAP, { metadata: { plan: 'x' } }), {}, 'metadata is not mapped');
});

test('metadata keys can be mapped to custom fields', () => {
  const map = { ...MAP, Plan__c: 'metadata.plan' } as const;
  assert.equal(valuesOfPatch(map, { metadata: { plan: null, other: '1' } }), { Plan__c: null });
  const back = fieldsOfRecord(map, { Name: 'A', Plan__c: 'gold' });
  assert.equal(back.metadata, { plan: 'gold' });
});

test('a record reads back to the canonical fields it was written from', () => {
  const { metadata: _ignored, ...expected } = fields('c');
  const back = fieldsOfRecord(MAP, valuesOfFields(MAP, fields('c')));
  assert.equal(back, { ...expected, metadata: {} });
  assert.equal(
    fieldsOfRecord(MAP, { Name: ' Bo ', Rtws_Email__c: 'BO@X.ORG', BillingStreet: null }),
    { name: 'Bo', email: 'bo@x.org', phone: null, address: null, metadata: {} },
  );
});

const DIRECTED: FieldMap = {
  FirstName: { canonical: 'name.first', direction: 'both' },
  LastName: { canonical: 'name.last', direction: 'both' },
  Email: { canonical: 'email', direction: 'to_salesforce' },
  Phone: { canonical: 'phone', direction: 'from_salesforce' },
  MailingCity: { canonical: 'address.city', direction: 'from_salesforce' },
  Description: { canonical: 'metadata.notes', direction: 'from_salesforce' },
  Plan__c: 'metadata.plan',
};

test('a write never carries a from_salesforce field, by create or by patch', () => {
  assert.equal(valuesOfFields(DIRECTED, fields('c')), {
    FirstName: 'Ada',
    LastName: 'Lovelace',
    Email: 'ada@example.com',
    Plan__c: 'gold',
  });
  assert.equal(
    valuesOfPatch(DIRECTED, {
      phone: null,
      address: null,
      metadata: { notes: 'x', plan: 'silver' },
    }),
    { Plan__c: 'silver' },
  );
  assert.equal(
    valuesOfPatch(DIRECTED, { phone: '+1', metadata: { notes: 'x' } }),
    {},
    'a patch of from_salesforce values only sends nothing: the executor makes no call',
  );
});

test('a read gives every mapped field whatever its direction, matching names in any case', () => {
  const back = fieldsOfRecord(DIRECTED, {
    firstname: 'Ada',
    LASTNAME: 'Lovelace',
    Email: 'ADA@example.com',
    Phone: '+44',
    MailingCity: 'London',
    Description: 'met at the fair',
    Plan__c: 'gold',
  });
  assert.equal(back, {
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    phone: '+44',
    address: {
      line1: null,
      line2: null,
      city: 'London',
      state: null,
      postal_code: null,
      country: null,
    },
    metadata: { notes: 'met at the fair', plan: 'gold' },
  });
  assert.equal(mappedFieldNames(DIRECTED), Object.keys(DIRECTED), 'a read selects them all');
});

test('which synced fields flow which way', () => {
  assert.equal(inboundSources(DIRECTED), [
    'address',
    'metadata.notes',
    'metadata.plan',
    'name',
    'phone',
  ]);
  assert.equal(outboundSources(DIRECTED), ['email', 'metadata.plan', 'name']);
  assert.ok(flowsFromSalesforce(DIRECTED, 'phone'));
  assert.not.ok(flowsFromSalesforce(DIRECTED, 'email'), 'to_salesforce is the catalogue’s');
  assert.not.ok(flowsFromSalesforce(DIRECTED, 'metadata.other'), 'unmapped');
  assert.not.ok(flowsToSalesforce(DIRECTED, 'address'));
  assert.equal(inboundSources(MAP), ['address', 'email', 'name', 'phone']);
});

test.run();
