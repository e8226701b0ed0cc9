// Customer search: the query language, and an index that lags behind writes as Stripe's does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, sleep, suiteEmulator } from './support.ts';

const { emu, stripe } = await suiteEmulator(test, { emulator: { searchLagMs: 600 } });
test.before.each(() => emu.setSearchLag(0));

test('a new customer is not searchable until the lag has passed', async () => {
  emu.setSearchLag(600);
  await stripe.customers.create({ email: 'lag@example.com' });
  const early = await stripe.customers.search({ query: "email:'lag@example.com'" });
  assert.is(early.data.length, 0);
  await sleep(650);
  const late = await stripe.customers.search({ query: "email:'lag@example.com'" });
  assert.is(late.data.length, 1);
  assert.is(late.object, 'search_result');
  assert.is(late.url, '/v1/customers/search');
});

test('an update is found by its old value until the lag passes', async () => {
  const c = await stripe.customers.create({ name: 'Before' });
  emu.setSearchLag(600);
  await stripe.customers.update(c.id, { name: 'After' });
  assert.is((await stripe.customers.search({ query: "name:'Before'" })).data.length, 1);
  await sleep(650);
  assert.is((await stripe.customers.search({ query: "name:'Before'" })).data.length, 0);
  assert.is((await stripe.customers.search({ query: "name:'After'" })).data.length, 1);
});

test('query language: exact, substring, metadata, created, AND, OR, negation, null', async () => {
  await stripe.customers.create({
    email: 'jane@example.com',
    name: 'Jane Smith',
    metadata: { sf_id: '001A' },
  });
  await stripe.customers.create({ email: 'john@example.com', name: 'John Smith' });
  await stripe.customers.create({ name: 'Nobody' });
  const count = async (query: string) => (await stripe.customers.search({ query })).data.length;
  assert.is(await count("email:'jane@example.com'"), 1);
  assert.is(await count("name~'smi'"), 2);
  assert.is(await count("metadata['sf_id']:'001A'"), 1);
  assert.is(await count(`created>${Math.floor(Date.now() / 1000) - 60}`), 3);
  assert.is(await count("name~'smith' AND email:'john@example.com'"), 1);
  assert.is(await count("email:'jane@example.com' OR email:'john@example.com'"), 2);
  assert.is(await count("-name:'Nobody'"), 2);
  assert.is(await count('email:null'), 1);
});

test('bad queries are 400 with param query', async () => {
  for (const query of [
    "name~'ab'",
    "email:'a' AND name:'b' OR phone:'c'",
    'color:"red"',
    'email',
  ]) {
    const err = await errorOf(stripe.customers.search({ query }));
    assert.is(err.statusCode, 400, query);
    assert.is(err.param, 'query');
  }
});

test('search pages with next_page and auto-pagination', async () => {
  for (let i = 0; i < 5; i++) await stripe.customers.create({ name: `Page ${i}` });
  const first = await stripe.customers.search({ query: "name~'page'", limit: 2 });
  assert.is(first.has_more, true);
  assert.type(first.next_page, 'string');
  const seen: string[] = [];
  for await (const c of stripe.customers.search({ query: "name~'page'", limit: 2 }))
    seen.push(c.id);
  assert.is(new Set(seen).size, 5);
});

test.run();
