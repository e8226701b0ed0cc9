// A record created in Salesforce without our external id, imported (RTWS_SALESFORCE_IMPORT_NEW):
// born there, it is inserted once into the catalogue and linked in the same write, then reaches
// Stripe; matched by email, it is linked to the catalogue customer and the pair is settled by
// RTWS_MATCH_MERGE; a customer with a create of ours under way, or linked already, is left.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CatalogueApply } from '../../actors/customer/index.ts';
import type { FieldPatch } from '../../core/policy/push.ts';
import { created, stripe, type Step, type World } from './gwt.ts';
import { given, salesforce, sfFailed, when } from './two-targets.ts';

const SF_ID = '001000000000042AAA';
const applies = (w: World): CatalogueApply[] => w.snapshot.context.inbound.applies;

const adopted =
  (
    fields: FieldPatch,
    o: { born: boolean; policy?: 'stripe' | 'catalogue'; recordId?: string },
  ): Step =>
  (w) => ({
    type: 'SalesforceRecordAdopted',
    data: {
      recordId: o.recordId ?? SF_ID,
      fields,
      modifiedAt: w.now - 1_000,
      born: o.born,
      policy: o.policy ?? 'stripe',
    },
    at: w.now,
  });

const BORN = { name: 'Born Here', email: 'born@example.com', phone: '+1 555 0100' };

test('a Salesforce-born record is inserted once, linked in the same write', () => {
  const w = when(given(), adopted(BORN, { born: true }));
  const [insert, ...more] = applies(w);
  assert.equal(more, []);
  assert.is(insert?.kind, 'insert');
  assert.is(insert?.origin, 'salesforce');
  assert.is(insert?.salesforceId, SF_ID, 'linked in the insert');
  assert.equal(insert?.fields, { ...BORN, address: null, metadata: {} });
  assert.is(salesforce(w).externalId, SF_ID);
  assert.is(salesforce(w).status, 'synced');
  assert.is(salesforce(w).pending, null, 'nothing to write to Salesforce');
  const again = when(w, adopted(BORN, { born: true }));
  assert.is(applies(again).length, 1, 'read again, imported once');
});

test('a born record with no name takes its email as the name', () => {
  const w = when(given(), adopted({ name: '', email: 'nameless@example.com' }, { born: true }));
  assert.is(applies(w)[0]?.fields?.name, 'nameless@example.com');
});

test('once inserted, the customer is created in Stripe and nothing goes back to Salesforce', () => {
  const inserted = created({ ...BORN, address: null, metadata: {} });
  const w = when(given(), adopted(BORN, { born: true }), inserted);
  assert.is(stripe(w).pending?.op, 'create', 'Stripe gets it');
  assert.is(salesforce(w).pending, null, 'Salesforce holds it already');
  assert.is(salesforce(w).externalId, SF_ID);
});

test('a match links the customer; the record keeps the values it has under RTWS_MATCH_MERGE=stripe', () => {
  // The customer's own create in Salesforce failed for good: no record is linked, none is coming.
  const w0 = given(created(), sfFailed('permanent'));
  assert.is(salesforce(w0).pending, null);
  const w = when(w0, adopted({ name: 'Ada Lovelace', phone: '+1 555 0199' }, { born: false }));
  assert.is(salesforce(w).externalId, SF_ID);
  assert.is(salesforce(w).status, 'synced');
  const [write] = applies(w);
  assert.is(write?.kind, 'update');
  assert.is(write?.origin, 'salesforce');
  assert.equal(write?.patch, { phone: '+1 555 0199' });
  assert.equal(
    write?.conflicts.map((c) => [c.field, c.target, c.winner]),
    [['phone', 'salesforce', 'salesforce']],
  );
});

test('under RTWS_MATCH_MERGE=catalogue the catalogue wins, and is pushed to the record', () => {
  const w0 = given(created(), sfFailed('permanent'));
  const w = when(w0, adopted({ phone: '+1 555 0199' }, { born: false, policy: 'catalogue' }));
  assert.equal(applies(w)[0]?.patch, {}, 'Postgres keeps its value');
  assert.is(applies(w)[0]?.conflicts[0]?.winner, 'postgres');
  assert.is(salesforce(w).known?.phone, '+1 555 0199', 'known as Salesforce holds it');
});

test('a customer with a create of ours under way, or linked, is left', () => {
  const creating = given(created());
  assert.ok(salesforce(creating).pending, 'a create is under way');
  const w = when(creating, adopted({ phone: '+1 555 0199' }, { born: false }));
  assert.equal(applies(w), []);
  assert.is(salesforce(w).externalId, null);
  const born = when(given(), adopted(BORN, { born: true }));
  const other = when(born, adopted(BORN, { born: false, recordId: '001000000000043AAA' }));
  assert.is(salesforce(other).externalId, SF_ID, 'linked already');
});

test.run();
