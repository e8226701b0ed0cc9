// Which customer a Stripe customer event belongs to, under the trust rules for metadata.rtws_id,
// and which events are refused as malformed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { recordLink } from '../../adapters/postgres/links.ts';
import { pruneInbox } from '../../adapters/postgres/inbound-apply.ts';
import { customerIdFor, stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';
import { parseCustomerEvent } from '../../adapters/stripe/customer-events.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t: TestEnvironment; o: Observer }>('inbound mapping');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

async function customer(o: Observer, name: string): Promise<string> {
  const [r] = await o.sql<
    { id: string }[]
  >`INSERT INTO customers (name) VALUES (${name}) RETURNING id`;
  return r!.id;
}

test('rtws_id is trusted when no link says otherwise', async ({ o }) => {
  const id = await customer(o, 'Trusted');
  assert.is(await customerIdFor(o.sql, 'cus_new1', id), id);
  await recordLink(o.sql, id, 'stripe', 'cus_new1');
  assert.is(await customerIdFor(o.sql, 'cus_new1', id), id);
});

test('the link table wins over an rtws_id that disagrees', async ({ o }) => {
  const a = await customer(o, 'Linked');
  const b = await customer(o, 'Named');
  await recordLink(o.sql, a, 'stripe', 'cus_link2');
  assert.is(await customerIdFor(o.sql, 'cus_link2', b), a);
  assert.is(await customerIdFor(o.sql, 'cus_link2', null), a);
});

test('a copy carrying the rtws_id of a customer linked elsewhere is a customer of its own', async ({
  o,
}) => {
  const id = await customer(o, 'Original');
  await recordLink(o.sql, id, 'stripe', 'cus_orig3');
  assert.is(await customerIdFor(o.sql, 'cus_copy3', id), stripeBornId('cus_copy3'));
});

test('no rtws_id and no link: Stripe-born, with an id derived from the Stripe id', async ({
  o,
}) => {
  const id = await customerIdFor(o.sql, 'cus_born4', null);
  assert.is(id, stripeBornId('cus_born4'));
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is.not(stripeBornId('cus_born5'), id);
  // An rtws_id that is not one of our ids is not trusted.
  assert.is(await customerIdFor(o.sql, 'cus_born4', 'not-a-uuid'), id);
});

test('the inbox forgets event ids older than its retention, and only those', async ({ o }) => {
  const id = await customer(o, 'Inbox');
  await o.sql`
    INSERT INTO inbox (source, event_id, customer_id, applied_at) VALUES
      ('stripe', 'evt_old', ${id}, now() - interval '8 days'),
      ('stripe', 'evt_new', ${id}, now() - interval '6 days')`;
  assert.is(await pruneInbox(o.sql, 7 * 86_400), 1);
  const left = await o.sql<{ event_id: string }[]>`SELECT event_id FROM inbox`;
  assert.equal(
    left.map((r) => r.event_id),
    ['evt_new'],
  );
});

const bytes = (v: unknown) =>
  new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const event = (over: Record<string, unknown> = {}) => ({
  id: 'evt_1',
  type: 'customer.updated',
  created: 1_700_000_000,
  request: { id: 'req_1', idempotency_key: 'rtws-x-2-update' },
  data: {
    object: {
      id: 'cus_1',
      object: 'customer',
      name: ' Ada ',
      email: 'ADA@example.com',
      phone: null,
      address: null,
      metadata: { rtws_id: 'abc', plan: 'gold' },
    },
  },
  ...over,
});

test('an event is read into canonical content, with its key and rtws_id', () => {
  const parsed = parseCustomerEvent(bytes(event()));
  assert.ok(parsed.ok);
  if (!parsed.ok) return;
  assert.equal(parsed.observed, {
    type: 'StripeCustomerObserved',
    data: {
      eventId: 'evt_1',
      eventType: 'customer.updated',
      stripeId: 'cus_1',
      created: 1_700_000_000,
      key: 'rtws-x-2-update',
      fields: {
        name: 'Ada',
        email: 'ada@example.com',
        phone: null,
        address: null,
        metadata: { plan: 'gold' },
      },
      rtwsId: 'abc',
    },
  });
});

test("an event names the fields it changed: previous_attributes' keys, metadata by key", () => {
  const changed = (over: Record<string, unknown>) => {
    const parsed = parseCustomerEvent(bytes(event(over)));
    return parsed.ok ? parsed.observed.data.changed : 'unparsed';
  };
  const object = event().data.object;
  const previous = { email: 'old@example.com', balance: 5, metadata: { plan: null, x: 'y' } };
  assert.equal(changed({ data: { object, previous_attributes: previous } }), [
    'email',
    'metadata.plan',
    'metadata.x',
  ]);
  assert.equal(changed({ type: 'customer.created' }), [
    'name',
    'email',
    'phone',
    'address',
    'metadata.plan',
  ]);
  // Unknown: an update without previous_attributes, and a deletion.
  assert.is(changed({}), undefined);
  assert.is(changed({ type: 'customer.deleted' }), undefined);
});

test('malformed events are refused with a reason', () => {
  const cases: [unknown, RegExp][] = [
    ['{not json', /not JSON/],
    [{ ...event(), id: undefined }, /no id/],
    [event({ type: 'customer.discount.created' }), /not a customer event/],
    [event({ data: { object: { id: 'in_1', object: 'invoice' } } }), /not a customer/],
    [event({ created: 1.5 }), /whole seconds/],
    [
      event({ data: { object: { id: 'cus_1', object: 'customer', name: 42, metadata: {} } } }),
      /data.object\/name/,
    ],
  ];
  for (const [input, reason] of cases) {
    const parsed = parseCustomerEvent(bytes(input));
    assert.ok(!parsed.ok);
    if (!parsed.ok) assert.match(parsed.reason, reason);
  }
});

test.run();
