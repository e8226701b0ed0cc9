import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalFields } from '../../core/canonical.ts';
import { decide, pendingIntents, persist, replay, restore } from '../../actors/customer/index.ts';
import {
  CUSTOMER,
  FIELDS,
  created,
  deleted,
  given,
  pending,
  persisted,
  stripeCreated,
  stripeDeleted,
  stripeFailed,
  stripeFound,
  stripeUpdated,
  updated,
  when,
} from './gwt.ts';

function history() {
  return given(
    created(),
    stripeFailed('uncertain'),
    stripeFound('cus_F1', { ...canonicalFields(FIELDS), name: 'Ada' }),
    stripeFailed('transient'),
    stripeFailed('rate_limited', { retryAfterMs: 2_000 }),
    updated({ metadata: { plan: 'gold' } }, 2),
    stripeUpdated(),
    stripeFailed('permanent'),
    updated({ metadata: { plan: 'gold', seats: '3' } }, 3),
    stripeUpdated(),
    deleted(4),
    stripeDeleted(),
  );
}

test('replaying the recorded events rebuilds the incrementally built snapshot', () => {
  const w = history();
  const rebuilt = replay(CUSTOMER, w.events);
  assert.equal(
    JSON.parse(JSON.stringify(persist(rebuilt))),
    JSON.parse(JSON.stringify(persist(w.snapshot))),
  );
  assert.equal(rebuilt.context.targets.stripe.status, 'deleted', 'the fold reached the end');
});

test('every prefix of the history replays to the snapshot recorded at that point', () => {
  const w = history();
  let step = given();
  for (let i = 0; i < w.events.length; i++) {
    const event = w.events[i]!;
    step = when(step, () => event);
    assert.equal(
      persisted({ ...step, snapshot: replay(CUSTOMER, w.events.slice(0, i + 1)) }),
      persisted(step),
      `after event ${i}`,
    );
  }
});

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
    intentId: pending(w).id,
    at: w.now + 10_000,
  };
  const live = decide(w.snapshot, outcome);
  const resumed = decide(loaded, outcome);
  assert.equal(resumed.snapshot.value, live.snapshot.value);
  assert.equal(resumed.snapshot.context, live.snapshot.context);
  assert.is(live.snapshot.context.targets.stripe.status, 'synced');
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
