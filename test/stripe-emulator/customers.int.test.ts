// Customers through the SDK: create, update with metadata rules, delete, lists and their cursors.
import Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, raw, suiteEmulator } from './support.ts';

const { emu, stripe } = await suiteEmulator(test);

test('create renders Stripe defaults and the given fields', async () => {
  const c = await stripe.customers.create({
    email: 'ann@example.com',
    name: 'Ann',
    address: { city: 'Oslo' },
    preferred_locales: ['nb', 'en'],
  });
  assert.match(c.id, /^cus_[A-Za-z0-9]{14}$/);
  assert.is(c.object, 'customer');
  assert.is(c.balance, 0);
  assert.is(c.description, null);
  assert.match(c.invoice_prefix!, /^[A-Z0-9]{8}$/);
  assert.equal(c.address, {
    city: 'Oslo',
    country: null,
    line1: null,
    line2: null,
    postal_code: null,
    state: null,
  });
  assert.equal(c.preferred_locales, ['nb', 'en']);
  assert.is(Number.isInteger(c.created), true);
  assert.is(c.lastResponse.apiVersion, Stripe.API_VERSION);
});

test('update merges metadata, empty value removes a key, empty metadata clears, empty field unsets', async () => {
  const c = await stripe.customers.create({ description: 'd', metadata: { a: '1', b: '2' } });
  const merged = await stripe.customers.update(c.id, { metadata: { b: '', c: '3' } });
  assert.equal(merged.metadata, { a: '1', c: '3' });
  const unset = await stripe.customers.update(c.id, { description: '' });
  assert.is(unset.description, null);
  const cleared = await stripe.customers.update(c.id, { metadata: '' });
  assert.equal(cleared.metadata, {});
});

test('metadata limits: 50 keys, 40-char keys, 500-char values, no brackets', async () => {
  const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
  const c = await stripe.customers.create({ metadata: fifty });
  const tooMany = await errorOf(stripe.customers.update(c.id, { metadata: { extra: 'x' } }));
  assert.is(tooMany.statusCode, 400);
  assert.is(tooMany.param, 'metadata');
  const longKey = await errorOf(stripe.customers.create({ metadata: { ['k'.repeat(41)]: 'v' } }));
  assert.is(longKey.param, `metadata[${'k'.repeat(41)}]`);
  const longValue = await errorOf(stripe.customers.create({ metadata: { k: 'v'.repeat(501) } }));
  assert.is(longValue.param, 'metadata[k]');
  const bracket = await raw(emu, 'POST', '/v1/customers', 'metadata[a[b]]=x');
  assert.is(bracket.status, 400);
  assert.match(bracket.json.error.param ?? '', /^metadata/);
  assert.is(emu.stats().customers, 1);
});

test('wire forms: expand[]=, %5B%5D brackets, + as space, escaped values', async () => {
  const res = await raw(
    emu,
    'POST',
    '/v1/customers',
    'name=Jane+Doe&metadata%5Bk%202%5D=x%26y%3Dz%2F%C3%BC&preferred_locales[]=en&preferred_locales[]=fr',
  );
  assert.is(res.status, 200);
  assert.is(res.json.name, 'Jane Doe');
  assert.equal(res.json.metadata, { 'k 2': 'x&y=z/ü' });
  assert.equal(res.json.preferred_locales, ['en', 'fr']);
  const expanded = await raw(emu, 'GET', `/v1/customers/${res.json.id}?expand[]=test_clock`);
  assert.is(expanded.status, 200);
  assert.is(expanded.headers.get('stripe-version'), '2026-10-28.endive');
});

test('delete answers the 3-key deleted shape; retrieve keeps answering it; update is 404', async () => {
  const c = await stripe.customers.create({ name: 'gone' });
  const deleted = await stripe.customers.del(c.id);
  assert.equal(
    { ...deleted, lastResponse: undefined },
    { id: c.id, object: 'customer', deleted: true, lastResponse: undefined },
  );
  const again = await stripe.customers.retrieve(c.id);
  assert.is(again.deleted, true);
  const err = await errorOf(stripe.customers.update(c.id, { name: 'x' }));
  assert.is(err.statusCode, 404);
  assert.is((await stripe.customers.list()).data.length, 0);
});

test('list: newest first, limit, has_more, url, starting_after and ending_before', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await stripe.customers.create({ name: `c${i}` })).id);
  const page1 = await stripe.customers.list({ limit: 2 });
  assert.equal(
    page1.data.map((c) => c.id),
    [ids[4], ids[3]],
  );
  assert.is(page1.has_more, true);
  assert.is(page1.url, '/v1/customers');
  const page2 = await stripe.customers.list({ limit: 2, starting_after: ids[3] });
  assert.equal(
    page2.data.map((c) => c.id),
    [ids[2], ids[1]],
  );
  const before = await stripe.customers.list({ limit: 2, ending_before: ids[1] });
  assert.equal(
    before.data.map((c) => c.id),
    [ids[3], ids[2]],
  );
  assert.is(before.has_more, true);
});

test('auto-pagination walks every customer once', async () => {
  const created = new Set<string>();
  for (let i = 0; i < 25; i++) created.add((await stripe.customers.create({ name: `p${i}` })).id);
  const seen: string[] = [];
  for await (const c of stripe.customers.list({ limit: 7 })) seen.push(c.id);
  assert.is(seen.length, 25);
  assert.equal(new Set(seen), created);
});

test('list filters: exact email and created range', async () => {
  await stripe.customers.create({ email: 'x@example.com' });
  await stripe.customers.create({ email: 'X@example.com' });
  const exact = await stripe.customers.list({ email: 'x@example.com' });
  assert.is(exact.data.length, 1);
  const now = Math.floor(Date.now() / 1000);
  assert.is((await stripe.customers.list({ created: { gte: now - 60 } })).data.length, 2);
  assert.is((await stripe.customers.list({ created: { gt: now + 60 } })).data.length, 0);
});

test.run();
