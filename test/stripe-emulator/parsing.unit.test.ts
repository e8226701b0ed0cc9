// Pure pieces of the emulator: form decoding, metadata rules, search queries, list paging.
import Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Collection } from '../../adapters/emulators/stripe/collection.ts';
import { StripeApiError } from '../../adapters/emulators/stripe/errors.ts';
import { parseForm } from '../../adapters/emulators/stripe/form.ts';
import {
  applyMetadata,
  metadataPrevious,
  parseMetadata,
} from '../../adapters/emulators/stripe/metadata.ts';
import { parseQuery } from '../../adapters/emulators/stripe/search-query.ts';
import { signatureHeader } from '../../adapters/emulators/stripe/signature.ts';
import type { SearchDoc } from '../../adapters/emulators/stripe/search-query.ts';

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

test('form: nested, indexed, appended and encoded keys', () => {
  const form = parseForm('a=1&m[k]=v&e[0]=x&e[1]=y&l[]=p&l[]=q&n%5Bk%5D=w&s=a+b&u=%C3%BC&empty=');
  assert.equal(plain(form), {
    a: '1',
    m: { k: 'v' },
    e: { 0: 'x', 1: 'y' },
    l: { 0: 'p', 1: 'q' },
    n: { k: 'w' },
    s: 'a b',
    u: 'ü',
    empty: '',
  });
});

test('form: a key named __proto__ stays an ordinary key', () => {
  const form = parseForm('metadata[__proto__]=x');
  assert.is(Object.keys(form.metadata as object)[0], '__proto__');
});

test('form: brackets inside a key and bad escapes are 400', () => {
  assert.throws(
    () => parseForm('metadata[a[b]]=x'),
    (e: unknown) => e instanceof StripeApiError && e.status === 400,
  );
  assert.throws(
    () => parseForm('a=%E0%A4%A'),
    (e: unknown) => e instanceof StripeApiError && e.status === 400,
  );
});

test('metadata: merge, unset, clear, and the 50-key limit', () => {
  const merged = applyMetadata({ a: '1', b: '2' }, parseMetadata({ b: '', c: '3' }));
  assert.equal(merged, { a: '1', c: '3' });
  assert.equal(applyMetadata(merged, parseMetadata('')), {});
  const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
  assert.throws(
    () => applyMetadata(fifty, { extra: 'x' }),
    (e: unknown) => e instanceof StripeApiError && e.body.param === 'metadata',
  );
  assert.equal(metadataPrevious({ a: '1', b: '2' }, { a: '1', c: '3' }), { b: '2', c: null });
});

test('metadata: keys named like members of Object.prototype are keys like any other', () => {
  const form = parseForm('metadata[__proto__]=p&metadata[toString]=t&metadata[constructor]=c');
  const set = applyMetadata({}, parseMetadata(form.metadata));
  assert.equal(Object.keys(set).sort(), ['__proto__', 'constructor', 'toString']);
  assert.is(Object.getPrototypeOf(set), Object.prototype);
  assert.is(Object.getOwnPropertyDescriptor(set, 'toString')?.value, 't');
  // New keys are null in previous_attributes, and removed ones their old value.
  const previous = metadataPrevious({}, set);
  assert.equal(Object.entries(previous ?? {}).sort(), [
    ['__proto__', null],
    ['constructor', null],
    ['toString', null],
  ]);
  const unset = applyMetadata(set, parseMetadata(parseForm('metadata[__proto__]=').metadata));
  assert.equal(Object.keys(unset).sort(), ['constructor', 'toString']);
  assert.equal(Object.entries(metadataPrevious(set, unset) ?? {}), [['__proto__', 'p']]);
});

const doc = (over: Partial<SearchDoc>): SearchDoc => ({
  email: null,
  name: null,
  phone: null,
  created: 100,
  metadata: {},
  ...over,
});

test('search: clauses, connectives, negation and null', () => {
  const jane = doc({
    email: 'Jane@Example.com',
    name: 'Jane Doe',
    metadata: { id: '7' },
    created: 200,
  });
  assert.ok(parseQuery("email:'jane@example.com'")(jane));
  assert.ok(parseQuery("name~'doe' AND metadata['id']:'7'")(jane));
  assert.ok(parseQuery('created>=200 created<201')(jane));
  assert.ok(parseQuery("name:'x' or phone:null")(jane));
  assert.not.ok(parseQuery("-name~'jan'")(jane));
  assert.ok(parseQuery('name:"Jane Doe"')(jane));
  assert.ok(parseQuery("name:'it\\'s'")(doc({ name: "it's" })));
  // A key named like a member of Object.prototype: absent unless the customer has it.
  for (const key of ['__proto__', 'toString', 'constructor']) {
    assert.ok(parseQuery(`metadata['${key}']:null`)(jane), key);
    assert.not.ok(parseQuery(`metadata['${key}']:'x'`)(jane), key);
    const own = doc({ metadata: Object.fromEntries([[key, 'x']]) });
    assert.ok(parseQuery(`metadata['${key}']:'x'`)(own), key);
  }
});

test('search: malformed queries throw 400 with param query', () => {
  for (const q of [
    '',
    'name',
    "name~'ab'",
    "unknown:'x'",
    "a:'1' AND b:'2' OR c:'3'",
    "name>'x'",
  ]) {
    assert.throws(
      () => parseQuery(q),
      (e: unknown) => e instanceof StripeApiError && e.body.param === 'query',
      q,
    );
  }
});

test('collection: newest first, cursors both ways, removal and trimming', () => {
  const c = new Collection<{ id: string }>('thing');
  for (let i = 0; i < 6; i++) c.put({ id: `t${i}` });
  const ids = (p: { data: { id: string }[] }) => p.data.map((x) => x.id);
  assert.equal(ids(c.page({ limit: 2 })), ['t5', 't4']);
  assert.equal(ids(c.page({ limit: 2, startingAfter: 't4' })), ['t3', 't2']);
  assert.equal(ids(c.page({ limit: 2, endingBefore: 't2' })), ['t4', 't3']);
  c.remove('t3');
  assert.equal(ids(c.page({ limit: 10 })), ['t5', 't4', 't2', 't1', 't0']);
  c.trimTo(2);
  assert.equal(ids(c.page({ limit: 10 })), ['t5', 't4']);
  assert.is(c.get('t0'), undefined);
  assert.throws(
    () => c.page({ limit: 1, startingAfter: 'nope' }),
    (e: unknown) => e instanceof StripeApiError && e.status === 400,
  );
});

test('signature: byte-identical to the SDK test header for the same payload, secret and time', () => {
  const stripe = new Stripe('sk_test_unit');
  const payload = JSON.stringify(
    { id: 'evt_1', object: 'event', data: { object: { name: 'Zoë' } } },
    null,
    2,
  );
  const secret = 'whsec_unit';
  const expected = stripe.webhooks.generateTestHeaderString({
    payload,
    secret,
    timestamp: 1_700_000_000,
  });
  assert.is(signatureHeader(payload, secret, 1_700_000_000), expected);
});

test.run();
