// What the runtime reads from a snapshot: restored from its JSON in KV, it decides exactly as the
// live one; and pendingIntents tells when each target's intent is due. A rebuild from the recorded
// stream is checked against a live run's saved snapshot in test/runtime/customer-replay.int.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  customerMachine,
  decide,
  pendingIntents,
  persist,
  restore,
} from '../../actors/customer/index.ts';
import { decodeActor, encodeActor } from '../../actors/customer/snapshot-codec.ts';
import {
  created,
  deleted,
  given,
  pending,
  stripeCreated,
  stripeFailed,
  updated,
  when,
} from './gwt.ts';

test('a snapshot persisted as JSON and restored decides exactly as the live one', () => {
  const w = when(
    given(created()),
    stripeCreated(),
    updated({ name: 'Ada King' }, 2),
    stripeFailed('transient'),
  );
  const loaded = restore(JSON.parse(JSON.stringify(persist(w.snapshot))));
  const outcome = {
    type: 'StripeCustomerUpdated' as const,
    data: { intentId: pending(w).id },
    at: w.now + 10_000,
  };
  const live = decide(w.snapshot, outcome);
  const resumed = decide(loaded, outcome);
  assert.equal(resumed.snapshot.value, live.snapshot.value);
  assert.equal(resumed.snapshot.context, live.snapshot.context);
  assert.is(live.snapshot.context.targets.stripe.status, 'synced');
});

test('metadata with the keys XState takes for a spawned actor is stored and read back as it is', () => {
  // `sessionId`, `send` and `ref`: XState's own persisting stored such a map as a stand-in.
  const metadata = { plan: 'gold', ref: 'r-1', send: 'post', sessionId: 's-9' };
  const w = when(
    given(created({ metadata })),
    stripeCreated(),
    updated({ name: 'Ada King', metadata }, 2),
  );
  const stored = JSON.parse(JSON.stringify(encodeActor(w.snapshot))) as unknown;
  const loaded = decodeActor(w.snapshot.context.customerId, stored);
  assert.equal(loaded.context.desired?.fields.metadata, metadata);
  assert.equal(loaded.context.targets.stripe.known?.metadata, metadata);
  assert.equal(loaded.context, w.snapshot.context);
});

test("a snapshot without such keys is stored byte for byte as XState's own persisting stores it", () => {
  // So that a snapshot stored before encodes the same, and no step saves again for it.
  const w = when(given(created()), stripeCreated(), updated({ name: 'Ada King' }, 2));
  assert.is(
    JSON.stringify(persist(w.snapshot)),
    JSON.stringify(customerMachine.getPersistedSnapshot(w.snapshot)),
  );
});

test("pendingIntents lists each target's intent with the instant it is due", () => {
  const w = when(
    given(created()),
    stripeCreated(),
    updated({ name: 'Ada King' }, 2),
    stripeFailed('transient'),
  );
  const [due, ...more] = pendingIntents(w.snapshot);
  assert.equal(more, []);
  assert.is(due?.target, 'stripe');
  assert.is(due?.intent.type, 'UpdateStripeCustomer');
  assert.ok((due?.dueAt ?? 0) > w.now, 'a retry is due after a backoff');
  assert.equal(pendingIntents(given(deleted(1)).snapshot), []);
});

test.run();
