// Records created in Salesforce without our external id, with RTWS_SALESFORCE_IMPORT_NEW=true: a
// record nothing in the catalogue matches is inserted once (origin salesforce), gets our id, and
// reaches Stripe, however often it is read; one whose email is that of the one catalogue customer
// with no Salesforce record is linked to it, the record keeping its values (RTWS_MATCH_MERGE).
// Without the setting such a record is left alone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { salesforceBornId } from '../../adapters/postgres/salesforce-imports.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { stripeCustomersByRtwsId } from './stripe-view.ts';
import { startWorld, type World } from './world.ts';

const test = suite<{ w?: World }>('Salesforce sync: records created in Salesforce are imported');

test.before(async (ctx) => {
  ctx.w = await startWorld({ RTWS_SALESFORCE_POLL_S: '1', RTWS_SALESFORCE_IMPORT_NEW: 'true' });
});

test.after(async (ctx) => {
  await ctx.w?.close();
});

const recordOf = (w: World, id: string) => w.sf.records('Account').find((r) => r.Id === id);

async function customersNamed(w: World, name: string) {
  return w.rtws.sql<{ id: string; email: string | null; phone: string | null; origin: string }[]>`
    SELECT id, email, phone, origin FROM customers WHERE name = ${name} AND deleted_at IS NULL`;
}

test('a record born in Salesforce is imported once, gets our id, and reaches Stripe', async (ctx) => {
  const w = ctx.w!;
  const record = w.sf.createAsPerson('Account', {
    Name: 'Born In Salesforce',
    Phone: '+1 555 0101',
    Rtws_Email__c: 'born@example.com',
  });
  const recordId = String(record.Id);
  const [row] = await eventually(
    () => customersNamed(w, 'Born In Salesforce'),
    (rows) => rows.length > 0,
    15_000,
    100,
  );
  assert.is(row?.id, salesforceBornId(recordId));
  assert.equal(
    [row?.email, row?.phone, row?.origin],
    ['born@example.com', '+1 555 0101', 'salesforce'],
  );
  const marked = await eventually(
    () => Promise.resolve(recordOf(w, recordId)?.Rtws_Id__c),
    (v) => v === row?.id,
    10_000,
    100,
  );
  assert.is(marked, row?.id, 'the record has our id');
  const stripe = await eventually(
    async () => (await stripeCustomersByRtwsId(w.stripe)).get(row!.id) ?? [],
    (found) => found.length > 0,
    15_000,
    200,
  );
  assert.is(stripe.length, 1);
  assert.is(stripe[0]?.name, 'Born In Salesforce', 'in Stripe');
  // Edited again and read many times more: still one customer, one record.
  w.sf.editAsPerson('Account', recordId, { Phone: '+1 555 0102' });
  await waitFor(
    () => customersNamed(w, 'Born In Salesforce'),
    (rows) => rows[0]?.phone === '+1 555 0102',
    15_000,
    100,
  );
  await new Promise((r) => setTimeout(r, 2_500));
  assert.is((await customersNamed(w, 'Born In Salesforce')).length, 1, 'imported once');
  assert.is(
    w.sf.records('Account').filter((r) => r.Rtws_Id__c === row?.id).length,
    1,
    'one record',
  );
  assert.is(((await stripeCustomersByRtwsId(w.stripe)).get(row!.id) ?? []).length, 1);
});

test('a record with the email of a customer that has no Salesforce record is linked to it', async (ctx) => {
  const w = ctx.w!;
  // The customer's own create is refused for good: it has no record, and none is coming.
  w.sf.injectFault({
    path: 'sobjects',
    count: 1,
    status: 400,
    errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
  });
  const id = await w.api.create({
    name: 'Catalogue First',
    email: 'first@example.com',
    phone: null,
    address: null,
    metadata: {},
  });
  const failed = await eventually(
    () => w.api.sync(id),
    (s) => s.targets?.salesforce?.status === 'failed',
    15_000,
    100,
  );
  assert.is(failed.targets?.salesforce?.status, 'failed', JSON.stringify(failed.targets));
  const record = w.sf.createAsPerson('Account', {
    Name: 'Catalogue First',
    Phone: '+1 555 0177',
    Rtws_Email__c: 'FIRST@example.com',
  });
  const recordId = String(record.Id);
  const linked = await eventually(
    () => w.api.sync(id),
    (s) =>
      s.targets?.salesforce?.external_id === recordId && s.targets.salesforce.status === 'synced',
    15_000,
    100,
  );
  assert.is(linked.targets?.salesforce?.external_id, recordId, 'linked to the record');
  // The actor's snapshot (the sync view) is saved before the catalogue write it asked for.
  const rows = await eventually(
    () => customersNamed(w, 'Catalogue First'),
    (r) => r.length !== 1 || r[0]?.phone !== null,
    15_000,
    100,
  );
  assert.is(rows.length, 1, 'no second customer');
  assert.is(rows[0]?.phone, '+1 555 0177', 'the record keeps the value it has');
  assert.is(recordOf(w, recordId)?.Rtws_Id__c, id, 'the record has our id');
  const conflicts = await w.rtws.sql<{ field: string; winner: string; reason: string }[]>`
    SELECT field, winner, reason FROM conflicts WHERE customer_id = ${id} AND target = 'salesforce'`;
  assert.equal(
    conflicts.map((c) => [c.field, c.winner]),
    [['phone', 'salesforce']],
  );
  assert.match(conflicts[0]?.reason ?? '', /^match: /);
  assert.is(w.sf.records('Account').filter((r) => r.Rtws_Id__c === id).length, 1, 'one record');
});

test.run();

const off = suite<{ w?: World }>('Salesforce sync: records created in Salesforce, import off');

off.before(async (ctx) => {
  ctx.w = await startWorld({ RTWS_SALESFORCE_POLL_S: '1' });
});

off.after(async (ctx) => {
  await ctx.w?.close();
});

off('without RTWS_SALESFORCE_IMPORT_NEW a record born in Salesforce is left alone', async (ctx) => {
  const w = ctx.w!;
  const record = w.sf.createAsPerson('Account', {
    Name: 'Left Alone',
    Rtws_Email__c: 'left@example.com',
  });
  // A customer created meanwhile, synced: reads have passed over the record.
  const id = await w.api.create({
    name: 'Passer By',
    email: 'passer@example.com',
    phone: null,
    address: null,
    metadata: {},
  });
  await waitFor(
    () => w.api.sync(id),
    (s) => s.targets?.salesforce?.status === 'synced',
    15_000,
    100,
  );
  await new Promise((r) => setTimeout(r, 2_500));
  assert.is((await customersNamed(w, 'Left Alone')).length, 0, 'not imported');
  assert.is(recordOf(w, String(record.Id))?.Rtws_Id__c ?? null, null, 'the record is untouched');
});

off.run();
