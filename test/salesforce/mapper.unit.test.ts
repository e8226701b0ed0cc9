// The default Account field map, both ways, and patches that send only what changed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DEFAULT_ACCOUNT_FIELD_MAP as MAP,
  fieldsOfRecord,
  valuesOfFields,
  valuesOfPatch,
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

test.run();
