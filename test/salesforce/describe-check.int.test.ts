// The object, external-id field and field map checked against the emulator's describe, read
// with jsforce: the default Account map and the Contact example pass; each mistake names the
// field and the variable to change.
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Connection } from 'jsforce';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { describeFields, targetProblems } from '../../adapters/salesforce/describe-check.ts';
import { parseFieldMap } from '../../adapters/salesforce/field-map-file.ts';
import type { FieldMap } from '../../adapters/salesforce/mapper.ts';
import type { SalesforceTarget } from '../../adapters/salesforce/target.ts';
import { ConfigError } from '../../core/errors.ts';
import { checkSalesforceTarget } from '../../deploy/wiring/salesforce-target.ts';
import { emulatorAndConnection } from './fixtures.ts';

const test = suite<{ emulator: SalesforceEmulator; conn: Connection }>('Salesforce describe check');

test.before(async (ctx) => {
  Object.assign(ctx, await emulatorAndConnection());
});
test.after(async (ctx) => {
  await ctx.emulator?.close();
});

const CONTACT_MAP = parseFieldMap(
  readFileSync(new URL('../../deploy/salesforce/contact-field-map.json', import.meta.url), 'utf8'),
  { object: 'Contact', externalIdField: 'Rtws_Id__c' },
);

const target = (object: string, fieldMap?: FieldMap, externalIdField = 'Rtws_Id__c') =>
  ({ object, externalIdField, ...(fieldMap ? { fieldMap } : {}) }) as SalesforceTarget;

async function problems(conn: Connection, t: SalesforceTarget): Promise<string[]> {
  const found = targetProblems(t, await describeFields(conn, t.object));
  return found.map((p) => `${p.setting} ${p.field}: ${p.message}`);
}

test('the default Account map and the Contact example fit their objects', async ({ conn }) => {
  assert.equal(await problems(conn, target('Account')), []);
  assert.equal(await problems(conn, target('Contact', CONTACT_MAP)), []);
});

test('the external-id field must exist, be an external id and be unique', async ({ conn }) => {
  const ext = (field: string) => problems(conn, target('Account', undefined, field));
  assert.equal(await ext('Legacy_Id__c'), [
    'SALESFORCE_EXTERNAL_ID_FIELD Legacy_Id__c: Account.Legacy_Id__c is an external id, but not unique: an upsert could match several records',
  ]);
  assert.match((await ext('Rtws_Email__c'))[0]!, 'is not an external id');
  assert.match((await ext('Nope__c'))[0]!, 'Account.Nope__c does not exist');
});

test('each mapped field must exist and hold text of the right kind', async ({ conn }) => {
  assert.equal(await problems(conn, target('Account', { Name: 'name', Email: 'email' })), [
    'SALESFORCE_FIELD_MAP Email: Account.Email does not exist, or the integration user cannot see it',
  ]);
  assert.match(
    (await problems(conn, target('Account', { Name: 'name', Rtws_Email__c: 'phone' })))[0]!,
    'Account.Rtws_Email__c is an email field, which holds only email, not phone',
  );
  const fromSalesforce = { canonical: 'metadata.seen', direction: 'from_salesforce' } as const;
  assert.match(
    (await problems(conn, target('Account', { Name: 'name', CreatedDate: fromSalesforce })))[0]!,
    'Account.CreatedDate is of type datetime',
  );
  assert.match(
    (
      await problems(conn, target('Account', { Name: 'name', LastModifiedById: fromSalesforce }))
    )[0]!,
    'of type reference',
  );
});

test('a field required on create must be written by the map', async ({ conn }) => {
  assert.equal(await problems(conn, target('Contact', { Email: 'email' })), [
    'SALESFORCE_FIELD_MAP LastName: Contact.LastName is required on create, and the map writes nothing to it',
  ]);
  const readOnly = { canonical: 'name', direction: 'from_salesforce' } as const;
  assert.match(
    (await problems(conn, target('Account', { Name: readOnly })))[0]!,
    'Account.Name is required on create',
  );
});

test('at start: every problem in one ConfigError naming the variable; an unknown object too', async ({
  conn,
}) => {
  const bad = target('Contact', { Email: 'email', BillingCity: 'address.city' });
  try {
    await checkSalesforceTarget(conn, bad, 'contact.json');
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.is((err as ConfigError).variable, 'SALESFORCE_FIELD_MAP');
    assert.match((err as Error).message, 'contact.json: Contact.BillingCity does not exist');
    assert.match((err as Error).message, 'contact.json: Contact.LastName is required on create');
  }
  try {
    await checkSalesforceTarget(conn, target('Lead'), undefined);
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.is((err as ConfigError).variable, 'SALESFORCE_OBJECT');
    assert.match((err as Error).message, 'Lead does not exist in Salesforce');
  }
  await checkSalesforceTarget(conn, target('Account'), undefined);
});

test.run();
