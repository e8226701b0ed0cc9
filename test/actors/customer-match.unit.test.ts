// Match before create: the create's lookup found the Stripe customer this one already is. The
// actor ends the create, links the pair, settles their differences by the policy (each one a
// conflict with reason `match`) and pushes what the catalogue won, as an import's match does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalFields, type CanonicalFields } from '../../core/canonical.ts';
import { replay } from '../../actors/customer/index.ts';
import {
  CUSTOMER,
  FIELDS,
  created,
  deleted,
  given,
  intents,
  pending,
  retryRequested,
  stripe,
  stripeFailed,
  when,
  type Step,
  type World,
} from './gwt.ts';

const BASE = canonicalFields(FIELDS);
const EXISTING = 'cus_EXISTING';

/** The create's outcome: matched to `EXISTING`, which holds `fields` and (by default) our id. */
const matched =
  (
    fields: Partial<CanonicalFields>,
    o: { policy?: 'stripe' | 'catalogue'; rtwsId?: string | null; intentId?: string } = {},
  ): Step =>
  (w) => ({
    type: 'StripeCustomerMatched',
    data: {
      intentId: o.intentId ?? pending(w).id,
      stripeId: EXISTING,
      fields: { ...BASE, ...fields },
      policy: o.policy ?? 'stripe',
      rtwsId: o.rtwsId === undefined ? CUSTOMER : o.rtwsId,
    },
    at: w.now,
  });

const applies = (w: World) => w.snapshot.context.inbound.applies;
const conflicts = (w: World) =>
  w.snapshot.context.inbound.conflicts.map((c) => [c.field, c.winner, c.reason]);
const patchOf = (w: World) => (pending(w).params as { patch: unknown }).patch;

test('the stripe policy: the Stripe customer keeps its values, the catalogue fills the rest', () => {
  const creating = given(created({ phone: null }));
  assert.is(pending(creating).op, 'create');
  const w = when(
    creating,
    matched({ name: 'Stripe Name', phone: '+1 555 0101', address: null, metadata: {} }),
  );
  const s = stripe(w);
  assert.is(s.externalId, EXISTING);
  assert.equal(s.known, {
    ...BASE,
    name: 'Stripe Name',
    phone: '+1 555 0101',
    address: null,
    metadata: {},
  });
  assert.not.ok(s.createUncertain, 'nothing was created that a lookup would have to find');
  assert.not.ok(
    intents(w).some((i) => i.op === 'create'),
    'no second create',
  );
  // Postgres takes what Stripe had…
  assert.is(applies(w).length, 1);
  assert.equal(applies(w)[0]?.patch, { name: 'Stripe Name', phone: '+1 555 0101' });
  // …and Stripe gets what it lacked; rtws_id is already there (the claim wrote it).
  assert.is(pending(w).op, 'update');
  assert.equal(patchOf(w), { address: BASE.address, metadata: BASE.metadata });
  assert.is((pending(w).params as { setRtwsId?: string }).setRtwsId, undefined);
  assert.equal(conflicts(w), [
    ['name', 'stripe', 'match: the existing Stripe customer keeps its value'],
    ['phone', 'stripe', 'match: the existing Stripe customer keeps its value'],
    ['address', 'postgres', 'match: the Stripe customer had no value; the catalogue fills it'],
    [
      'metadata.plan',
      'postgres',
      'match: the Stripe customer had no value; the catalogue fills it',
    ],
    [
      'metadata.region',
      'postgres',
      'match: the Stripe customer had no value; the catalogue fills it',
    ],
  ]);
  assert.ok(
    w.snapshot.context.inbound.conflicts.every((c) => c.eventId === `match:${EXISTING}`),
    'each conflict names the match',
  );
});

test('the catalogue policy: every catalogue value wins and is pushed', () => {
  const w = when(given(created()), matched({ name: 'Stripe Name' }, { policy: 'catalogue' }));
  assert.is(stripe(w).externalId, EXISTING);
  assert.equal(applies(w)[0]?.patch, {});
  assert.equal(conflicts(w), [
    ['name', 'postgres', 'match: the catalogue wins (RTWS_MATCH_MERGE=catalogue)'],
  ]);
  assert.equal(patchOf(w), { name: FIELDS.name });
});

test('equal content links with no conflict and no call', () => {
  const w = when(given(created()), matched({}));
  const s = stripe(w);
  assert.is(s.externalId, EXISTING);
  assert.is(s.status, 'synced');
  assert.is(s.pending, null);
  assert.equal(applies(w), []);
  assert.equal(conflicts(w), []);
});

test('a Stripe customer that does not carry our id yet gets it with the push', () => {
  const w = when(given(created()), matched({}, { rtwsId: null }));
  assert.is(pending(w).op, 'update');
  assert.equal(patchOf(w), {});
  assert.is((pending(w).params as { setRtwsId?: string }).setRtwsId, CUSTOMER);
});

test('only the pending create ends with a match: a stale or repeated report changes nothing', () => {
  const creating = given(created());
  const stale = when(creating, matched({ name: 'Other' }, { intentId: 'stripe-99' }));
  assert.equal(stripe(stale), stripe(creating));
  assert.equal(stale.snapshot.context.inbound, creating.snapshot.context.inbound);
  const once = when(creating, matched({ name: 'Stripe Name' }));
  const event = once.events.at(-1)!;
  const twice = when(once, (x) => ({ ...event, at: x.now }));
  assert.equal(stripe(twice), stripe(once));
  assert.equal(twice.snapshot.context.inbound, once.snapshot.context.inbound);
});

test('a match after a failed try of the create still ends it', () => {
  const retrying = when(given(created()), stripeFailed('transient'));
  assert.is(stripe(retrying).status, 'retrying');
  const w = when(retrying, matched({}));
  assert.is(stripe(w).externalId, EXISTING);
  assert.is(stripe(w).status, 'synced');
  assert.is(stripe(w).lastError, null);
});

test('a customer deleted while its create looked up is not linked, and nothing is deleted', () => {
  const creating = given(created());
  const gone = when(creating, deleted(2));
  assert.is(pending(gone).op, 'create', 'the create in flight is waited for');
  const w = when(gone, matched({ name: 'Stripe Name' }));
  const s = stripe(w);
  assert.is(s.externalId, null, 'the Stripe customer existed before: it is not taken');
  assert.is(s.status, 'deleted');
  assert.is(s.pending, null, 'no delete of a customer rtws did not create');
  assert.not.ok(s.createUncertain);
  assert.equal(applies(w), [], 'no catalogue write for a deleted customer');
});

test('several candidates hold the create; a retry looks again under a new key', () => {
  const creating = given(created());
  const first = pending(creating);
  const held = when(creating, stripeFailed('permanent'));
  assert.is(stripe(held).status, 'failed');
  assert.is(held.decisions.at(-1)?.deadLettered.length, 1, 'reported to an operator');
  const again = when(held, retryRequested());
  assert.is(pending(again).op, 'create');
  assert.is.not(pending(again).key, first.key);
  const w = when(again, matched({}));
  assert.is(stripe(w).externalId, EXISTING);
});

test('a replay of the recorded events rebuilds the snapshot', () => {
  const w = when(
    given(created({ phone: null })),
    matched({ name: 'Stripe Name', phone: '+1 555 0101' }),
  );
  assert.equal(replay(CUSTOMER, w.events).context, w.snapshot.context);
});

test.run();
