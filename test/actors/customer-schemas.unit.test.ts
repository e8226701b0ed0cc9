// The runtime validates what it loads (snapshots from KV, events from JetStream, executors'
// reports) against the actor's TypeBox schemas; these must accept what the machine produces.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Value } from '@sinclair/typebox/value';
import {
  CustomerEventSchema,
  IntentSchema,
  StripeIntents,
  StripeOutcomes,
  TargetStateSchema,
} from '../../actors/customer/index.ts';
import {
  created,
  given,
  pending,
  stripe,
  stripeCreated,
  stripeFailed,
  updated,
  when,
} from './gwt.ts';

const history = () =>
  when(
    given(created(), stripeCreated()),
    updated({ name: 'Ada King' }, 2),
    stripeFailed('transient'),
  );

test('every recorded event passes the event schema', () => {
  const w = history();
  for (const event of w.events) assert.ok(Value.Check(CustomerEventSchema, event), event.type);
});

test('the target state and its pending intent pass their schemas', () => {
  const w = history();
  assert.ok(Value.Check(TargetStateSchema, stripe(w)));
  assert.ok(Value.Check(IntentSchema, pending(w)));
  assert.ok(Value.Check(StripeIntents.Update, pending(w)));
  assert.not.ok(Value.Check(StripeIntents.Create, pending(w)));
});

test('malformed reports are rejected', () => {
  const failed = (failure: string) => ({
    type: 'StripeCallFailed',
    data: { intentId: 'stripe-1', failure, reason: 'x', attempt: 1 },
    at: 1,
  });
  assert.ok(Value.Check(StripeOutcomes.CallFailed, failed('transient')));
  assert.not.ok(Value.Check(CustomerEventSchema, failed('teapot')));
  assert.not.ok(
    Value.Check(CustomerEventSchema, {
      type: 'StripeCustomerCreated',
      data: { intentId: 'stripe-1' },
      at: 1,
    }),
  );
  assert.not.ok(
    Value.Check(CustomerEventSchema, { type: 'DesiredChanged', at: 1 }),
    'internal only',
  );
});

test.run();
