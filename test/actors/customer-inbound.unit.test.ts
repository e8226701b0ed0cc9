// The customer actor's rules for changes seen on Stripe: echoes, staleness, the merge policy,
// deletes and Stripe-born customers, through its pure transitions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalFields, type CanonicalFields } from '../../core/canonical.ts';
import {
  writeTag,
  type CatalogueApply,
  type CustomerEvent,
  type CustomerFactEvent,
} from '../../actors/customer/index.ts';
import type { SyncedFields } from '../../core/customer.ts';
import type { FailureKind } from '../../core/policy/retry.ts';
import type { Intent } from '../../actors/customer/intents.ts';
import {
  heldLinkOf,
  isHeldEcho,
  isOwnEcho,
  UNSEEN_RETRY_MS,
  UNSEEN_WAIT_MS,
} from '../../actors/customer/inbound-step.ts';
import {
  CUSTOMER,
  FIELDS,
  created,
  deleted,
  given,
  intents,
  pending,
  stripe,
  stripeCreated,
  stripeFailed,
  stripeFound,
  stripeUpdated,
  updated,
  when,
  type Step,
  type World,
} from './gwt.ts';

const BASE = canonicalFields(FIELDS);
const STRIPE_ID = 'cus_A1';
let n = 0;

interface Seen {
  key?: string | null;
  created?: number;
  type?: 'customer.created' | 'customer.updated' | 'customer.deleted';
  rtwsId?: string | null;
  eventId?: string;
  stripeId?: string;
  /** The fields the event changed (its `previous_attributes`); unknown when absent. */
  changed?: string[];
}

/** A Stripe event about the customer, `created` one second after the world's clock by default. */
const observed =
  (fields: Partial<CanonicalFields>, o: Seen = {}): Step =>
  (w) => ({
    type: 'StripeCustomerObserved',
    data: {
      eventId: o.eventId ?? `evt_${++n}`,
      eventType: o.type ?? 'customer.updated',
      stripeId: o.stripeId ?? STRIPE_ID,
      created: o.created ?? Math.floor(w.now / 1000) + 1,
      key: o.key ?? null,
      fields: { ...BASE, ...fields },
      ...(o.changed ? { changed: o.changed } : {}),
      rtwsId: o.rtwsId === undefined ? CUSTOMER : o.rtwsId,
    },
    at: w.now,
  });

const fetched =
  (fields: Partial<CanonicalFields> | null): Step =>
  (w) => ({
    type: 'StripeCustomerFetched',
    data: {
      intentId: pending(w).id,
      fields: fields === null ? null : { ...BASE, ...fields },
      rtwsId: CUSTOMER,
    },
    at: w.now,
  });

/** The runtime's report of the oldest write: done, leaving the customer at `version`. */
const applied =
  (version: number | null, error: string | null = null): Step =>
  (w) => ({
    type: 'CatalogueApplied',
    data: { intentId: applies(w)[0]!.id, version, error },
    at: w.now,
  });

/** The writes still to be carried out. */
const applies = (w: World) =>
  w.snapshot.context.inbound.applies.filter((a) => a.doneAtVersion === null);
/** Linked and synced at version 1: Stripe holds FIELDS. */
const synced = () => given(created(), stripeCreated(STRIPE_ID));

test('a dashboard edit is applied to Postgres and not pushed back', () => {
  const w = when(synced(), observed({ name: 'Ada King', email: 'ada@king.dev' }));
  assert.equal(
    applies(w).map((a) => [a.kind, a.patch]),
    [['update', { name: 'Ada King', email: 'ada@king.dev' }]],
  );
  assert.equal(intents(w), []);
  assert.is(stripe(w).known?.name, 'Ada King');
  assert.is(stripe(w).status, 'synced');
  // The change comes back from Postgres with origin stripe: nothing to push.
  // The report usually comes before the fact of the write: nothing is pushed meanwhile either.
  const reported = when(w, applied(2));
  assert.equal(intents(reported), []);
  const back = when(reported, updated({ name: 'Ada King', email: 'ada@king.dev' }, 2));
  assert.equal(intents(back), []);
  assert.equal(back.snapshot.context.inbound.applies, []);
  assert.is(stripe(back).syncedVersion, 2);
});

/** The write's own captured change: origin stripe, tagged with the write (metadata.write). */
const capturedBy =
  (write: CatalogueApply, fields: Partial<SyncedFields>, version: number): Step =>
  (w) => {
    const fact = updated(fields, version)(w) as CustomerFactEvent;
    return {
      ...fact,
      metadata: { ...fact.metadata, origin: 'stripe', write: writeTag(write) },
    };
  };

test("a write's own captured change reports it done: no report of its own is needed", () => {
  const w = when(synced(), observed({ name: 'Ada King' }));
  const [write] = applies(w);
  const back = when(w, capturedBy(write!, { name: 'Ada King' }, 2));
  assert.equal(back.snapshot.context.inbound.applies, [], 'done, and seen back');
  assert.equal(intents(back), []);
  assert.is(stripe(back).syncedVersion, 2);
  // Its report, if one comes anyway (a redelivered step's no-op), finds nothing to do.
  const late = when(back, (x) => ({
    type: 'CatalogueApplied',
    data: { intentId: write!.id, version: 2, error: null },
    at: x.now,
  }));
  assert.equal(late.snapshot.context, back.snapshot.context);
});

test('a change tagged by another write of the same id leaves the waiting write alone', () => {
  const w = when(synced(), observed({ name: 'Ada King' }));
  const [write] = applies(w);
  // A write an actor reset since made under the same id, decided at another time.
  const other = { ...write!, recordedAt: write!.recordedAt - 1 };
  const back = when(w, capturedBy(other, { name: 'Ada King' }, 2));
  assert.equal(
    applies(back).map((a) => a.id),
    [write!.id],
    'still waiting for its own report',
  );
  assert.equal(intents(back), [], 'and its values are not pushed back meanwhile');
});

test('the echo of our own write is dropped and does not advance the watermark', () => {
  const w = given(created(), stripeCreated(STRIPE_ID), updated({ name: 'Ada King' }, 2));
  const key = pending(w).key;
  const pushed = when(w, stripeUpdated());
  const mark = stripe(pushed).watermarks.lastEventSecond;
  const echo = when(pushed, observed({ name: 'Ada King' }, { key }));
  assert.equal(applies(echo), []);
  assert.equal(intents(echo), []);
  assert.is(stripe(echo).watermarks.lastEventSecond, mark);
});

test('an echo that arrives before our write is reported is recognised too', () => {
  const w = given(created(), stripeCreated(STRIPE_ID), updated({ name: 'Ada King' }, 2));
  const echo = when(w, observed({ name: 'Ada King' }, { key: pending(w).key }));
  assert.equal(applies(echo), []);
  assert.is(echo.snapshot.context.inbound.fetch, null);
});

/**
 * Whether the mapping takes the event for our echo (against the state before it), and whether the
 * actor's step on it changed anything but the event ids it remembers.
 */
function echoAtMapping(w: World, step: Step): { dropped: boolean; changed: boolean } {
  const event = step(w);
  if (event.type !== 'StripeCustomerObserved') throw new Error('not an observation');
  const after = when(w, () => event);
  const rest = (x: World) => ({
    ...x.snapshot.context,
    inbound: { ...x.snapshot.context.inbound, seen: [] },
  });
  return {
    dropped: isOwnEcho(w.snapshot.context, event.data),
    changed: JSON.stringify(rest(after)) !== JSON.stringify(rest(w)),
  };
}

test('the mapping drops an echo only where the actor would have changed nothing', () => {
  const w = given(created(), stripeCreated(STRIPE_ID), updated({ name: 'Ada King' }, 2));
  const key = pending(w).key;
  const reported = when(w, stripeUpdated());
  const cases: [string, World, Step, boolean][] = [
    [
      'our echo, after the write is reported',
      reported,
      observed({ name: 'Ada King' }, { key }),
      true,
    ],
    ['our echo, before it is reported', w, observed({ name: 'Ada King' }, { key }), true],
    [
      'our echo, carrying a dashboard edit made before our write',
      reported,
      observed({ name: 'Ada King', email: 'dash@example.com' }, { key }),
      false,
    ],
    ['a dashboard edit', reported, observed({ name: 'Ada Dash' }), false],
    [
      "another customer's key",
      reported,
      observed({ name: 'Ada King' }, { key: key!.replace(CUSTOMER, 'someone-else') }),
      false,
    ],
    [
      'our echo of another Stripe customer',
      reported,
      observed({ name: 'Ada King' }, { key, stripeId: 'cus_Other' }),
      false,
    ],
    ['our deletion', reported, observed({}, { key, type: 'customer.deleted' }), false],
    [
      'an event with a key not ours, before the link is known',
      given(created()),
      observed({}, { key: 'rtws-x' }),
      false,
    ],
    [
      'the echo of our create, before its outcome links it',
      given(created()),
      (x) => observed({}, { key: pending(x).key, type: 'customer.created' })(x),
      true,
    ],
    [
      "an update under our pending create's key, before the link is known",
      given(created()),
      (x) => observed({}, { key: pending(x).key })(x),
      false,
    ],
  ];
  for (const [name, world, step, dropped] of cases) {
    const seen = echoAtMapping(world, step);
    assert.is(seen.dropped, dropped, name);
    // What the mapping drops, the actor would have dropped too.
    if (seen.dropped) assert.is(seen.changed, false, `${name}: the actor changed something`);
    // Told before the link table is read, by the actor the event names: the same verdict.
    const event = step(world);
    if (event.type !== 'StripeCustomerObserved') throw new Error('not an observation');
    const held = (id: string) => (id === CUSTOMER ? world.snapshot.context : undefined);
    assert.is(isHeldEcho(event.data, held), dropped, `${name}, held`);
  }
});

test("our create's echo, dropped at the mapping, is one the actor drops in any later state", () => {
  const pendingCreate = given(created());
  const key = pending(pendingCreate).key;
  const echo = observed(
    {},
    { key, type: 'customer.created', created: Math.floor(pendingCreate.now / 1000) },
  );
  const event = echo(pendingCreate);
  if (event.type !== 'StripeCustomerObserved') throw new Error('not an observation');
  assert.ok(isOwnEcho(pendingCreate.snapshot.context, event.data), 'the mapping drops it');
  // Further on: linked by the create's outcome, then changed by a push of ours.
  const linked = when(pendingCreate, stripeCreated(STRIPE_ID));
  const pushed = when(when(linked, updated({ name: 'Ada King' }, 2)), stripeUpdated());
  for (const [name, w] of [
    ['linked', linked],
    ['after a later push', pushed],
  ] as const) {
    const after = when(w, () => event);
    assert.equal(applies(after), [], `${name}: nothing is written to Postgres`);
    assert.ok(
      intents(after).every((i) => i.op === 'fetch'),
      `${name}: nothing is pushed (at most Stripe's content is read)`,
    );
  }
});

test('an echo is told before the mapping only by the actor it names, held here', () => {
  const pushing = given(created(), stripeCreated(STRIPE_ID), updated({ name: 'Ada King' }, 2));
  const key = pending(pushing).key;
  const w = when(pushing, stripeUpdated());
  const echo = (o: Seen) => {
    const event = observed({ name: 'Ada King' }, { key, ...o })(w);
    if (event.type !== 'StripeCustomerObserved') throw new Error('not an observation');
    return event.data;
  };
  const held = (id: string) => (id === CUSTOMER ? w.snapshot.context : undefined);
  assert.ok(isHeldEcho(echo({}), held), 'our echo, its actor held');
  assert.not.ok(
    isHeldEcho(echo({}), () => undefined),
    'its actor not held here',
  );
  assert.not.ok(isHeldEcho(echo({ rtwsId: null }), held), 'no rtws_id in its metadata');
  assert.not.ok(
    isHeldEcho(echo({ rtwsId: 'someone-else' }), (id) =>
      id === 'someone-else' ? w.snapshot.context : undefined,
    ),
    'its metadata naming another customer than its key',
  );
});

test('an event is mapped without the link table only by the actor it names, held and linked to it', () => {
  const w = synced();
  const ev = (o: Seen) => {
    const event = observed({ name: 'Ada Dash' }, o)(w);
    if (event.type !== 'StripeCustomerObserved') throw new Error('not an observation');
    return event.data;
  };
  const held = (id: string) => (id === CUSTOMER ? w.snapshot.context : undefined);
  assert.is(heldLinkOf(ev({}), held), CUSTOMER, 'held here, linked to that Stripe customer');
  assert.is(
    heldLinkOf(ev({}), () => undefined),
    undefined,
    'its actor not held here',
  );
  assert.is(heldLinkOf(ev({ rtwsId: null }), held), undefined, 'no rtws_id in its metadata');
  assert.is(
    heldLinkOf(ev({ stripeId: 'cus_Copy' }), held),
    undefined,
    'another Stripe customer carrying our id (a copy): the table decides',
  );
  assert.is(
    heldLinkOf(ev({ rtwsId: 'someone-else' }), () => w.snapshot.context),
    undefined,
    'an actor of another id',
  );
  assert.is(
    heldLinkOf(ev({}), () => given(created()).snapshot.context),
    undefined,
    'its actor not linked yet',
  );
});

test('an event while our write is in flight is settled by a fetch after it', () => {
  const w = given(created(), stripeCreated(STRIPE_ID), updated({ name: 'Ada King' }, 2));
  const e = when(w, observed({ name: 'Ada', email: 'dash@example.com' }));
  assert.equal(applies(e), []);
  const afterPush = when(e, stripeUpdated());
  assert.is(pending(afterPush).op, 'fetch');
  const merged = when(afterPush, fetched({ name: 'Ada King', email: 'dash@example.com' }));
  assert.equal(
    applies(merged).map((a) => a.patch),
    [{ email: 'dash@example.com' }],
  );
  assert.is(stripe(merged).pending, null);
});

/**
 * Synced at T0; Postgres renames the customer 3 s later, and that push is in flight when two
 * dashboard edits made around it arrive: the name 2 s before Postgres's, then the email 2 s after.
 */
function dashboardAroundPush() {
  const w = given(created(), stripeCreated(STRIPE_ID), (x) =>
    updated({ name: 'PG' }, 2)({ ...x, now: x.now + 2_000 }),
  );
  const pgSecond = Math.floor(w.now / 1000);
  const nameEdit = (o: Seen = {}) =>
    observed({ name: 'Dash' }, { created: pgSecond - 2, changed: ['name'], ...o });
  const emailEdit = (o: Seen = {}) =>
    observed(
      { name: 'Dash', email: 'dash@example.com' },
      { created: pgSecond + 2, changed: ['email'], ...o },
    );
  return { w, nameEdit, emailEdit };
}

const FETCHED_AFTER_BOTH = { name: 'Dash', email: 'dash@example.com' };

test('a fetch dates each field by the event that changed it, not by the newest event', () => {
  for (const told of [true, false]) {
    const { w, nameEdit, emailEdit } = dashboardAroundPush();
    // Without `previous_attributes`, the name is dated by the earliest event that showed it.
    const o = told ? {} : { changed: undefined };
    const seen = when(w, nameEdit(o), emailEdit(o), stripeUpdated());
    assert.is(pending(seen).op, 'fetch');
    const merged = when(seen, fetched(FETCHED_AFTER_BOTH));
    const byField = Object.fromEntries(
      merged.snapshot.context.inbound.conflicts.map((c) => [c.field, c.winner]),
    );
    assert.equal(byField, { name: 'postgres' }, "Postgres's rename is the later one");
    assert.equal(
      applies(merged).map((a) => a.patch),
      [{ email: 'dash@example.com' }],
    );
  }
});

test('a change whose event has not arrived waits for it before Postgres and Stripe are judged', () => {
  const { w, nameEdit, emailEdit } = dashboardAroundPush();
  // The email's event comes first: it shows the name already changed, by an event not received.
  const early = when(w, emailEdit(), stripeUpdated());
  const first = when(early, fetched(FETCHED_AFTER_BOTH));
  assert.equal(applies(first), [], 'nothing is decided yet');
  assert.is(pending(first).op, 'fetch');
  assert.is(pending(first).notBefore, first.now + UNSEEN_RETRY_MS, 'fetched again later');
  // The name's event arrives: the next fetch dates the name by it, and Postgres's rename wins.
  const late = when(first, nameEdit(), fetched(FETCHED_AFTER_BOTH));
  const [c] = late.snapshot.context.inbound.conflicts;
  assert.equal([c?.field, c?.winner], ['name', 'postgres']);
  assert.equal(
    applies(late).map((a) => a.patch),
    [{ email: 'dash@example.com' }],
  );
});

test('changes made within one second explain each other in any order of delivery', () => {
  const { w } = dashboardAroundPush();
  const second = Math.floor(w.now / 1000) + 2;
  // Ann, then Bob, then Ann again, all in one second; Bob's event comes last.
  const asAnn = observed({ name: 'Ann' }, { created: second, changed: ['name'] });
  const asBob = observed({ name: 'Bob' }, { created: second, changed: ['name'] });
  const asAnnAgain = observed({ name: 'Ann' }, { created: second, changed: ['name'] });
  const x = when(w, asAnn, asAnnAgain, asBob, stripeUpdated(), fetched({ name: 'Ann' }));
  assert.is(x.snapshot.context.inbound.fetch?.waitingSince, undefined, 'nothing is waited for');
  const [c] = x.snapshot.context.inbound.conflicts;
  assert.equal([c?.field, c?.stripeSecond], ['name', second]);
});

test('a change older than what is known cannot explain a value that moved since', () => {
  const w = synced();
  const t = Math.floor(w.now / 1000);
  // Stripe holds B, learned from an event at t+8; Postgres renames to PG, and the push goes.
  const b = when(
    w,
    observed({ name: 'B' }, { created: t + 8, changed: ['name'] }),
    applied(2),
    updated({ name: 'B' }, 2),
    (x) => updated({ name: 'PG' }, 3)({ ...x, now: x.now + 9_000 }),
  );
  assert.is(pending(b).op, 'update');
  // Our old echo that set A at t+1 comes late, then a dashboard edit of the email at t+11 that
  // shows the name A: someone set A again after t+8, and that event has not arrived.
  const echo = observed(
    { name: 'A' },
    { created: t + 1, changed: ['name'], key: `rtws-${CUSTOMER}-1-update` },
  );
  const dash = observed(
    { name: 'A', email: 'dash@example.com' },
    { created: t + 11, changed: ['email'] },
  );
  const x = when(b, echo, dash, stripeUpdated(), fetched({ name: 'A', email: 'dash@example.com' }));
  assert.ok(x.snapshot.context.inbound.fetch?.waitingSince, 'the name waits for its event');
  assert.equal(applies(x), []);
});

test('the wait for an event that never arrives ends, and the merge decides with what it has', () => {
  const { w, emailEdit } = dashboardAroundPush();
  let x = when(w, emailEdit(), stripeUpdated(), fetched(FETCHED_AFTER_BOTH));
  const waitingSince = x.now;
  while (x.now - waitingSince < UNSEEN_WAIT_MS) {
    assert.equal(applies(x), []);
    x = when(x, (y) => fetched(FETCHED_AFTER_BOTH)({ ...y, now: y.now + UNSEEN_RETRY_MS }));
  }
  // Dated by the only event that showed it, the name is Stripe's later change.
  assert.equal(
    applies(x).map((a) => a.patch),
    [{ name: 'Dash', email: 'dash@example.com' }],
  );
});

test('a fresh event that shows a change it did not make waits for that change as well', () => {
  const w = given(created(), stripeCreated(STRIPE_ID), (x) =>
    updated({ name: 'PG' }, 2)({ ...x, now: x.now + 10_000 }),
  );
  const failed = when(w, stripeFailed('permanent'));
  const e = when(
    failed,
    observed(FETCHED_AFTER_BOTH, {
      created: Math.floor(failed.now / 1000) + 5,
      changed: ['email'],
    }),
  );
  assert.equal(applies(e), []);
  assert.is(pending(e).op, 'fetch');
  assert.ok(pending(e).notBefore > e.now);
});

test("a reconciliation's observation meets a Postgres change as drift, dated by its read", () => {
  const w = given(created(), stripeCreated(STRIPE_ID), (x) =>
    updated({ name: 'PG' }, 2)({ ...x, now: x.now + 10_000 }),
  );
  const failed = when(w, stripeFailed('permanent'));
  const read = Math.floor(failed.now / 1000) + 5;
  const e = when(
    failed,
    observed({ name: 'Dashboard' }, { eventId: `reconcile:7:${STRIPE_ID}`, created: read }),
  );
  const [c] = e.snapshot.context.inbound.conflicts;
  assert.equal([c?.field, c?.winner, c?.stripeSecond], ['name', 'stripe', read]);
  assert.match(c?.reason ?? '', /^drift: changed on both sides/);
});

test('a stale event (at or before our last push) is fetched, not applied', () => {
  const w = given(created(), stripeCreated(STRIPE_ID));
  const lastPush = stripe(w).watermarks.lastPushSecond!;
  const e = when(w, observed({ name: 'Old' }, { created: lastPush }));
  assert.equal(applies(e), []);
  assert.is(pending(e).op, 'fetch');
  const merged = when(e, fetched({}));
  assert.equal(applies(merged), [], 'Stripe holds what we know: nothing to apply');
});

test('a redelivered event changes nothing', () => {
  const w = when(synced(), observed({ name: 'Ada King' }, { eventId: 'evt_dup' }));
  const again = when(w, observed({ name: 'Ada King' }, { eventId: 'evt_dup' }));
  assert.is(applies(again).length, 1);
  assert.equal(again.snapshot.context, w.snapshot.context);
});

test('edits to different fields on both sides are both kept', () => {
  // Postgres's email change waits in a failed push; Stripe changes the name meanwhile.
  const w = given(created(), stripeCreated(STRIPE_ID), updated({ email: 'pg@example.com' }, 2));
  const failed = when(w, stripeFailed('permanent'));
  assert.is(stripe(failed).status, 'failed');
  const m = when(failed, observed({ name: 'Stripe Name' }));
  assert.equal(
    applies(m).map((a) => a.patch),
    [{ name: 'Stripe Name' }],
  );
  assert.equal(m.snapshot.context.inbound.conflicts, []);
  // The target tries again with Postgres's email, under a key of its own.
  assert.equal(pending(m).params, {
    externalId: STRIPE_ID,
    patch: { email: 'pg@example.com' },
    base: { email: 'ada@example.com' },
  });
});

test('the same field changed on both sides: the later change wins and a conflict is recorded', () => {
  // Postgres's change comes well after our last push, so a Stripe event of its second is not in doubt.
  const w = given(created(), stripeCreated(STRIPE_ID), (x) =>
    updated({ name: 'PG' }, 2)({ ...x, now: x.now + 10_000 }),
  );
  const failed = when(w, stripeFailed('permanent'));
  const later = when(
    failed,
    observed({ name: 'Stripe' }, { created: Math.floor(failed.now / 1000) + 5 }),
  );
  assert.equal(applies(later)[0]?.patch, { name: 'Stripe' });
  const [c] = later.snapshot.context.inbound.conflicts;
  assert.equal([c?.field, c?.postgres, c?.stripe, c?.winner], ['name', 'PG', 'Stripe', 'stripe']);

  const tie = when(
    failed,
    observed(
      { name: 'Stripe' },
      { created: Math.floor(Date.parse(failed.snapshot.context.desired!.occurredAt) / 1000) },
    ),
  );
  // Ties go to Postgres: nothing applied, Postgres's value pushed.
  assert.equal(applies(tie)[0]?.patch, {});
  assert.is(tie.snapshot.context.inbound.conflicts[0]?.winner, 'postgres');
  assert.equal((pending(tie).params as { patch: unknown }).patch, { name: 'PG' });
});

/** The captured change of a Stripe-born customer's insert: version 1, origin `stripe`. */
const insertedFromStripe =
  (data: typeof FIELDS): Step =>
  (x) => ({
    type: 'CustomerCreated',
    data,
    metadata: {
      customer_id: CUSTOMER,
      version: 1,
      origin: 'stripe',
      outbox_id: 1,
      occurred_at: new Date(x.now).toISOString(),
    },
    at: x.now,
  });

test('a Stripe-born customer is inserted once, linked, and gets rtws_id in one update', () => {
  const born = given(
    observed(
      { name: '', email: 'new@example.com' },
      { type: 'customer.created', rtwsId: null, eventId: 'evt_born' },
    ),
  );
  const [insert] = applies(born);
  assert.is(insert?.kind, 'insert');
  assert.is(insert?.fields?.name, 'new@example.com', 'the name falls back to the email');
  assert.is(stripe(born).externalId, STRIPE_ID);
  const dup = when(
    born,
    observed(
      { name: '', email: 'new@example.com' },
      { type: 'customer.created', rtwsId: null, eventId: 'evt_born' },
    ),
  );
  assert.is(applies(dup).length, 1);
  const w = when(
    dup,
    applied(1),
    insertedFromStripe({ ...FIELDS, name: 'new@example.com', email: 'new@example.com' }),
  );
  const p = pending(w);
  assert.is(p.op, 'update');
  assert.is((p.params as { setRtwsId?: string }).setRtwsId, CUSTOMER);
  const done = when(w, stripeUpdated());
  assert.is(done.snapshot.context.inbound.restoreRtwsId, false);
  assert.is(stripe(done).pending, null);
});

test("an import's Stripe-born customer gets rtws_id with its first push, not by a call alone", () => {
  const importedAs: Step = (w) => {
    const seen = observed(
      {},
      { type: 'customer.created', rtwsId: null, eventId: 'import:cus_A1' },
    )(w);
    if (seen.type !== 'StripeCustomerObserved') throw new Error('not an observation');
    return { ...seen, data: { ...seen.data, writeRtwsId: 'later' } };
  };
  const born = given(importedAs);
  assert.is(applies(born)[0]?.kind, 'insert');
  const quiet = when(born, applied(1), insertedFromStripe(FIELDS));
  assert.is(stripe(quiet).pending, null, 'no update for rtws_id alone');
  assert.is(stripe(quiet).status, 'synced');
  assert.is(quiet.snapshot.context.inbound.restoreRtwsId, true, 'still owed');
  // An rtws_id naming someone else is put right at once.
  const misnamed = when(quiet, observed({}, { rtwsId: '0f0f0f0f-0000-4000-8000-000000000000' }));
  assert.is((pending(misnamed).params as { setRtwsId?: string }).setRtwsId, CUSTOMER);
  // A Stripe event without rtws_id (a dashboard edit) does not make it urgent.
  const phone = '+1 555 0100';
  const edited = when(quiet, observed({ phone }, { rtwsId: null }));
  assert.is(applies(edited)[0]?.kind, 'update', 'the edit is applied to Postgres');
  assert.is(stripe(edited).pending, null);
  // The next change rtws pushes carries it, and then nothing is owed.
  const w = when(edited, applied(2), updated({ phone }, 2), updated({ name: 'Renamed', phone }, 3));
  const p = pending(w);
  assert.is(p.op, 'update');
  assert.equal((p.params as { patch: unknown }).patch, { name: 'Renamed' });
  assert.is((p.params as { setRtwsId?: string }).setRtwsId, CUSTOMER);
  const done = when(w, stripeUpdated());
  assert.is(done.snapshot.context.inbound.restoreRtwsId, false);
  assert.is(done.snapshot.context.inbound.restoreLater, undefined);
  // Once written, removing it in Stripe is restored at once again.
  const removed = when(done, observed({ name: 'Renamed', phone }, { rtwsId: null }));
  assert.is((pending(removed).params as { setRtwsId?: string }).setRtwsId, CUSTOMER);
});

test('an update before its created inserts the customer', () => {
  const w = given(observed({ name: 'Late' }, { type: 'customer.updated', rtwsId: null }));
  assert.is(applies(w)[0]?.kind, 'insert');
});

test('a customer.created with our key is never Stripe-born', () => {
  const w = given(observed({}, { type: 'customer.created', key: `rtws-${CUSTOMER}-create` }));
  assert.equal(applies(w), []);
});

test('a deletion in Stripe deletes here; a late update does not bring it back', () => {
  const w = when(synced(), observed({}, { type: 'customer.deleted' }));
  assert.is(applies(w)[0]?.kind, 'delete');
  assert.is(stripe(w).status, 'deleted');
  const late = when(w, observed({ name: 'Zombie' }));
  assert.is(applies(late).length, 1);
  const gone = when(late, applied(2), deleted(2));
  assert.equal(intents(gone), []);
});

test("our own delete's echo meets the tombstone", () => {
  const w = given(created(), stripeCreated(STRIPE_ID), deleted(2));
  const done = when(w, (x) => ({
    type: 'StripeCustomerDeleted',
    data: { intentId: pending(x).id },
    at: x.now,
  }));
  const echo = when(done, observed({}, { type: 'customer.deleted' }));
  assert.equal(applies(echo), []);
});

test('rtws_id removed on Stripe is restored', () => {
  const w = when(synced(), observed({}, { rtwsId: null }));
  assert.is((pending(w).params as { setRtwsId?: string }).setRtwsId, CUSTOMER);
});

test('a superseded push that wrote rtws_id again and landed settles the restore', () => {
  const w = when(synced(), observed({}, { rtwsId: null }));
  const push = pending(w);
  assert.is((push.params as { setRtwsId?: string }).setRtwsId, CUSTOMER);
  const edited = when(w, observed({ name: 'Dash' }, { changed: ['name'] }));
  assert.is(pending(edited).op, 'fetch');
  assert.is(edited.snapshot.context.inbound.restoreRtwsId, true);
  const landed = stripeUpdated(push);
  assert.is(when(edited, landed).snapshot.context.inbound.restoreRtwsId, false);
});

test('a refused write is reported and the actor goes on', () => {
  const w = when(synced(), observed({ name: 'X' }), applied(null, '23514: check violation'));
  assert.equal(w.snapshot.context.inbound.applies, []);
  assert.is(w.snapshot.context.inbound.lastError, '23514: check violation');
});

test('an echo whose content differs (an edit landed in between) is settled by a fetch', () => {
  const w = given(created(), stripeCreated(STRIPE_ID), updated({ name: 'Ada King' }, 2));
  const key = pending(w).key;
  const pushed = when(w, stripeUpdated());
  const mark = stripe(pushed).watermarks.lastEventSecond;
  const echo = when(
    pushed,
    observed(
      { name: 'Ada King', phone: '+1 555' },
      { key, created: Math.floor(pushed.now / 1000) + 5 },
    ),
  );
  assert.equal(
    applies(echo).map((a) => a.patch),
    [{ phone: '+1 555' }],
  );
  assert.is(stripe(echo).watermarks.lastEventSecond, mark, 'an echo never moves the watermark');
  // The same echo in the second of our push is in doubt: it is fetched.
  const doubt = when(
    pushed,
    observed(
      { name: 'Ada King', phone: '+1 555' },
      { key, created: stripe(pushed).watermarks.lastPushSecond! },
    ),
  );
  assert.is(pending(doubt).op, 'fetch');
});

test('an edit made in Stripe before the link is known is fetched and merged after it', () => {
  const w = given(created());
  const early = when(w, observed({ email: 'early@example.com' }, { key: null }));
  assert.equal(applies(early), []);
  const linkedW = when(early, stripeCreated(STRIPE_ID));
  assert.is(pending(linkedW).op, 'fetch');
  const merged = when(linkedW, fetched({ email: 'early@example.com' }));
  assert.equal(
    applies(merged).map((a) => a.patch),
    [{ email: 'early@example.com' }],
  );
});

test('an edit made in Stripe after a create in doubt landed is merged once a lookup finds it', () => {
  const w = when(given(created()), stripeFailed('uncertain'));
  assert.is(pending(w).op, 'find');
  const early = when(w, observed({ email: 'early@example.com' }, { key: null }));
  const found = when(
    early,
    stripeFound(STRIPE_ID, { ...BASE, email: 'early@example.com' }, 'ours'),
  );
  assert.is(pending(found).op, 'fetch', 'the held edit is fetched, not pushed over');
  const merged = when(found, fetched({ email: 'early@example.com' }));
  assert.equal(
    applies(merged).map((a) => a.patch),
    [{ email: 'early@example.com' }],
  );
  assert.equal(
    intents(merged).filter((i) => i.op === 'update'),
    [],
  );
});

test('a deletion in Stripe before the link is known is found by the fetch after it, and deletes', () => {
  // Our create landed, its answer not yet in; someone deletes the customer in the dashboard.
  const w = given(created());
  const early = when(w, observed({}, { type: 'customer.deleted', key: null }));
  assert.equal(applies(early), []);
  const linkedW = when(early, stripeCreated(STRIPE_ID));
  assert.is(pending(linkedW).op, 'fetch', 'not pushed to, nor taken as live');
  const gone = when(linkedW, fetched(null));
  assert.equal(
    applies(gone).map((a) => a.kind),
    ['delete'],
  );
  assert.is(stripe(gone).status, 'deleted');
});

test('a Stripe-born customer deleted before its created arrives is never inserted', () => {
  const w = given(
    observed({}, { type: 'customer.deleted', rtwsId: null }),
    observed({ name: 'Ghost' }, { type: 'customer.created', rtwsId: null }),
  );
  assert.equal(applies(w), []);
  assert.is(stripe(w).status, 'deleted');
});

test('a name removed in Stripe keeps ours, and ours goes back to Stripe', () => {
  const w = when(synced(), observed({ name: '' }));
  assert.equal(applies(w), []);
  assert.is(stripe(w).known?.name, '');
  assert.equal((pending(w).params as { patch: unknown }).patch, { name: FIELDS.name });
});

test('a field Postgres changed again before the write is left to Postgres, and pushed', () => {
  const w = when(synced(), observed({ name: 'From Stripe', email: 'stripe@example.com' }));
  const [write] = applies(w);
  assert.equal(write?.expected, { name: 'Ada Lovelace', email: 'ada@example.com' });
  const reported = when(w, (x) => ({
    type: 'CatalogueApplied',
    data: { intentId: write!.id, version: 3, kept: { name: 'From API' }, error: null },
    at: x.now,
  }));
  // The API's later name stands, and goes to Stripe before its fact has even arrived.
  assert.equal((pending(reported).params as { patch: unknown }).patch, { name: 'From API' });
  const facts = when(
    reported,
    stripeUpdated(),
    updated({ name: 'From API' }, 2),
    updated({ name: 'From API', email: 'stripe@example.com' }, 3),
  );
  assert.equal(intents(facts), []);
  assert.equal(facts.snapshot.context.inbound.applies, []);
});

test("a conflict is timed by the field's own last change, not the customer's", () => {
  // Postgres changes the name (its push refused), then much later the phone.
  const w = given(created(), stripeCreated(STRIPE_ID), updated({ name: 'PG name' }, 2));
  const failed = when(w, stripeFailed('permanent'));
  const nameSecond = Math.floor(failed.now / 1000) - 1;
  const later = when(
    failed,
    (x) => updated({ name: 'PG name', phone: '+1 1' }, 3)({ ...x, now: x.now + 100_000 }),
    stripeFailed('permanent'),
  );
  const dash = when(later, observed({ name: 'Dashboard name' }, { created: nameSecond + 50 }));
  const [c] = dash.snapshot.context.inbound.conflicts;
  assert.equal([c?.field, c?.winner], ['name', 'stripe']);
});

const _typecheck: CustomerEvent['type'] = 'StripeCustomerObserved';
void _typecheck;

test('a dashboard edit decided while our push waits on a retry goes first; the push is decided again', () => {
  // The API removes `region`; the push meets a 429 and waits.
  const w = given(created(), stripeCreated(STRIPE_ID), (x) =>
    updated({ metadata: { plan: 'gold' } }, 2)({ ...x, now: x.now + 10_000 }),
  );
  const firstKey = pending(w).key;
  const waiting = when(w, stripeFailed('rate_limited'));
  assert.is(stripe(waiting).status, 'retrying');
  // A person set `region` in Stripe later; the push, sent now, would erase it.
  const later = Math.floor(waiting.now / 1000) + 5;
  const e = when(
    waiting,
    observed({ metadata: { plan: 'gold', region: 'apac' } }, { created: later }),
  );
  assert.is(pending(e).op, 'fetch', 'the fetch replaces the push');
  const merged = when(e, fetched({ metadata: { plan: 'gold', region: 'apac' } }));
  assert.equal(
    applies(merged).map((a) => a.patch),
    [{ metadata: { region: 'apac' } }],
  );
  const [c] = merged.snapshot.context.inbound.conflicts;
  assert.equal([c?.field, c?.winner], ['metadata.region', 'stripe']);
  // Nothing is left to push: Stripe holds what Postgres will hold.
  assert.is(stripe(merged).pending, null);
  // A later push of the same version gets a key of its own: the first one may have been sent.
  const next = when(
    merged,
    applied(3),
    updated({ metadata: { plan: 'gold', region: 'apac' }, name: 'New' }, 3),
  );
  assert.not.equal(pending(next).key, firstKey);
  const again = when(
    waiting,
    observed({ name: 'Other' }, { created: later }),
    fetched({ name: 'Other' }),
  );
  assert.is(pending(again).op, 'update');
  assert.not.equal(pending(again).key, firstKey, 'the version pushed again has a key of its own');
});

test('a late echo of an earlier write of ours does not supersede the pending push', () => {
  const w = given(
    created(),
    stripeCreated(STRIPE_ID),
    updated({ name: 'Two' }, 2),
    stripeUpdated(),
    updated({ name: 'Three' }, 3),
  );
  const late = when(w, observed({ name: 'One' }, { key: `rtws-${CUSTOMER}-1-update` }));
  assert.is(pending(late).id, pending(w).id, 'the push still goes');
  assert.ok(late.snapshot.context.inbound.fetch, 'and the fetch after it settles the echo');
});

test("an echo's time never dates a change found on Stripe: that would make it the later edit", () => {
  // Postgres's name waits in a failed push; a late echo of an earlier write of ours asks for a fetch.
  const w = given(
    created(),
    stripeCreated(STRIPE_ID),
    (x) => updated({ name: 'PG' }, 2)({ ...x, now: x.now + 10_000 }),
    stripeFailed('permanent'),
  );
  const echoSecond = Math.floor(w.now / 1000) + 30;
  const e = when(
    w,
    observed({ name: 'Echoed' }, { key: `rtws-${CUSTOMER}-1-update`, created: echoSecond }),
  );
  // Merged at once (nothing is in doubt): the name it shows has no date of its own.
  const [c] = e.snapshot.context.inbound.conflicts;
  assert.equal([c?.field, c?.winner], ['name', 'postgres']);
  // Asked while a write is in flight, the fetch is not dated by the echo either.
  const inFlight = when(
    given(created(), stripeCreated(STRIPE_ID), updated({ name: 'PG' }, 2)),
    observed({ name: 'Echoed' }, { key: `rtws-${CUSTOMER}-1-update`, created: echoSecond }),
  );
  assert.ok(inFlight.snapshot.context.inbound.fetch);
  assert.ok(inFlight.snapshot.context.inbound.fetch.second < echoSecond);
});

test("our write's echo while it is pending does not supersede it", () => {
  const w = given(created(), stripeCreated(STRIPE_ID), updated({ name: 'Ada King' }, 2));
  const echo = when(w, observed({ name: 'Ada King' }, { key: pending(w).key }));
  assert.is(pending(echo).op, 'update');
  assert.is(pending(echo).id, pending(w).id);
});

/** Linked and synced, with Postgres's plan change to platinum on its way to Stripe. */
const pushingPlatinum = (...more: Step[]) =>
  given(
    created(),
    stripeCreated(STRIPE_ID),
    updated({ metadata: { plan: 'platinum', region: 'eu' } }, 2),
    ...more,
  );

/** A failed try of an intent that is no longer pending (`stripeFailed` names the pending one). */
const failedTry =
  (intent: Intent, failure: FailureKind): Step =>
  (x) => ({
    type: 'StripeCallFailed',
    data: { intentId: intent.id, failure, reason: failure, attempt: intent.attempt },
    at: x.now,
  });

/**
 * Postgres sets the plan to platinum and, while that push is in flight, back to gold; a dashboard
 * rename made before the push landed arrives and supersedes it, but the push lands anyway. Stripe
 * then holds platinum because we wrote it: the fetch must not take that for a change made there,
 * or Postgres's later gold would be overwritten by our own earlier write.
 */
function supersededPushLanded() {
  const w = pushingPlatinum();
  const push = pending(w);
  const back = when(w, updated({ metadata: { plan: 'gold', region: 'eu' } }, 3));
  const renamed = when(back, observed({ name: 'Dash' }, { changed: ['name'] }));
  assert.is(pending(renamed).op, 'fetch', 'the rename asks for a fetch after the push');
  const landed = stripeUpdated(push);
  const fetchedNow = fetched({ name: 'Dash', metadata: { plan: 'platinum', region: 'eu' } });
  return { renamed, landed, fetchedNow };
}

for (const [story, outcome] of [
  ['its outcome recorded', true],
  ['its outcome lost (a crash between the call and its record)', false],
] as const)
  test(`a superseded push that landed is ours, not a change made in Stripe: ${story}`, () => {
    const { renamed, landed, fetchedNow } = supersededPushLanded();
    if (outcome) {
      const s = stripe(when(renamed, landed));
      assert.equal(s.superseded?.[0]?.landed, true, 'its outcome counts');
      assert.is(s.pending?.op, 'fetch', 'and the fetch still runs');
    }
    const merged = outcome ? when(renamed, landed, fetchedNow) : when(renamed, fetchedNow);
    assert.is(stripe(merged).superseded, undefined);
    assert.equal(
      applies(merged).map((a) => a.patch),
      [{ name: 'Dash' }],
      'only the rename comes back to Postgres',
    );
    assert.equal(merged.snapshot.context.inbound.conflicts, [], 'and nothing conflicts');
    const push = pending(merged);
    assert.is(push.op, 'update', "Postgres's later plan goes to Stripe");
    assert.equal((push.params as { patch: object }).patch, {
      metadata: { plan: 'gold' },
    });
  });

test('a value a person set in Stripe is theirs, even one a superseded push of ours also set', () => {
  // The plan push fails with a 5xx (it may have landed) and waits; Postgres sets gold; then a
  // person sets platinum in the dashboard, after Postgres's change: theirs is the later one.
  const w = pushingPlatinum(stripeFailed('transient'));
  const back = when(w, (x) =>
    updated({ metadata: { plan: 'gold', region: 'eu' } }, 3)({ ...x, now: x.now + 1_000 }),
  );
  const edited = when(
    back,
    observed(
      { metadata: { plan: 'platinum', region: 'eu' } },
      { created: Math.floor(back.now / 1000) + 2, changed: ['metadata.plan'] },
    ),
  );
  assert.is(pending(edited).op, 'fetch');
  const merged = when(edited, fetched({ metadata: { plan: 'platinum', region: 'eu' } }));
  assert.equal(
    applies(merged).map((a) => a.patch),
    [{ metadata: { plan: 'platinum' } }],
    "the person's platinum comes into Postgres",
  );
});

test('a retry refused after an earlier try timed out keeps its update in doubt', () => {
  // Try 1 of the plan push times out (it may have landed); Postgres sets gold; a dashboard rename
  // supersedes the push while try 2 runs, and try 2 is held (the rename moved the record).
  const w = pushingPlatinum(stripeFailed('no_response'));
  const retry = pending(w);
  const back = when(w, updated({ metadata: { plan: 'gold', region: 'eu' } }, 3));
  const renamed = when(back, observed({ name: 'Dash' }, { changed: ['name'] }));
  const held = failedTry(retry, 'target_moved');
  const fetchedNow = fetched({ name: 'Dash', metadata: { plan: 'platinum', region: 'eu' } });
  const merged = when(renamed, held, fetchedNow);
  assert.equal(
    applies(merged).map((a) => a.patch),
    [{ name: 'Dash' }],
    'the platinum the first try set is ours',
  );
});

test('a superseded update that failed without landing is forgotten', () => {
  const w = pushingPlatinum();
  const push = pending(w);
  const renamed = when(w, observed({ name: 'Dash' }, { changed: ['name'] }));
  assert.is(stripe(renamed).superseded?.length, 1);
  assert.is(stripe(when(renamed, failedTry(push, 'permanent'))).superseded, undefined);
  const timedOut = when(renamed, failedTry(push, 'no_response'));
  assert.is(stripe(timedOut).superseded?.length, 1, 'a timeout may have landed');
});

test('a match links an unlinked customer; the Stripe customer keeps each value it has', () => {
  const matched: Step = (x) => ({
    type: 'StripeCustomerMatched',
    data: {
      stripeId: 'cus_EXISTING',
      fields: { ...BASE, name: 'Stripe Name', phone: '+1 555 0101', address: null },
      policy: 'stripe',
    },
    at: x.now,
  });
  // With a create of ours pending, a match would make a second link: it is ignored.
  const creating = given(created({ phone: null }));
  assert.is(pending(creating).op, 'create');
  assert.is(stripe(when(creating, matched)).externalId, null);
  // A target with nothing pending and no create that may have landed (here, one refused) links.
  const fresh = when(given(created({ phone: null })), stripeFailed('permanent'));
  const linked = when(fresh, matched);
  const s = stripe(linked);
  assert.is(s.externalId, 'cus_EXISTING');
  const [apply] = applies(linked);
  assert.equal(apply?.patch, { name: 'Stripe Name', phone: '+1 555 0101' });
  const byField = Object.fromEntries(
    linked.snapshot.context.inbound.conflicts.map((c) => [c.field, c.winner]),
  );
  assert.equal(byField, { name: 'stripe', phone: 'stripe', address: 'postgres' });
  // The address Stripe lacked goes there, with rtws_id.
  const push = pending(linked);
  assert.is(push.op, 'update');
  assert.equal(Object.keys((push.params as { patch: object }).patch), ['address']);
  assert.is((push.params as { setRtwsId?: string }).setRtwsId, CUSTOMER);
});

test('a match under the catalogue policy keeps every catalogue value and pushes them', () => {
  const fresh = when(given(created()), stripeFailed('permanent'));
  const linked = when(fresh, (x) => ({
    type: 'StripeCustomerMatched',
    data: {
      stripeId: 'cus_EXISTING',
      fields: { ...BASE, name: 'Stripe Name' },
      policy: 'catalogue',
    },
    at: x.now,
  }));
  assert.equal(applies(linked)[0]?.patch, {});
  assert.equal(
    linked.snapshot.context.inbound.conflicts.map((c) => [c.field, c.winner]),
    [['name', 'postgres']],
  );
  assert.equal((pending(linked).params as { patch: unknown }).patch, { name: FIELDS.name });
});

test.run();
