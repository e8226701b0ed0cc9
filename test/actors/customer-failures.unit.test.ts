import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalFields } from '../../core/canonical.ts';
import { DEFAULT_RETRY } from '../../core/policy/retry.ts';
import {
  createCustomerMachine,
  decide,
  DEFAULT_POLICIES,
  replay,
  type CustomerSnapshot,
} from '../../actors/customer/index.ts';
import {
  CUSTOMER,
  FIELDS,
  created,
  deleted,
  given,
  intents,
  pending,
  persisted,
  retryRequested,
  stripe,
  stripeCreated,
  stripeFailed,
  stripeFound,
  stripeNotFound,
  stripeUpdated,
  updated,
  when,
  type Step,
  type World,
} from './gwt.ts';

const linked = () => given(created(), stripeCreated('cus_A1'));
const updating = () => when(linked(), updated({ name: 'Ada King' }, 2));
const times = (n: number, step: Step): Step[] => Array.from({ length: n }, () => step);

test('an uncertain create is looked up from the recorded attempt time, minus a minute', () => {
  const w = given(created());
  const recordedAt = pending(w).recordedAt;
  const after = when(w, stripeFailed('uncertain'));
  const [intent] = intents(after);
  assert.is(intent?.type, 'FindStripeCustomer');
  assert.equal(intent?.params, {
    rtwsId: CUSTOMER,
    createdSince: Math.floor(recordedAt / 1000) - 60,
    sent: pending(w).params,
  });
  assert.is(stripe(after).status, 'pending');
  assert.is(stripe(after).externalId, null);
});

test('a lookup that finds the customer links it as holding what the create sent; a later change of ours is pushed', () => {
  const w = when(
    given(created()),
    stripeFailed('uncertain'),
    updated({ phone: '+44 20 7946 0001' }, 2),
    stripeFound('cus_F1', canonicalFields(FIELDS), 'ours'),
  );
  assert.is(stripe(w).externalId, 'cus_F1');
  assert.equal(stripe(w).known, canonicalFields(FIELDS));
  const update = intents(w).at(-1);
  assert.is(update?.type, 'UpdateStripeCustomer');
  assert.equal(update?.params, {
    externalId: 'cus_F1',
    patch: { phone: '+44 20 7946 0001' },
    base: { phone: '+44 20 7946 0000' },
  });
});

test('what a found customer holds besides what the create sent is no value of ours to push over', () => {
  // Someone edited it in the dashboard after the create landed; its event is on its way.
  const edited = { ...canonicalFields(FIELDS), name: 'Ada, edited in Stripe' };
  const w = when(
    given(created()),
    stripeFailed('uncertain'),
    stripeFound('cus_F1', edited, 'ours'),
  );
  assert.is(stripe(w).externalId, 'cus_F1');
  assert.equal(
    intents(w).filter((i) => i.op === 'update'),
    [],
    'the name is not pushed back',
  );
});

test('a customer found that was made before our create (stamped with our id) takes our values', () => {
  const theirs = { ...canonicalFields(FIELDS), name: 'Made in Stripe first' };
  const w = given(created());
  const made = pending(w).recordedAt - 30_000;
  const found = when(w, stripeFailed('uncertain'), stripeFound('cus_X', theirs, made));
  assert.equal(stripe(found).known, theirs, 'known as found');
  assert.equal(intents(found).at(-1)?.params, {
    externalId: 'cus_X',
    patch: { name: FIELDS.name },
    base: { name: 'Made in Stripe first' },
  });
});

test('a lookup that finds nothing retries the create with a new key suffix', () => {
  const w = when(given(created()), stripeFailed('uncertain'), stripeNotFound());
  const create = intents(w).at(-1);
  assert.is(create?.type, 'CreateStripeCustomer');
  assert.is(create?.key, `rtws-${CUSTOMER}-create-a2`);
  const linkedNow = when(w, stripeCreated('cus_A2'));
  assert.is(stripe(linkedNow).externalId, 'cus_A2');
  assert.is(stripe(linkedNow).status, 'synced');
});

test('an idempotency conflict on a create means "look it up", never a failure', () => {
  const w = when(given(created()), stripeFailed('idempotency_conflict'));
  assert.is(intents(w)[0]?.type, 'FindStripeCustomer');
  assert.is(stripe(w).lastError?.failure, 'idempotency_conflict');
  assert.equal(w.decisions[0]?.deadLettered, []);
});

test('transient update failures retry the same intent with growing notBefore, then fail', () => {
  const start = updating();
  const id = pending(start).id;
  let w: World = start;
  const delays: number[] = [];
  for (let i = 1; i < DEFAULT_RETRY.maxFailures; i++) {
    w = when(w, stripeFailed('transient'));
    assert.is(stripe(w).status, 'retrying');
    assert.is(pending(w).id, id, 'the same intent');
    assert.is(pending(w).attempt, i + 1);
    assert.is(pending(w).key, `rtws-${CUSTOMER}-2-update-a${i + 1}`);
    delays.push(pending(w).notBefore - w.now);
  }
  assert.ok(
    delays.every((d, i) => i === 0 || d > delays[i - 1]!),
    `delays grow: ${delays.join(', ')}`,
  );
  w = when(w, stripeFailed('transient'));
  assert.is(stripe(w).status, 'failed');
  assert.is(stripe(w).pending, null);
  assert.is(stripe(w).lastError?.failure, 'exhausted');
  assert.is(stripe(w).lastError?.intent.id, id);
  assert.equal(w.decisions[0]?.deadLettered, ['stripe']);
  assert.equal(w.snapshot.value, { stripe: 'failed' });
});

test('the same failure report twice counts once', () => {
  const w = when(updating(), stripeFailed('transient'));
  const duplicate = w.events.at(-1)!;
  const after = when(w, () => ({ ...duplicate, at: w.now + 5 }));
  assert.equal(persisted(after), persisted(w));
});

test('429s slow a target down but never fail it, and Retry-After is honoured', () => {
  let w = when(updating(), ...times(3 * DEFAULT_RETRY.maxFailures, stripeFailed('rate_limited')));
  assert.is(stripe(w).status, 'retrying');
  assert.is(pending(w).failures, 0);
  assert.is(pending(w).key, `rtws-${CUSTOMER}-2-update`, 'a 429 was never saved: same key');
  w = when(w, stripeFailed('rate_limited', { retryAfterMs: 3_600_000 }));
  assert.ok(pending(w).notBefore >= w.now + 3_600_000);
  assert.equal(
    w.decisions.flatMap((d) => d.deadLettered),
    [],
  );
});

test('a permanent failure stops the target until a newer fact arrives', () => {
  const w = when(updating(), stripeFailed('permanent'));
  assert.is(stripe(w).status, 'failed');
  assert.is(stripe(w).lastError?.reason, 'stripe said permanent');
  assert.equal(w.decisions[0]?.deadLettered, ['stripe']);
  const newer = when(w, updated({ name: 'Ada King', phone: '+44 1' }, 3));
  const [intent] = intents(newer);
  assert.is(intent?.key, `rtws-${CUSTOMER}-3-update`);
  assert.equal(intent?.params, {
    externalId: 'cus_A1',
    patch: { name: 'Ada King', phone: '+44 1' },
    base: { name: 'Ada Lovelace', phone: '+44 20 7946 0000' },
  });
  assert.is(stripe(newer).status, 'pending');
});

test('a permanent failure with a newer fact already waiting goes straight on', () => {
  const w = when(updating(), updated({ name: 'Ada B. King' }, 3), stripeFailed('permanent'));
  assert.is(stripe(w).status, 'pending');
  assert.is(pending(w).key, `rtws-${CUSTOMER}-3-update`);
  assert.equal(
    w.decisions.flatMap((d) => d.deadLettered),
    [],
  );
});

test("an operator's retry replans a failed target", () => {
  const w = when(updating(), stripeFailed('permanent'), retryRequested());
  assert.is(stripe(w).status, 'pending');
  assert.is(intents(w).at(-1)?.type, 'UpdateStripeCustomer');
});

test('a permanent failure of a create retries with a new key once a newer fact arrives', () => {
  const w = when(
    given(created()),
    stripeFailed('permanent'),
    updated({ email: 'ada@example.org' }, 2),
  );
  const create = intents(w).at(-1);
  assert.is(create?.type, 'CreateStripeCustomer');
  assert.is(create?.key, `rtws-${CUSTOMER}-create-a2`);
});

test('a create refused for good after a try that may have run is looked up before a new key', () => {
  // The first try went unanswered and may have landed; the resend was refused (a key rotated).
  const w = when(
    given(created()),
    stripeFailed('no_response'),
    stripeFailed('permanent'),
    updated({ email: 'ada@example.org' }, 2),
  );
  assert.is(intents(w).at(-1)?.type, 'FindStripeCustomer');
  assert.ok(!intents(w).some((i) => i.key === `rtws-${CUSTOMER}-create-a2`));
});

/** Stripe's answer to the retrieve that confirms a 404. */
const confirmed =
  (answer: 'missing' | 'deleted'): Step =>
  (w) => ({
    type: 'StripeCustomerFetched',
    data: {
      intentId: pending(w).id,
      fields: null,
      rtwsId: null,
      ...(answer === 'missing' ? { missing: true } : {}),
    },
    at: w.now,
  });

test('a 404 on an update is confirmed by a retrieve before anything is decided', () => {
  const w = when(updating(), stripeFailed('not_found'));
  assert.is(pending(w).op, 'fetch');
  assert.equal(pending(w).params, { externalId: 'cus_A1', eventIds: [] });
  assert.not.ok(stripe(w).deletedRemotely);
  assert.equal(w.snapshot.context.inbound.applies, [], 'nothing is deleted on a 404 alone');
});

test('a 404 confirmed absent is a broken link: reported, unlinked, and nothing deleted', () => {
  const w = when(updating(), stripeFailed('not_found'), confirmed('missing'));
  assert.is(stripe(w).status, 'unlinked');
  assert.equal(w.snapshot.value, { stripe: 'unlinked' });
  assert.match(stripe(w).lastError?.reason ?? '', /not in the Stripe account/);
  assert.equal(w.decisions.at(-1)?.deadLettered, ['stripe']);
  assert.equal(w.snapshot.context.inbound.applies, [], 'no deletion is asked of Postgres');
  // Newer facts wait; the operator's retry (after a rebind, say) tries the link again.
  assert.equal(intents(when(w, updated({ name: 'Again' }, 3))), []);
  const retried = when(w, updated({ name: 'Again' }, 3), retryRequested());
  assert.is(pending(retried).op, 'update');
  // A deletion of the customer needs nothing of a broken link.
  assert.is(stripe(when(w, deleted(3))).status, 'deleted');
});

test('a 404 confirmed deleted in the account is a deletion, carried out as one from Stripe', () => {
  const w = when(updating(), stripeFailed('not_found'), confirmed('deleted'));
  assert.is(stripe(w).status, 'deleted');
  assert.equal(
    w.snapshot.context.inbound.applies.map((a) => a.kind),
    ['delete'],
  );
});

test('a 404 on a delete means done', () => {
  const w = when(linked(), deleted(2), stripeFailed('not_found'));
  assert.is(stripe(w).status, 'deleted');
  assert.is(stripe(w).pending, null);
  assert.not.ok(stripe(w).deletedRemotely);
  assert.equal(
    w.decisions.flatMap((d) => d.deadLettered),
    [],
  );
});

test('a delete after an uncertain create looks the customer up first', () => {
  const w = when(given(created()), stripeFailed('uncertain'), deleted(2));
  assert.is(pending(w).type, 'FindStripeCustomer');
  const found = when(w, stripeFound('cus_F1', canonicalFields(FIELDS)));
  assert.is(intents(found)[0]?.type, 'DeleteStripeCustomer');
  const gone = when(w, stripeNotFound());
  assert.equal(intents(gone), []);
  assert.is(stripe(gone).status, 'deleted');
});

test('an outcome for an intent that is not the pending one is ignored', () => {
  const w = updating();
  const before = persisted(w);
  const stale = when(
    w,
    (x) => ({ type: 'StripeCustomerUpdated', data: { intentId: 'stripe-1' }, at: x.now }),
    (x) => ({
      type: 'StripeCustomerCreated',
      data: { intentId: 'stripe-99', externalId: 'cus_X' },
      at: x.now,
    }),
    (x) => ({
      type: 'StripeCallFailed',
      data: { intentId: 'stripe-1', failure: 'permanent', reason: 'old', attempt: 1 },
      at: x.now,
    }),
  );
  assert.equal(persisted(stale), before);
  assert.equal(intents(stale), []);
});

test('a create rate-limited for more than 23 h is looked up before it is resent', () => {
  const w = given(created());
  const late = when(
    w,
    stripeFailed('rate_limited', { at: pending(w).recordedAt + 24 * 3_600_000 }),
  );
  assert.is(pending(late).type, 'FindStripeCustomer');
});

test('the retry policy is injected into the machine', () => {
  const retry = { ...DEFAULT_RETRY, maxFailures: 2 };
  const machine = createCustomerMachine({ ...DEFAULT_POLICIES, retry });
  const w = updating();
  const fail = (s: CustomerSnapshot, at: number) => {
    const p = s.context.targets.stripe.pending!;
    const event = {
      type: 'StripeCallFailed' as const,
      data: { intentId: p.id, failure: 'transient' as const, reason: '503', attempt: p.attempt },
      at,
    };
    return decide(s, event, machine);
  };
  const first = fail(replay(CUSTOMER, w.events, machine), w.now + 1000);
  assert.is(first.snapshot.context.targets.stripe.status, 'retrying');
  const second = fail(first.snapshot, w.now + 60_000);
  assert.is(second.snapshot.context.targets.stripe.status, 'failed');
  assert.equal(second.deadLettered, ['stripe']);
});

test('a push held for its event keeps its key, waits, and never counts towards giving up', () => {
  const w = updating();
  const key = pending(w).key;
  const held = when(
    w,
    ...times(DEFAULT_RETRY.maxFailures + 2, stripeFailed('target_moved', { retryAfterMs: 2_000 })),
  );
  assert.is(stripe(held).status, 'retrying');
  assert.is(pending(held).key, key, 'nothing was sent, so nothing was saved under the key');
  assert.is(pending(held).failures, 0);
  assert.ok(pending(held).notBefore >= held.now + 2_000);
  assert.equal(
    held.decisions.flatMap((d) => d.deadLettered),
    [],
  );
  assert.is(when(held, stripeUpdated()).snapshot.context.targets.stripe.status, 'synced');
});

test.run();
