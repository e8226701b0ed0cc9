// What the describe check makes of flags the emulator's objects do not have: a field rtws would
// write that is read-only or a restricted picklist, which a from_salesforce mapping may still read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { targetProblems, type DescribedField } from '../../adapters/salesforce/describe-check.ts';
import type { FieldMap } from '../../adapters/salesforce/mapper.ts';

const text = (name: string, more: Partial<DescribedField> = {}): DescribedField => ({
  name,
  type: 'string',
  createable: true,
  updateable: true,
  nillable: true,
  defaultedOnCreate: false,
  externalId: false,
  unique: false,
  ...more,
});

const FIELDS: DescribedField[] = [
  text('Rtws_Id__c', { externalId: true, unique: true }),
  text('Name', { nillable: false }),
  text('Formula__c', { createable: false, updateable: false }),
  text('Frozen__c', { updateable: false }),
  text('Tier__c', { type: 'picklist', restrictedPicklist: true }),
  text('Site__c', { type: 'url' }),
  text('Active__c', { type: 'boolean', nillable: false, defaultedOnCreate: true }),
];

const check = (fieldMap: FieldMap) =>
  targetProblems({ object: 'Thing__c', externalIdField: 'Rtws_Id__c', fieldMap }, FIELDS).map(
    (p) => `${p.field}: ${p.message}`,
  );

const from = (canonical: `metadata.${string}`) =>
  ({ canonical, direction: 'from_salesforce' }) as const;

test('a field rtws writes must be createable and updateable, and not a restricted picklist', () => {
  assert.equal(
    check({
      Name: 'name',
      Formula__c: 'metadata.f',
      Frozen__c: { canonical: 'metadata.g', direction: 'to_salesforce' },
      Tier__c: 'metadata.tier',
    }),
    [
      'Formula__c: Thing__c.Formula__c is not createable by the integration user, and a mapping with direction both writes it',
      'Frozen__c: Thing__c.Frozen__c is not updateable by the integration user, and a mapping with direction to_salesforce writes it',
      'Tier__c: Thing__c.Tier__c is a restricted picklist, which refuses values outside its list, and a mapping with direction both writes it: map it from_salesforce, or unrestrict it',
    ],
  );
});

test('a from_salesforce field only needs to be readable text; a defaulted field is not required', () => {
  assert.equal(
    check({
      Name: 'name',
      Formula__c: from('metadata.f'),
      Frozen__c: from('metadata.g'),
      Tier__c: from('metadata.tier'),
      Site__c: 'metadata.site',
    }),
    [],
  );
});

test('an external id that cannot be written on create is refused', () => {
  const fields = FIELDS.map((f) => (f.name === 'Rtws_Id__c' ? { ...f, createable: false } : f));
  const found = targetProblems(
    { object: 'Thing__c', externalIdField: 'rtws_id__c', fieldMap: { Name: 'name' } },
    fields,
  );
  assert.equal(found, [
    {
      setting: 'SALESFORCE_EXTERNAL_ID_FIELD',
      field: 'rtws_id__c',
      message: 'Thing__c.rtws_id__c is not createable by the integration user',
    },
  ]);
});

test.run();
