// Changes read from Salesforce: merged like Stripe's, written to Postgres with origin
// `salesforce`, never pushed back there; our own writes' echoes dropped, v1's after v2 included;
// a person's edit that meets our write in flight still flows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalFields } from '../../core/canonical.ts';
import type { FieldPatch } from '../../core/policy/push.ts';
import {
  createCustomerMachine,
  DEFAULT_POLICIES,
  type CatalogueApply,
} from '../../actors/customer/index.ts';
import { fieldOwnersOf } from '../../core/policy/merge.ts';
import {
  FIELDS,
  created,
  scenarios,
  stripeCreated,
  updated,
  type Step,
  type World,
} from './gwt.ts';
import { given, salesforce, sfCreated, sfPending, sfUpdated, when } from './two-targets.ts';

const SF_ID = '001000000000001AAA';
const linked = () => given(created(), sfCreated(SF_ID));
const applies = (w: World): CatalogueApply[] => w.snapshot.context.inbound.applies;

let n = 0;
/** A change read from the record, made `agoMs` before the step's time. */
const read =
  (
    fields: FieldPatch,
    o: {
      byUs?: boolean;
      agoMs?: number;
      putBack?: FieldPatch;
      recordId?: string;
      overwritten?: string[];
      /** When the record was made, as a read tells it; a change event tells none. */
      createdAt?: number;
      /** A read's: its query was sent this long before the step's time. */
      queriedAgoMs?: number;
      eventId?: string;
    } = {},
  ): Step =>
  (w) => ({
    type: 'SalesforceRecordChanged',
    data: {
      eventId: o.eventId ?? `salesforce:${SF_ID}:${++n}`,
      recordId: o.recordId ?? SF_ID,
      fields,
      ...(o.putBack ? { putBack: o.putBack } : {}),
      modifiedAt: w.now - (o.agoMs ?? 0),
      byUs: o.byUs ?? false,
      ...(o.overwritten ? { overwritten: o.overwritten } : {}),
      ...(o.createdAt === undefined ? {} : { createdAt: o.createdAt }),
      ...(o.queriedAgoMs === undefined ? {} : { queriedAt: w.now - o.queriedAgoMs }),
    },
    at: w.now,
  });

test("a person's edit in Salesforce is written to Postgres with origin salesforce", () => {
  const w = when(linked(), read({ phone: '+1 555 0100' }));
  const [write] = applies(w);
  assert.ok(write, 'a Postgres write is asked for');
  assert.is(write.origin, 'salesforce');
  assert.equal(write.patch, { phone: '+1 555 0100' });
  assert.equal(write.expected, { phone: FIELDS.phone });
  assert.equal(write.conflicts, []);
  assert.is(salesforce(w).known?.phone, '+1 555 0100', 'Salesforce is known to hold it');
  assert.is(salesforce(w).pending, null, 'nothing goes back to Salesforce');
});

test('the same change read again is dropped', () => {
  const step = read({ phone: '+1 555 0100' });
  const w = linked();
  const event = step({ ...w, now: w.now + 1000 });
  const once = when(w, () => event);
  const twice = when(once, () => ({ ...event, at: once.now + 1000 }));
  assert.is(applies(twice).length, 1);
});

test('the echo of our own write is dropped, and so is an older write after a newer one', () => {
  const v2 = when(linked(), updated({ phone: '+1 555 0102' }, 2), sfUpdated());
  const v3 = when(v2, updated({ phone: '+1 555 0103' }, 3), sfUpdated());
  assert.is(salesforce(v3).known?.phone, '+1 555 0103');
  const echoes = when(
    v3,
    read({ phone: '+1 555 0103', name: FIELDS.name }, { byUs: true }),
    read({ phone: '+1 555 0102', name: FIELDS.name }, { byUs: true, agoMs: 5_000 }),
  );
  assert.equal(applies(echoes), [], 'no Postgres write');
  assert.is(salesforce(echoes).known?.phone, '+1 555 0103');
  assert.is(salesforce(echoes).pending, null);
});

test('a read sent before our write landed is not taken for newer in the fields the write set', () => {
  // Our write sets the phone. A read sent before its outcome came read the record before the
  // write landed: the old phone, and a name a person set meanwhile.
  const pushed = when(linked(), updated({ phone: '+1 555 0102' }, 2), sfUpdated());
  const early = { eventId: `salesforce:${SF_ID}:early`, agoMs: 1_500, queriedAgoMs: 1_500 };
  const w = when(pushed, read({ phone: FIELDS.phone, name: 'Ada King' }, early));
  assert.equal(
    applies(w).map((a) => a.patch),
    [{ name: 'Ada King' }],
    "the person's name flows; the phone our write overwrote does not",
  );
  assert.is(salesforce(w).known?.phone, '+1 555 0102', 'Salesforce is known to hold our write');
  assert.is(salesforce(w).known?.name, 'Ada King');
  assert.is(salesforce(w).pending, null, 'nothing is sent again');
  // The same change read once the outcome came is taken in full: the early read was not
  // remembered, so what it left out is taken from a later read of the same change.
  const again = when(
    w,
    read({ phone: FIELDS.phone, name: 'Ada King' }, { eventId: early.eventId, queriedAgoMs: 0 }),
  );
  assert.equal(applies(again).at(-1)?.patch, { phone: FIELDS.phone });
  // A value our write did not replace is a person's edit made after it landed, however early the
  // read: it is taken.
  const edited = when(pushed, read({ phone: '+1 555 0177' }, { agoMs: 500, queriedAgoMs: 1_500 }));
  assert.equal(applies(edited)[0]?.patch, { phone: '+1 555 0177' });
});

test('two updates of ours to one field: a read sent before the first landed is older than both', () => {
  const first = when(linked(), updated({ phone: '+1 555 0102' }, 2), sfUpdated());
  const second = when(first, updated({ phone: '+1 555 0103' }, 3), sfUpdated());
  // Sent before the first update's outcome: it shows the phone the first update replaced.
  const early = read({ phone: FIELDS.phone, name: 'Ada King' }, { queriedAgoMs: 3_500 });
  const w = when(second, early);
  assert.equal(
    applies(w).map((a) => a.patch),
    [{ name: 'Ada King' }],
  );
  assert.is(salesforce(w).known?.phone, '+1 555 0103');
});

test('a change event committed before our write landed, delivered after it: what the write replaced is left out', () => {
  // Our write replaced the phone Salesforce held. A change event committed before the write
  // landed, and delivered after it (a read had brought its edit in already), shows that phone.
  const held = when(linked(), updated({ phone: '+1 555 0199' }, 2), sfUpdated());
  const pushed = when(held, updated({ phone: '+1 555 0201' }, 3), sfUpdated());
  const event = { eventId: `salesforce:cdc:42:${SF_ID}` };
  const late = when(pushed, read({ phone: '+1 555 0199' }, { ...event, agoMs: 2_500 }));
  assert.equal(applies(late), [], 'no Postgres write');
  assert.is(salesforce(late).known?.phone, '+1 555 0201', 'Salesforce is known to hold our write');
  assert.is(salesforce(late).pending, null, 'nothing is sent again');
  // Committed after our write's outcome, the same value is a person setting it back: it flows.
  const back = when(pushed, read({ phone: '+1 555 0199' }, { ...event, agoMs: 0 }));
  assert.equal(applies(back)[0]?.patch, { phone: '+1 555 0199' });
  // And a value our write did not replace flows, however early its commit.
  const other = when(pushed, read({ phone: '+1 555 0177' }, { ...event, agoMs: 2_500 }));
  assert.equal(applies(other)[0]?.patch, { phone: '+1 555 0177' });
});

test('a change by the integration user with values rtws never wrote is an edit, and flows', () => {
  const w = when(linked(), read({ phone: '+1 555 0199' }, { byUs: true }));
  assert.equal(applies(w)[0]?.patch, { phone: '+1 555 0199' });
});

test("an edit to the same field in Postgres and Salesforce: the later one wins, and it's recorded", () => {
  // Postgres changed the phone (its fact is 1 s after the link); Salesforce's edit is later.
  const w = when(linked(), updated({ phone: '+44 1' }, 2), read({ phone: '+1 2' }));
  const [write] = applies(w);
  assert.equal(write?.patch, { phone: '+1 2' });
  const [conflict] = write!.conflicts;
  assert.is(conflict?.field, 'phone');
  assert.is(conflict?.winner, 'salesforce');
  assert.is(conflict?.target, 'salesforce');
  assert.is(conflict?.postgres, '+44 1');
  assert.is(conflict?.stripe, '+1 2');
  assert.match(conflict!.reason, /Salesforce's change .* is later than Postgres's/);
  assert.equal(
    conflict?.sides,
    { postgres: '+44 1', salesforce: '+1 2' },
    'every linked side: Stripe has no customer yet',
  );
  // With Stripe linked too, the record shows what it holds as well: all three values.
  const three = when(
    given(created(), stripeCreated(), sfCreated(SF_ID)),
    updated({ phone: '+44 1' }, 2),
    read({ phone: '+1 2' }),
  );
  assert.equal(applies(three)[0]?.conflicts[0]?.sides, {
    postgres: '+44 1',
    stripe: FIELDS.phone,
    salesforce: '+1 2',
  });
  // An older Salesforce change loses to Postgres's, and is recorded too.
  const older = when(
    linked(),
    updated({ phone: '+44 1' }, 2),
    read({ phone: '+1 2' }, { agoMs: 10_000 }),
  );
  const [lost] = applies(older);
  assert.equal(lost?.patch, {});
  assert.is(lost?.conflicts[0]?.winner, 'postgres');
  assert.is(salesforce(older).known?.phone, '+1 2', 'so the push rule sends Postgres value back');
  assert.equal(sfPending(older).params, {
    externalId: SF_ID,
    patch: { phone: '+44 1' },
    base: { phone: '+1 2' },
  });
});

test("a person's edit that meets our write in flight still flows", () => {
  // Our push of the name is on its way; a person changes the phone meanwhile.
  const w = when(linked(), updated({ name: 'Ada King' }, 2));
  assert.is(sfPending(w).op, 'update');
  const read1 = when(w, read({ name: FIELDS.name, phone: '+1 3' }, { byUs: false }));
  assert.equal(applies(read1)[0]?.patch, { phone: '+1 3' });
  // Our write lands: Salesforce holds both, and its read-back (by us, last) is not taken for an edit.
  const done = when(read1, sfUpdated(), read({ name: 'Ada King', phone: '+1 3' }, { byUs: true }));
  assert.is(applies(done).length, 1, 'no second write');
  assert.is(salesforce(done).known?.name, 'Ada King');
});

/**
 * Postgres sets the region to us and, while that push is in flight, back to eu; a person's rename
 * arrives and the push is decided again, but the one on its way lands all the same.
 */
function supersededInFlight() {
  const w = when(linked(), updated({ metadata: { plan: 'gold', region: 'us' } }, 2));
  const push = sfPending(w);
  const back = when(w, updated({ metadata: { plan: 'gold', region: 'eu' } }, 3));
  const renamed = when(back, read({ name: 'Ada King' }));
  assert.equal(
    applies(renamed).map((a) => a.patch),
    [{ name: 'Ada King' }],
  );
  const landed = sfUpdated(push);
  // Its read-back, by us, shows the region it set.
  const readBack = read({ metadata: { region: 'us' } }, { byUs: true });
  return { renamed, landed, readBack };
}

for (const [story, order] of [
  ['its outcome, then its read-back', 'outcome first'],
  ['its read-back, then its outcome', 'read-back first'],
  ['its read-back, its outcome lost to a crash', 'no outcome'],
] as const)
  test(`a push superseded by a person's edit that lands anyway is ours: ${story}`, () => {
    const { renamed, landed, readBack } = supersededInFlight();
    const steps =
      order === 'outcome first'
        ? [landed, readBack]
        : order === 'read-back first'
          ? [readBack, landed]
          : [readBack];
    const done = when(renamed, ...steps);
    assert.equal(
      applies(done).map((a) => a.patch),
      [{ name: 'Ada King' }],
      'our own earlier write is not written back over the later eu',
    );
    assert.equal(salesforce(done).known?.metadata, { plan: 'gold', region: 'us' });
    assert.is(salesforce(done).superseded, undefined);
    assert.equal(
      (sfPending(done).params as { patch: FieldPatch }).patch,
      { metadata: { region: 'eu' } },
      'and eu goes to Salesforce',
    );
  });

test("a read of a person's later edit that also shows a superseded push's value: that value is ours", () => {
  for (const outcome of [false, true]) {
    const { renamed, landed } = supersededInFlight();
    // A person edits the phone; the poll's read shows the whole record, our region with it.
    const polled = read(
      { name: 'Ada King', phone: '+1 555 0177', metadata: { plan: 'gold', region: 'us' } },
      { queriedAgoMs: 0 },
    );
    const done = outcome ? when(renamed, polled, landed) : when(renamed, polled);
    assert.equal(
      applies(done).map((a) => a.patch),
      [{ name: 'Ada King' }, { phone: '+1 555 0177' }],
      `our region is not taken for theirs (outcome ${outcome ? 'after' : 'lost'})`,
    );
    assert.equal(
      (sfPending(done).params as { patch: FieldPatch }).patch,
      { metadata: { region: 'eu' } },
      'and eu goes to Salesforce',
    );
  }
});

test('two pushes superseded in turn while the first is on its way: the first still counts', () => {
  const first = when(linked(), updated({ metadata: { plan: 'gold', region: 'us' } }, 2));
  const push = sfPending(first);
  // A person's rename decides the push again (that one waits behind the first, unsent), and a
  // person's phone edit then decides it again.
  const back = when(first, updated({ metadata: { plan: 'platinum', region: 'eu' } }, 3));
  const once = when(back, read({ name: 'Ada King' }));
  assert.equal((sfPending(once).params as { patch: FieldPatch }).patch, {
    metadata: { plan: 'platinum' },
  });
  const twice = when(once, read({ phone: '+1 555 0177' }));
  const landed = sfUpdated(push);
  const done = when(twice, landed, read({ metadata: { region: 'us' } }, { byUs: true }));
  assert.equal(
    applies(done).map((a) => a.patch),
    [{ name: 'Ada King' }, { phone: '+1 555 0177' }],
    'only the two edits come into Postgres',
  );
});

test('a push decided while a superseded one was on its way is decided again once it lands', () => {
  // The name goes out as Cy; Postgres renames to Bob meanwhile; a person's phone edit supersedes
  // the Cy push, and the Bob push is decided against a record that still had the old name.
  const w = when(linked(), updated({ name: 'Cy' }, 2));
  const cy = sfPending(w);
  const bob = when(w, updated({ name: 'Bob' }, 3), read({ phone: '+1 555 0177' }));
  const stale = sfPending(bob);
  assert.equal((stale.params as { base?: FieldPatch }).base, { name: FIELDS.name });
  const landed = sfUpdated(cy);
  for (const [story, step] of [
    ['its outcome', landed],
    ['its read-back', read({ name: 'Cy' }, { byUs: true })],
  ] as const) {
    const done = when(bob, step);
    const push = sfPending(done);
    assert.is.not(push.id, stale.id, `after ${story}, a push named against the old name goes`);
    assert.equal(push.params, { ...push.params, patch: { name: 'Bob' }, base: { name: 'Cy' } });
  }
});

test('a read sent before a superseded push landed does not undo it', () => {
  const w = when(linked(), updated({ phone: '+1 555 0102' }, 2));
  const push = sfPending(w);
  const renamed = when(w, read({ name: 'Ada King' }));
  const landed = sfUpdated(push);
  // Sent before the push landed, it shows the phone the push replaced.
  const early = read({ phone: FIELDS.phone }, { agoMs: 1_500, queriedAgoMs: 1_500 });
  const done = when(renamed, landed, early);
  assert.equal(
    applies(done).map((a) => a.patch),
    [{ name: 'Ada King' }],
    'the phone our write replaced is not written back',
  );
  assert.is(salesforce(done).known?.phone, '+1 555 0102');
});

test('a to_salesforce field edited there is put back, not taken', () => {
  const w = when(linked(), read({}, { putBack: { email: 'other@example.com' } }));
  assert.equal(applies(w), [], 'Postgres is not written');
  assert.equal(sfPending(w).params, {
    externalId: SF_ID,
    patch: { email: FIELDS.email },
    base: { email: 'other@example.com' },
  });
});

test('a record of another link is left alone', () => {
  const other = when(linked(), read({ phone: '+1 5' }, { recordId: '001000000000002AAA' }));
  assert.equal(applies(other), []);
  assert.equal(salesforce(other).known, canonicalFields(FIELDS));
});

test("read before our create's outcome: the record is the create's, linked, and its edit merged", () => {
  // The create landed; its answer is lost or still coming, and a person has edited the record.
  const start = given(created());
  const createId = sfPending(start).id;
  const before = when(start, read({ phone: '+1 4' }, { createdAt: start.now }));
  const t = salesforce(before);
  assert.is(t.externalId, SF_ID, 'linked to the record read');
  assert.is(t.pending, null, 'the create is done: a resend would undo the edit');
  assert.is(t.known?.phone, '+1 4', 'known to hold the edit, on top of what the create sent');
  assert.is(t.known?.name, FIELDS.name);
  assert.equal(applies(before)[0]?.patch, { phone: '+1 4' }, "the person's edit reaches Postgres");
  assert.is(applies(before)[0]?.origin, 'salesforce');
  // The create's outcome, when it comes, names no pending intent and changes nothing.
  const late = when(before, (w) => ({
    type: 'SalesforceAccountCreated',
    data: { intentId: createId, externalId: SF_ID },
    at: w.now,
  }));
  assert.equal(salesforce(late), salesforce(before));
  // Our create's own echo, read first, only links: nothing is written.
  const made = given(created());
  const echo = when(made, read({}, { byUs: true, createdAt: made.now }));
  assert.is(salesforce(echo).externalId, SF_ID);
  assert.equal(applies(echo), []);
});

test('a record older than our create, or a change event, does not stand for the create', () => {
  // Made before the create was recorded (an import stamped our id on it): the upsert lands on it.
  const start = given(created());
  const older = when(start, read({ phone: '+1 4' }, { createdAt: start.now - 60_000 }));
  assert.is(salesforce(older).externalId, null);
  assert.is(salesforce(older).pending?.op, 'create', 'the create still goes');
  assert.equal(applies(older), []);
  // A change event tells no creation time (and may be about a record since deleted).
  const event = when(given(created()), read({ phone: '+1 4' }));
  assert.is(salesforce(event).externalId, null);
  assert.equal(applies(event), []);
});

const owned = scenarios(
  createCustomerMachine(DEFAULT_POLICIES, {
    targets: ['stripe', 'salesforce'],
    owners: fieldOwnersOf(['phone=postgres', 'email=salesforce', 'metadata=stripe']),
  }),
);

test("field owners: the owner's change always wins, another side's is put back, both recorded", () => {
  const linkedOwned = () => owned.given(created(), sfCreated(SF_ID));
  // Salesforce owns email: its change wins even over a later one in Postgres.
  const email = owned.when(linkedOwned(), read({ email: 'sf@example.com' }, { agoMs: 10_000 }));
  assert.equal(applies(email)[0]?.patch, { email: 'sf@example.com' });
  assert.equal(applies(email)[0]?.conflicts, [], 'nothing met it in Postgres');
  const both = owned.when(
    linkedOwned(),
    updated({ email: 'pg@example.com' }, 2),
    read({ email: 'sf@example.com' }, { agoMs: 10_000 }),
  );
  assert.equal(applies(both)[0]?.patch, { email: 'sf@example.com' });
  assert.is(applies(both)[0]?.conflicts[0]?.winner, 'salesforce');
  assert.match(applies(both)[0]!.conflicts[0]!.reason, /^owner: Salesforce owns email/);
  // Postgres owns phone: Salesforce's edit is put back, recorded with the reason owner.
  const phone = owned.when(linkedOwned(), read({ phone: '+1 9' }));
  const [write] = applies(phone);
  assert.equal(write?.patch, {});
  assert.is(write?.conflicts[0]?.winner, 'postgres');
  assert.match(write!.conflicts[0]!.reason, /^owner: Postgres owns phone/);
  assert.equal(sfPending(phone).params, {
    externalId: SF_ID,
    patch: { phone: FIELDS.phone },
    base: { phone: '+1 9' },
  });
  // Stripe owns every metadata key: Salesforce's change to one is put back.
  const meta = owned.when(linkedOwned(), read({ metadata: { plan: 'silver' } }));
  assert.is(applies(meta)[0]?.conflicts[0]?.field, 'metadata.plan');
  assert.match(applies(meta)[0]!.conflicts[0]!.reason, /^owner: Stripe owns metadata.plan/);
});

test('an edit a change event told that a later write of ours changed again lost to it', () => {
  // Linked: our create wrote every field, and its event came after the person's.
  const w = when(linked(), read({ phone: '+1 555 0142' }, { overwritten: ['phone'] }));
  const [write] = applies(w);
  assert.equal(write?.patch, {}, 'not taken');
  assert.equal(
    write?.conflicts.map((c) => [c.field, c.winner, c.postgres, c.stripe, c.target]),
    [['phone', 'postgres', FIELDS.phone, '+1 555 0142', 'salesforce']],
  );
  assert.match(write!.conflicts[0]!.reason, /came before a write of Postgres's value by rtws/);
  assert.is(salesforce(w).known?.phone, FIELDS.phone, 'Salesforce holds our write');
  assert.is(salesforce(w).pending, null, 'nothing to put back');
  // Fields our write did not change again are taken.
  const both = when(
    linked(),
    read({ phone: '+1 555 0142', email: 'new@example.com' }, { overwritten: ['phone'] }),
  );
  assert.equal(applies(both)[0]?.patch, { email: 'new@example.com' });
  // With no later write of ours, it is an edit like any other.
  const later = when(linked(), read({ phone: '+1 555 0142' }));
  assert.equal(applies(later)[0]?.patch, { phone: '+1 555 0142' });
});

test.run();
