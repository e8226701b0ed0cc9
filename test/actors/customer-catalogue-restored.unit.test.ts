// The customer actor after a database restore: its catalogue row went back to an older version.
// The row's next edit (a fact of a version the actor has seen, made later than the one it has) or a
// reconciliation's read of the row asks one Postgres write that brings the row forward to what
// the actor knows, keeping the fields edited since the restore, with a version above the actor's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SyncedFields } from '../../core/customer.ts';
import { canonicalFields } from '../../core/canonical.ts';
import type { CatalogueApply } from '../../actors/customer/index.ts';
import {
  CUSTOMER,
  FIELDS,
  T0,
  created,
  deleted,
  given,
  intents,
  stripe,
  stripeCreated,
  stripeUpdated,
  updated,
  when,
  type Step,
  type World,
} from './gwt.ts';

/** A fact from the restored row: version `version`, made now, with the fields its edit changed. */
const restoredEdit =
  (fields: Partial<SyncedFields>, version: number, changed: string[]): Step =>
  (w) => ({
    type: 'CustomerUpdated',
    data: { ...FIELDS, ...fields },
    metadata: {
      customer_id: CUSTOMER,
      version,
      origin: 'api',
      outbox_id: 1000 + version,
      occurred_at: new Date(w.now).toISOString(),
      changed,
    },
    at: w.now,
  });

/** A reconciliation's read of the row; by default last changed at the world's start. */
const rowObserved =
  (
    fields: Partial<SyncedFields> | null,
    version: number,
    knownVersion: number,
    updatedAt = T0,
  ): Step =>
  (w) => ({
    type: 'CatalogueRowObserved',
    data: {
      fields: fields === null ? null : canonicalFields({ ...FIELDS, ...fields }),
      version,
      updatedAt: fields === null ? null : new Date(updatedAt).toISOString(),
      knownVersion,
      stripeId: 'cus_A1',
      runId: 7,
    },
    at: w.now,
  });

const applies = (w: World): CatalogueApply[] => w.snapshot.context.inbound.applies;

/** Created, renamed twice and synced: the actor knows version 3, "Ada King, Countess". */
function synced(): World {
  return given(
    created(),
    stripeCreated(),
    updated({ name: 'Ada King' }, 2),
    stripeUpdated(),
    updated({ name: 'Ada King, Countess', phone: '+44 1' }, 3),
    stripeUpdated(),
  );
}

test("a restored row's edit: the rest is brought forward, the edit is kept", () => {
  // The backup held version 1; an edit of the email after the restore makes version 2.
  const w = when(synced(), restoredEdit({ email: 'ada@new.example' }, 2, ['email']));
  const [write] = applies(w);
  assert.ok(write, 'a repair is asked');
  assert.is(write.origin, 'restore');
  assert.is(write.kind, 'update');
  assert.is(write.versionFloor, 3, 'the row is lifted past the version the actor knows');
  assert.equal(write.patch, { name: 'Ada King, Countess', phone: '+44 1' });
  assert.equal(
    write.expected,
    { name: FIELDS.name, phone: FIELDS.phone },
    'only fields still as the restore left them',
  );
  assert.is(w.snapshot.context.desired?.version, 3, 'the edit is not taken as desired yet');
  assert.equal(intents(w), [], 'nothing is pushed until the row is repaired');
});

test('one repair at a time: a second edit behind the actor asks nothing more', () => {
  const w = when(
    synced(),
    restoredEdit({ email: 'ada@new.example' }, 2, ['email']),
    restoredEdit({ email: 'ada@new.example', name: 'Ada' }, 3, ['name']),
  );
  assert.is(applies(w).length, 1, 'the waiting write keeps every field edited meanwhile');
});

test("the repair's fact is taken, and the edit made since the restore is pushed", () => {
  const w = when(
    synced(),
    restoredEdit({ email: 'ada@new.example' }, 2, ['email']),
    (x) => ({
      type: 'CatalogueApplied',
      data: { intentId: applies(x)[0]!.id, version: 4, error: null },
      at: x.now,
    }),
    (x) => ({
      type: 'CustomerUpdated',
      data: { ...FIELDS, name: 'Ada King, Countess', phone: '+44 1', email: 'ada@new.example' },
      metadata: {
        customer_id: CUSTOMER,
        version: 4,
        origin: 'restore',
        outbox_id: 2000,
        occurred_at: new Date(x.now).toISOString(),
        changed: ['email', 'name', 'phone'],
      },
      at: x.now,
    }),
  );
  assert.equal(applies(w), [], 'the repair is seen back');
  assert.is(w.snapshot.context.desired?.version, 4);
  const push = stripe(w).pending;
  assert.is(push?.op, 'update');
  assert.equal(push?.op === 'update' ? push.params.patch : null, { email: 'ada@new.example' });
});

test('a redelivered old fact is not a restore', () => {
  const first = synced();
  const old = first.events[2]!;
  const w = when(first, () => ({ ...old, at: first.now + 1000 }));
  assert.equal(applies(w), []);
});

test("a reconciliation's read of a row nobody edited since brings it all forward", () => {
  const w = when(synced(), rowObserved({}, 1, 3));
  const [write] = applies(w);
  assert.equal(write?.patch, { name: 'Ada King, Countess', phone: '+44 1' });
  assert.is(write?.versionFloor, 3);
  assert.equal(write?.eventIds, ['restore:reconcile:7:v1']);
});

test('a read the actor has moved past since is stale, and changes nothing', () => {
  const w = when(synced(), rowObserved({}, 1, 2));
  assert.equal(applies(w), []);
  const current = when(synced(), rowObserved({ name: 'Ada King, Countess' }, 3, 3));
  assert.equal(applies(current), [], 'a row at the known version is not behind');
});

test("a read of a row edited since the actor's latest fact waits for that edit's fact", () => {
  const w = synced();
  const read = when(w, rowObserved({ email: 'ada@new.example' }, 2, 3, w.now + 500));
  assert.equal(applies(read), [], 'the read cannot tell the edit from what the restore took back');
  const edit = when(read, restoredEdit({ email: 'ada@new.example' }, 2, ['email']));
  assert.equal(applies(edit)[0]?.patch, { name: 'Ada King, Countess', phone: '+44 1' });
});

test('a customer created since the backup is inserted again with what rtws knows', () => {
  const w = when(synced(), rowObserved(null, 0, 3));
  const [write] = applies(w);
  assert.is(write?.kind, 'insert');
  assert.is(write?.stripeId, 'cus_A1');
  assert.equal(
    write?.fields,
    canonicalFields({ ...FIELDS, name: 'Ada King, Countess', phone: '+44 1' }),
  );
  // Its fact: created again, under the floor, keeps where the customer was born.
  const back = when(
    w,
    (x) => ({
      type: 'CatalogueApplied',
      data: { intentId: applies(x)[0]!.id, version: 4, error: null },
      at: x.now,
    }),
    (x) => ({
      type: 'CustomerCreated',
      data: { ...FIELDS, name: 'Ada King, Countess', phone: '+44 1' },
      metadata: {
        customer_id: CUSTOMER,
        version: 4,
        origin: 'restore',
        outbox_id: 3000,
        occurred_at: new Date(x.now).toISOString(),
      },
      at: x.now,
    }),
  );
  assert.is(back.snapshot.context.desired?.bornOn, 'api');
  assert.equal(applies(back), []);
  assert.is(stripe(back).pending, null, 'Stripe holds it already');
});

test('a customer deleted since the backup is deleted again', () => {
  const gone = when(synced(), deleted(4), (x) => ({
    type: 'StripeCustomerDeleted',
    data: { intentId: stripe(x).pending!.id },
    at: x.now,
  }));
  const w = when(gone, restoredEdit({ email: 'ada@new.example' }, 2, ['email']));
  const [write] = applies(w);
  assert.is(write?.kind, 'delete');
  assert.is(write?.origin, 'restore');
  const done = when(w, (x) => ({
    type: 'CatalogueApplied',
    data: { intentId: applies(x)[0]!.id, version: 5, error: null },
    at: x.now,
  }));
  assert.equal(applies(done), [], 'a deletion is done once the customer is deleted');
});

test.run();
