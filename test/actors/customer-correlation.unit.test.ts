// Correlation ids in the customer actor: an intent carries the id of the change it serves, read
// from the recorded event (its message's header), so a rebuild stamps exactly what the live run did.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Value } from '@sinclair/typebox/value';
import { IntentSchema, replay } from '../../actors/customer/index.ts';
import { decodeActor, encodeActor } from '../../actors/customer/snapshot-codec.ts';
import {
  CUSTOMER,
  created,
  given,
  pending,
  stripeCreated,
  stripeFailed,
  updated,
  when,
  type Step,
} from './gwt.ts';

/** The step's event as recorded with a correlation header. */
const correlated =
  (step: Step, correlation: string): Step =>
  (w) => ({ ...step(w), correlation });

test('the intent a change records carries its correlation id', () => {
  const w = given(correlated(created(), 'req-create'));
  assert.is(pending(w).op, 'create');
  assert.is(pending(w).correlationId, 'req-create');
  assert.ok(Value.Check(IntentSchema, pending(w)));
});

test("a retry keeps the id of the change; the push after a call serves the latest change's", () => {
  const w = given(correlated(created(), 'req-create'));
  const failed = when(w, correlated(stripeFailed('transient'), 'req-create'));
  assert.is(pending(failed).id, pending(w).id);
  assert.is(pending(failed).correlationId, 'req-create');
  // An edit while the create is in flight waits for it; the update it then records is the edit's.
  const edited = when(
    failed,
    correlated(updated({ name: 'Ada King' }, 2), 'req-edit'),
    correlated(stripeCreated(), 'req-create'),
  );
  assert.is(pending(edited).op, 'update');
  assert.is(pending(edited).correlationId, 'req-edit');
});

test('without an id, nothing is stamped: the snapshot is as before', () => {
  const w = given(created());
  assert.not.ok('correlationId' in pending(w));
  assert.not.ok('correlationId' in w.snapshot.context.desired!);
});

test('a rebuild from the recorded events stamps the same ids', () => {
  const w = when(
    given(correlated(created(), 'req-create')),
    correlated(updated({ name: 'Ada King' }, 2), 'req-edit'),
    correlated(stripeCreated(), 'req-create'),
  );
  assert.equal(replay(CUSTOMER, w.events).context, w.snapshot.context);
  // And the stored snapshot reads back with them.
  const stored = JSON.parse(JSON.stringify(encodeActor(w.snapshot))) as unknown;
  assert.is(
    decodeActor(CUSTOMER, stored).context.targets.stripe.pending?.correlationId,
    'req-edit',
  );
});

test.run();
