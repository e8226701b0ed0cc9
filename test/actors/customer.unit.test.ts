import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalFields } from '../../core/canonical.ts';
import { MACHINE_VERSION } from '../../actors/customer/index.ts';
import {
  CUSTOMER,
  FIELDS,
  again,
  created,
  deleted,
  given,
  intents,
  pending,
  persisted,
  stripe,
  stripeCreated,
  stripeDeleted,
  stripeUpdated,
  stale,
  updated,
  when,
  type Step,
} from './gwt.ts';

const linked = () => given(created(), stripeCreated('cus_A1'));

test('a new customer records CreateStripeCustomer with the create key and rtws_id', () => {
  const w = given(created());
  const [intent, ...more] = intents(w);
  assert.equal(more, []);
  assert.is(intent?.type, 'CreateStripeCustomer');
  assert.is(intent?.key, `rtws-${CUSTOMER}-create`);
  assert.equal(intent?.params, {
    ...canonicalFields(FIELDS),
    metadata: { plan: 'gold', region: 'eu', rtws_id: CUSTOMER },
  });
  assert.is(stripe(w).status, 'pending');
  assert.equal(w.snapshot.value, { stripe: 'pending' });
});

test('a successful create links the customer and records what Stripe now holds', () => {
  const w = when(given(created()), stripeCreated('cus_A1'));
  assert.equal(intents(w), []);
  assert.is(stripe(w).externalId, 'cus_A1');
  assert.equal(stripe(w).known, canonicalFields(FIELDS));
  assert.is(stripe(w).status, 'synced');
  assert.is(stripe(w).syncedVersion, 1);
  assert.is(stripe(w).pending, null);
  assert.is(stripe(w).watermarks.lastPushSecond, Math.floor(w.now / 1000));
});

test('an update pushes only the changed fields, metadata as a patch', () => {
  const w = when(
    linked(),
    updated({ email: 'ADA@Example.org ', metadata: { plan: 'platinum', tier: '2' } }, 2),
  );
  const [intent] = intents(w);
  assert.is(intent?.type, 'UpdateStripeCustomer');
  assert.is(intent?.key, `rtws-${CUSTOMER}-2-update`);
  assert.equal(intent?.params, {
    externalId: 'cus_A1',
    patch: { email: 'ada@example.org', metadata: { plan: 'platinum', region: null, tier: '2' } },
    base: { email: 'ada@example.com', metadata: { plan: 'gold', region: 'eu', tier: null } },
  });

  const done = when(w, stripeUpdated());
  assert.equal(
    stripe(done).known,
    canonicalFields({
      ...FIELDS,
      email: 'ada@example.org',
      metadata: { plan: 'platinum', tier: '2' },
    }),
  );
  assert.is(stripe(done).status, 'synced');
  assert.is(stripe(done).syncedVersion, 2);
});

test('an update that changes nothing canonical records no intent', () => {
  const w = when(
    linked(),
    updated({ name: '  Ada Lovelace ', email: 'Ada@EXAMPLE.com', phone: '+44 20 7946 0000' }, 2),
  );
  assert.equal(intents(w), []);
  assert.is(stripe(w).status, 'synced');
  assert.is(stripe(w).syncedVersion, 2);
});

test('changes made while a create is in flight follow as one update of the difference', () => {
  const w = when(
    given(created()),
    updated({ phone: null }, 2),
    updated({ phone: null, name: 'Ada King' }, 3),
  );
  assert.equal(intents(w), [], 'the create stays the only intent');
  const after = when(w, stripeCreated());
  const [intent] = intents(after);
  assert.is(intent?.type, 'UpdateStripeCustomer');
  assert.is(intent?.key, `rtws-${CUSTOMER}-3-update`);
  assert.equal(intent?.params, {
    externalId: 'cus_A1',
    patch: { name: 'Ada King', phone: null },
    base: { name: 'Ada Lovelace', phone: '+44 20 7946 0000' },
  });
});

test('a customer deleted before any create records nothing and is deleted', () => {
  const w = given(deleted(1));
  assert.equal(intents(w), []);
  assert.is(stripe(w).status, 'deleted');
  assert.equal(w.snapshot.value, { stripe: 'deleted' });
  const later = when(w, updated({ name: 'Back again' }, 2), created({}, 3));
  assert.equal(intents(later), [], 'delete beats edit');
  assert.is(stripe(later).status, 'deleted');
});

test('a delete while the create is in flight waits for the link, then deletes', () => {
  const w = when(given(created()), deleted(2));
  assert.equal(intents(w), []);
  assert.is(pending(w).type, 'CreateStripeCustomer');

  const linkedThenDelete = when(w, stripeCreated('cus_A1'));
  const [intent] = intents(linkedThenDelete);
  assert.is(intent?.type, 'DeleteStripeCustomer');
  assert.is(intent?.key, null);
  assert.equal(intent?.params, { externalId: 'cus_A1' });

  const done = when(linkedThenDelete, stripeDeleted());
  assert.is(stripe(done).status, 'deleted');
  assert.is(stripe(done).pending, null);
  assert.is(stripe(done).deletedRemotely, false);
});

test('a delete of a linked customer records DeleteStripeCustomer; later facts never resurrect it', () => {
  const w = when(linked(), deleted(2));
  assert.is(intents(w)[0]?.type, 'DeleteStripeCustomer');
  const done = when(w, stripeDeleted(), updated({ name: 'Zombie' }, 3));
  assert.equal(intents(done), []);
  assert.is(stripe(done).status, 'deleted');
  assert.ok(done.snapshot.context.desired?.deleted);
});

test('stale and duplicate facts are ignored', () => {
  const w = when(linked(), updated({ name: 'Ada King' }, 2), stripeUpdated());
  const v2 = w.events[2]!;
  const before = persisted(w);
  const after = when(w, again(v2), stale(created()), stale(updated({ name: 'Old news' }, 2)));
  assert.equal(intents(after), []);
  assert.equal(persisted(after), before);
});

test('a fact for another customer is ignored', () => {
  const w = given(created());
  const other = {
    customer_id: 'someone-else',
    version: 5,
    origin: 'api',
    outbox_id: 9,
    occurred_at: 'x',
  };
  const foreign = when(w, (x) => ({ ...updated({ name: 'Other' }, 5)(x), metadata: other }));
  assert.equal(intents(foreign), []);
  assert.is(foreign.snapshot.context.desired?.version, 1);
});

test('a Stripe-born customer is never created on Stripe: it waits for its link', () => {
  const bornOnStripe: Step = (x) => {
    const fact = created()(x);
    return fact.type === 'CustomerCreated'
      ? { ...fact, metadata: { ...fact.metadata, origin: 'stripe' } }
      : fact;
  };
  const w = given(bornOnStripe, updated({ name: 'Ada King' }, 2));
  assert.equal(intents(w), []);
  assert.is(stripe(w).status, 'new');
  assert.is(w.snapshot.context.desired?.bornOn, 'stripe');
});

test('the snapshot is stamped with the machine version', () => {
  assert.is(given().snapshot.context.machineVersion, MACHINE_VERSION);
  assert.is(MACHINE_VERSION, 2);
});

test.run();
