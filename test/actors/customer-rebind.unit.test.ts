// Rebinding Stripe to another account: the actor forgets what it knew of the old account, keeps
// what it owes Postgres and the other targets, and creates the customer anew on its next change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decide,
  forgetTargetAccount,
  persist,
  restore,
  type PersistedCustomer,
} from '../../actors/customer/index.ts';
import { created, given, stripeCreated, updated, when } from './gwt.ts';

test('the old account is forgotten; intent ids keep counting; a next change creates anew', () => {
  const w = when(given(created(), stripeCreated('cus_OLD')), updated({ name: 'Pending' }, 2));
  const before = persist(w.snapshot) as PersistedCustomer;
  const after = forgetTargetAccount(before, 'stripe');
  const stripe = after.context.targets.stripe!;
  assert.is(stripe.status, 'new');
  assert.is(stripe.externalId, null);
  assert.is(stripe.known, null);
  assert.is(stripe.pending, null);
  assert.is(stripe.intentSeq, before.context.targets.stripe!.intentSeq);
  assert.equal(after.value, { stripe: 'new' });
  assert.equal(after.context.inbound?.seen, []);

  const next = decide(restore(after), {
    ...updated({ name: 'In the new account' }, 3)(w),
  }).snapshot;
  const pending = next.context.targets.stripe.pending;
  assert.is(pending?.op, 'create');
  assert.not.equal(pending?.id, before.context.targets.stripe!.pending?.id);
});

test('a resync offers the customer to a target never asked, and changes nothing once synced', () => {
  const w = given(created(), stripeCreated('cus_OLD'));
  const forgotten = restore(
    forgetTargetAccount(persist(w.snapshot) as PersistedCustomer, 'stripe'),
  );
  const resync = (s: typeof forgotten) =>
    decide(s, { type: 'RetryRequested', data: { target: 'stripe' }, at: w.now });
  const offered = resync(forgotten);
  assert.is(offered.snapshot.context.targets.stripe.pending?.op, 'create');
  assert.equal(resync(w.snapshot).intents, [], 'a synced target holds the desired content');
});

test('a target that is off is left as it is', () => {
  const w = given(created());
  const persisted = persist(w.snapshot) as PersistedCustomer;
  assert.is(forgetTargetAccount(persisted, 'salesforce'), persisted);
});

test.run();
