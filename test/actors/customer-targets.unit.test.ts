// Targets are independent: one fact gives each region its intent, a failing region never holds
// the other back, and a target that is not configured records nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Value } from '@sinclair/typebox/value';
import {
  CustomerEventSchema,
  SalesforceIntents,
  TargetStateSchema,
  createCustomerMachine,
  customerMachine,
  decide,
  pendingIntents,
  persist,
  replay,
  restore,
  DEFAULT_POLICIES,
  type CustomerEvent,
} from '../../actors/customer/index.ts';
import { canonicalFields } from '../../core/canonical.ts';
import {
  CUSTOMER,
  FIELDS,
  created,
  given as givenStripeOnly,
  intents,
  pending,
  stripe,
  stripeCreated,
  stripeFailed,
  updated,
  type World,
} from './gwt.ts';
import {
  bothMachine,
  given,
  salesforce,
  sfCreated,
  sfFailed,
  sfPending,
  sfRetryRequested,
  when,
} from './two-targets.ts';

test('one fact gives each region its own intent', () => {
  const w = given(created());
  assert.equal(
    intents(w).map((i) => i.type),
    ['CreateStripeCustomer', 'CreateSalesforceAccount'],
  );
});

test("a failing Salesforce leaves Stripe's pending intent untouched, and Stripe goes on", () => {
  const w = given(created());
  const stripeIntent = pending(w);
  const failed = when(w, sfFailed('permanent'));
  assert.is(salesforce(failed).status, 'failed');
  assert.equal(pending(failed), stripeIntent);
  const done = when(failed, stripeCreated('cus_A1'), updated({ name: 'Ada King' }, 2));
  assert.is(pending(done).type, 'UpdateStripeCustomer');
  assert.is(sfPending(done).type, 'CreateSalesforceAccount', 'the newer fact reopens Salesforce');
});

test("a paused Salesforce does not hold Stripe's updates back", () => {
  let w = when(given(created()), stripeCreated('cus_A1'), sfFailed('rate_limited'));
  const paused = sfPending(w);
  w = when(w, updated({ name: 'Ada King' }, 2));
  assert.is(pending(w).type, 'UpdateStripeCustomer');
  assert.equal(sfPending(w), paused);
});

test("a failing Stripe leaves Salesforce's pending intent untouched", () => {
  const w = given(created());
  const sfIntent = sfPending(w);
  const failed = when(w, stripeFailed('permanent'));
  assert.is(stripe(failed).status, 'failed');
  assert.equal(sfPending(failed), sfIntent);
  assert.is(salesforce(when(failed, sfCreated())).status, 'synced');
});

test('a target that is not configured is off: no region, no intents', () => {
  const stripeOnly = createCustomerMachine(DEFAULT_POLICIES, { targets: ['stripe'] });
  const w = givenStripeOnly(created());
  assert.is(w.snapshot.context.targets.salesforce.status, 'off');
  assert.equal(w.snapshot.value, { stripe: 'pending' });
  assert.ok(intents(w).every((i) => i.target === 'stripe'));
  assert.equal(replay(CUSTOMER, w.events, stripeOnly).context, w.snapshot.context);
  assert.equal(replay(CUSTOMER, w.events, customerMachine).context, w.snapshot.context);
});

test('a target switched on later starts with the next fact', () => {
  const before = givenStripeOnly(created(), stripeCreated('cus_A1'));
  const restored = restore(persist(before.snapshot), bothMachine);
  const next = decide(
    restored,
    updated({ name: 'Ada King' }, 2)({ ...before, now: before.now + 1000 }),
    bothMachine,
  );
  const sf = next.snapshot.context.targets.salesforce;
  assert.is(sf.pending?.type, 'CreateSalesforceAccount');
  assert.equal(
    next.intents.map((i) => i.type),
    ['UpdateStripeCustomer', 'CreateSalesforceAccount'],
  );
});

/** A customer recorded with Stripe only, restored by a start that switches Salesforce on. */
function switchedOnLater() {
  const before = givenStripeOnly(created(), stripeCreated('cus_A1'));
  const world = { ...before, now: before.now + 1000 };
  return { world, snapshot: restore(persist(before.snapshot), bothMachine) };
}

/** Stripe's `customer.created` for our own create, as a catch-up lists it after the restart. */
const createEcho = (w: World): CustomerEvent => ({
  type: 'StripeCustomerObserved',
  data: {
    eventId: 'evt_create_echo',
    eventType: 'customer.created',
    stripeId: 'cus_A1',
    created: Math.floor(w.now / 1000) - 1,
    key: `rtws-${CUSTOMER}-create`,
    fields: canonicalFields(FIELDS),
    rtwsId: CUSTOMER,
  },
  at: w.now,
});

test('a target switched on later is not woken by an echo that changes nothing', () => {
  const { world, snapshot } = switchedOnLater();
  const echoed = decide(snapshot, createEcho(world), bothMachine);
  assert.equal(echoed.intents, [], 'nothing is created in Salesforce');
  assert.is(echoed.snapshot.context.targets.salesforce.status, 'off');
  assert.equal(echoed.snapshot.context.targets.stripe, snapshot.context.targets.stripe);
  // The customer's next change takes it up.
  const next = decide(echoed.snapshot, updated({ name: 'Ada King' }, 2)(world), bothMachine);
  assert.is(next.snapshot.context.targets.salesforce.pending?.type, 'CreateSalesforceAccount');
});

test('a resync or an export offers the customer to a target switched on later', () => {
  const { world, snapshot } = switchedOnLater();
  const offered = decide(snapshot, sfRetryRequested()(world), bothMachine);
  assert.equal(
    offered.intents.map((i) => i.type),
    ['CreateSalesforceAccount'],
  );
  assert.is(offered.snapshot.context.targets.salesforce.status, 'pending');
  assert.equal(offered.snapshot.value, { stripe: 'synced', salesforce: 'pending' });
});

test('a target switched off records nothing more, and its pending intent is not offered', () => {
  const before = given(created(), stripeCreated('cus_A1'));
  const restored = restore(persist(before.snapshot), customerMachine);
  assert.equal(restored.value, { stripe: 'synced' });
  assert.equal(
    pendingIntents(restored).map((d) => d.target),
    [],
  );
  const next = decide(
    restored,
    updated({ name: 'Ada King' }, 2)({ ...before, now: before.now + 1000 }),
  );
  assert.equal(
    next.intents.map((i) => i.type),
    ['UpdateStripeCustomer'],
  );
  assert.equal(
    next.snapshot.context.targets.salesforce,
    before.snapshot.context.targets.salesforce,
  );
});

test('replay rebuilds both regions; every event and state passes its schema', () => {
  const w = when(
    given(created()),
    sfFailed('transient'),
    sfCreated(),
    stripeCreated('cus_A1'),
    updated({ phone: null }, 2),
    sfFailed('rate_limited'),
  );
  assert.ok(Value.Check(SalesforceIntents.Update, sfPending(w)));
  assert.equal(replay(CUSTOMER, w.events, bothMachine).context, w.snapshot.context);
  for (const event of w.events) assert.ok(Value.Check(CustomerEventSchema, event), event.type);
  assert.ok(Value.Check(TargetStateSchema, salesforce(w)));
  assert.ok(Value.Check(TargetStateSchema, givenStripeOnly().snapshot.context.targets.salesforce));
});

test.run();
