// Changes made in Stripe flow back into Postgres with origin `stripe`; rtws's own writes do not.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type Stripe from 'stripe';
import { testSize } from '../harness/services.ts';
import { customerHistory } from '../../adapters/jetstream/customer-history.ts';
import { authHeaders } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { linked, quiet, row, rowWhen, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('dashboard edits');
test.before(async (ctx) => {
  ctx.s = await twoWay();
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

test('a dashboard edit of name and email reaches Postgres, and so does every later one', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Ada', email: 'ada@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  await s.stripe.customers.update(stripeId, { name: 'Ada Lovelace', email: 'ADA@lovelace.dev' });
  const first = await rowWhen(s, id, (r) => r.name === 'Ada Lovelace');
  assert.is(first?.email, 'ada@lovelace.dev');
  assert.is(first?.origin, 'stripe');
  await s.stripe.customers.update(stripeId, { name: 'Augusta Ada' });
  assert.is((await rowWhen(s, id, (r) => r.name === 'Augusta Ada'))?.name, 'Augusta Ada');
  // A revert to an earlier value is a change too.
  await s.stripe.customers.update(stripeId, { name: 'Ada Lovelace' });
  assert.is((await rowWhen(s, id, (r) => r.name === 'Ada Lovelace'))?.name, 'Ada Lovelace');
});

test('metadata keys named like members of Object.prototype flow both ways, `__proto__` too', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Proto', metadata: { plan: 'a' } });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  // Computed keys: a literal `__proto__: …` would set the object's prototype, not a key.
  const odd = { ['__proto__']: 'p', ['constructor']: 'c', ['toString']: 't' };
  await s.stripe.customers.update(stripeId, { metadata: odd });
  const keys = (m: Record<string, string> | undefined) =>
    Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const held = await rowWhen(s, id, (r) => Object.hasOwn(r.metadata, '__proto__'));
  assert.equal(keys(held?.metadata), [
    ['__proto__', 'p'],
    ['constructor', 'c'],
    ['plan', 'a'],
    ['toString', 't'],
  ]);
  // An API edit of another key leaves them, in Postgres and in Stripe.
  await s.api.patch(id, { metadata: { plan: 'b' } });
  const inStripe = await eventually(
    async () => (await s.stripe.customers.retrieve(stripeId)) as Stripe.Customer,
    (c) => c.metadata.plan === 'b',
    10_000,
  );
  assert.equal(
    keys(inStripe.metadata).filter(([k]) => k !== 'rtws_id'),
    [
      ['__proto__', 'p'],
      ['constructor', 'c'],
      ['plan', 'b'],
      ['toString', 't'],
    ],
  );
  // Removed in the dashboard, removed here.
  await s.stripe.customers.update(stripeId, { metadata: { ['__proto__']: '', ['toString']: '' } });
  const removed = await rowWhen(s, id, (r) => !Object.hasOwn(r.metadata, '__proto__'));
  assert.equal(keys(removed?.metadata), [
    ['constructor', 'c'],
    ['plan', 'b'],
  ]);
});

test('an edit caught between our push and its echo is applied; the echo writes nothing', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Grace', email: 'grace@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  s.emu.pauseWebhooks();
  const { version } = await s.api.patch(id, { name: 'Grace Hopper' });
  // Our push has landed in Stripe; its echo is held back.
  const pushed = async () => (await s.stripe.customers.retrieve(stripeId)) as { name: string };
  for (let i = 0; i < 100 && (await pushed()).name !== 'Grace Hopper'; i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.is((await pushed()).name, 'Grace Hopper');
  await s.stripe.customers.update(stripeId, { email: 'grace@navy.mil' });
  s.emu.resumeWebhooks();
  const after = await rowWhen(s, id, (r) => r.email === 'grace@navy.mil');
  assert.is(after?.name, 'Grace Hopper');
  await quiet(s);
  const final = await row(s, id);
  // One write from Stripe (the email); the echo of our name added none.
  assert.is(final?.version, version + 1);
  assert.is(final?.email, 'grace@navy.mil');
});

test('the echo of our own write ends at mapping: it never reaches the actor, a dashboard edit does', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Mapped', email: 'mapped@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  const { version } = await s.api.patch(id, { name: 'Mapped Twice' });
  const key = `rtws-${id}-${version}-update`;
  await rowWhen(s, id, () => true);
  const sent = () =>
    s.emu
      .requests({ method: 'POST', path: `/v1/customers/${stripeId}` })
      .some((r) => r.idempotencyKey === key);
  for (let i = 0; i < 100 && !sent(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(sent(), 'our push was made');
  await s.stripe.customers.update(stripeId, { phone: '+1 555 0100' });
  await rowWhen(s, id, (r) => r.phone === '+1 555 0100');
  await quiet(s);
  const seen = (await customerHistory(s.o.nats, s.t.names, id))
    .map((r) => r.message as { type: string; data: { key?: string | null } })
    .filter((m) => m.type === 'StripeCustomerObserved')
    .map((m) => m.data.key ?? '');
  assert.ok(!seen.includes(key), `the echo of ${key} reached the actor: ${JSON.stringify(seen)}`);
  // The dashboard's SDK sends a key of its own, or none.
  assert.ok(
    seen.some((k) => !k.startsWith('rtws-')),
    `the dashboard edit did: ${JSON.stringify(seen)}`,
  );
  const metrics = await (await fetch(`${s.rtws.url}/metrics`, { headers: authHeaders() })).text();
  const dropped = /^rtws_inbound_echoes_dropped_total (\d+)/m.exec(metrics)?.[1];
  assert.ok(Number(dropped) >= 1, `echoes dropped: ${dropped}`);
});

test('API edits cause no write from Stripe and no more Stripe writes than changes', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Echo', email: 'echo@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  s.emu.clearRequests();
  const edits = testSize('RTWS_ECHO_EDITS', 1_000);
  let version = 1;
  for (let i = 0; i < edits; i++) {
    ({ version } = await s.api.patch(id, { name: `Echo ${i}`, metadata: { n: String(i) } }));
  }
  await rowWhen(s, id, () => true);
  await quiet(s, 2_000);
  const final = await row(s, id);
  assert.is(final?.version, version, 'no write with origin stripe');
  assert.is(final?.origin, 'api');
  const writes = s.emu.requests({ method: 'POST', path: `/v1/customers/${stripeId}` });
  assert.ok(writes.length >= 1 && writes.length <= edits, `${writes.length} Stripe writes`);
  // Every write carried our key (an echo caused none of its own), and once quiet there are none.
  assert.ok(writes.every((w) => w.idempotencyKey?.startsWith('rtws-')));
  await quiet(s, 1_000);
  const after = s.emu.requests({ method: 'POST', path: `/v1/customers/${stripeId}` });
  assert.is(after.length, writes.length, 'no write once quiet');
  const inStripe = await s.stripe.customers.retrieve(stripeId);
  assert.is((inStripe as { name: string }).name, `Echo ${edits - 1}`);
});

test('an API edit whose value a held dashboard edit already set is pushed once, then all is quiet', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Case', email: 'case@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  s.emu.pauseWebhooks();
  await s.stripe.customers.update(stripeId, { email: 'C@Example.com' });
  s.emu.clearRequests();
  const { version } = await s.api.patch(id, { email: 'C@Example.com' });
  // Postgres (canonical) and Stripe already hold the same email, yet rtws has not seen the
  // dashboard's event: it pushes its own value, which differs from Stripe's in case only.
  const pushed = async () =>
    ((await s.stripe.customers.retrieve(stripeId)) as Stripe.Customer).email;
  for (let i = 0; i < 100 && (await pushed()) !== 'c@example.com'; i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.is(await pushed(), 'c@example.com');
  s.emu.resumeWebhooks();
  await quiet(s, 1_500);
  const writes = s.emu.requests({ method: 'POST', path: `/v1/customers/${stripeId}` });
  assert.equal(
    writes.map((w) => w.idempotencyKey),
    [`rtws-${id}-${version}-update`],
    'one push, and no write once the late event arrived',
  );
  const final = await row(s, id);
  assert.is(final?.version, version, 'no write from Stripe: its edit is the value Postgres has');
  assert.is(final?.email, 'c@example.com');
});

test.run();
