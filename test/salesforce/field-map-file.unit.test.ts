// The field map file (SALESFORCE_FIELD_MAP): the Contact example parses; every mistake is
// refused with a message that names the entry at fault.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FieldMapError,
  checkFieldMap,
  parseFieldMap,
} from '../../adapters/salesforce/field-map-file.ts';
import { DEFAULT_ACCOUNT_FIELD_MAP } from '../../adapters/salesforce/mapper.ts';

const CONTACT = { object: 'Contact', externalIdField: 'Rtws_Id__c' };
const EXAMPLE = new URL('../../deploy/salesforce/contact-field-map.json', import.meta.url);

const file = (fields: unknown, object = 'Contact') => JSON.stringify({ object, fields });

function refused(text: string, pattern: RegExp, entry?: string): void {
  try {
    parseFieldMap(text, CONTACT);
  } catch (err) {
    assert.instance(err, FieldMapError);
    assert.match((err as Error).message, pattern);
    assert.is((err as FieldMapError).entry, entry);
    return;
  }
  assert.unreachable(`accepted: ${text}`);
}

test('the Contact example parses, bare strings flowing both ways', () => {
  const map = parseFieldMap(readFileSync(EXAMPLE, 'utf8'), CONTACT);
  assert.equal(map.FirstName, { canonical: 'name.first', direction: 'both' });
  assert.equal(map.LastName, { canonical: 'name.last', direction: 'both' });
  assert.equal(map.Email, { canonical: 'email', direction: 'both' });
  assert.equal(map.MailingStreet, { canonical: 'address.street', direction: 'both' });
  assert.ok(Object.isFrozen(map));
});

test('the long form carries a direction; the object matches in any case', () => {
  const map = parseFieldMap(
    file(
      {
        LastName: 'name',
        Description: { canonical: 'metadata.notes', direction: 'from_salesforce' },
        Email: { canonical: 'email' },
      },
      'contact',
    ),
    CONTACT,
  );
  assert.equal(map, {
    LastName: { canonical: 'name', direction: 'both' },
    Description: { canonical: 'metadata.notes', direction: 'from_salesforce' },
    Email: { canonical: 'email', direction: 'both' },
  });
});

test('the default Account map passes the same checks', () => {
  checkFieldMap(DEFAULT_ACCOUNT_FIELD_MAP, 'Rtws_Id__c');
});

test('a file that is not a map says where', () => {
  refused('{"object": "Contact", "fields": {', /^not JSON/);
  refused('[]', /the file must hold a JSON object/);
  refused(JSON.stringify({ fields: { LastName: 'name' } }), /"object" is missing/);
  refused(file({}), /"fields" must be an object of at least one entry/);
  refused(JSON.stringify({ object: 'Contact', fields: { LastName: 'name' }, more: 1 }), /"more"/);
  refused(file({ LastName: 'name' }, 'Account'), /"object" is Account.*SALESFORCE_OBJECT.*Contact/);
});

test('an entry that is wrong is named, with what was expected', () => {
  refused(file({ Email: 'e-mail' }), /"canonical" must be one of name, name\.first/, 'Email');
  refused(
    file({ Email: { canonical: 'email', direction: 'inbound' } }),
    /"direction" must be one of both, to_salesforce, from_salesforce/,
    'Email',
  );
  refused(file({ Email: { canonical: 'email', dir: 'both' } }), /unknown key "dir"/, 'Email');
  refused(file({ Email: 3 }), /must be a canonical value, or/, 'Email');
  refused(file({ 'Bad-Name': 'email' }), /not a Salesforce API name/, 'Bad-Name');
  refused(file({ Plan__c: 'metadata.a[b]' }), /"canonical" must be/, 'Plan__c');
});

test('an ambiguous or lossy map is refused, naming the field', () => {
  refused(file({ Email: 'email', email: 'phone' }), /the same field as "Email"/, 'email');
  refused(
    file({ Email: 'email', Rtws_Email__c: 'email' }),
    /already held by "Email"/,
    'Rtws_Email__c',
  );
  refused(file({ LastName: 'name', Rtws_Id__c: 'phone' }), /external-id field/, 'Rtws_Id__c');
  refused(file({ LastName: 'name', Rtws__c: 'metadata.rtws_id' }), /rtws's own/, 'Rtws__c');
  refused(file({ LastName: 'name.last' }), /name\.last needs name\.first/, 'LastName');
  refused(file({ FirstName: 'name.first' }), /name\.first needs name\.last/, 'FirstName');
  refused(
    file({ Name__c: 'name', FirstName: 'name.first', LastName: 'name.last' }),
    /already held whole by "Name__c"/,
    'FirstName',
  );
  refused(
    file({
      FirstName: 'name.first',
      LastName: { canonical: 'name.last', direction: 'to_salesforce' },
    }),
    /flow one way together/,
    'LastName',
  );
  refused(
    file({
      LastName: 'name',
      MailingStreet: 'address.street',
      MailingCity: { canonical: 'address.city', direction: 'from_salesforce' },
    }),
    /direction from_salesforce differs from "MailingStreet"/,
    'MailingCity',
  );
});

test.run();
