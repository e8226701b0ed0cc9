// The coalescer against the emulator, through jsforce: calls made one customer at a time, as the
// scheduler makes them, share sObject Collections requests, and each caller gets its own record's
// outcome, whatever happens to the others or to the request as a whole.
import * as assert from 'uvu/assert';
import type { Connection } from 'jsforce';
import type { SalesforceOutcomeEvent } from '../../actors/customer/index.ts';
import { SalesforceCoalescer, type CoalescerOptions } from '../../adapters/salesforce/coalescer.ts';
import {
  HELD_SALESFORCE_PUSH_RETRY_MS,
  executeSalesforceIntent,
} from '../../adapters/salesforce/executor.ts';
import { DEFAULT_ACCOUNT_FIELD_MAP } from '../../adapters/salesforce/mapper.ts';
import type { SalesforceTarget, SalesforceWork } from '../../adapters/salesforce/target.ts';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import type { FieldPatch } from '../../core/policy/push.ts';
import {
  TARGET,
  countByRtwsId,
  create,
  externalIdOf,
  failureOf,
  fields,
  work,
  salesforceSuite,
} from './fixtures.ts';

const test = salesforceSuite('Salesforce coalescer');

const coalescer = (conn: Connection, o: Partial<CoalescerOptions> = {}) =>
  new SalesforceCoalescer({ connection: () => Promise.resolve(conn), target: TARGET, ...o });

/** Every work handed over at once, as the scheduler does when its slots free up together. */
const all = (c: SalesforceCoalescer, items: readonly SalesforceWork[]) =>
  Promise.all(items.map((w) => c.execute(w)));

const customers = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => create(`${prefix}-${i}`));

const failure = (o: SalesforceOutcomeEvent) => failureOf(o).failure;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('450 concurrent creates cost 3 Collections calls; each caller gets its own record id', async ({
  conn,
  emulator,
}) => {
  const items = customers(450, 'bulk');
  const outcomes = await all(coalescer(conn), items);
  assert.equal(emulator.stats().callsByEndpoint, { 'collections.upsert': 3 });
  const byRtwsId = new Map(emulator.records('Account').map((r) => [r.Rtws_Id__c, r.Id]));
  assert.is(byRtwsId.size, 450);
  outcomes.forEach((o, i) => {
    assert.is(o.data.intentId, items[i]!.intent.id);
    assert.is(externalIdOf(o), byRtwsId.get(items[i]!.customerId));
  });
});

test('one batch of mixed writes: each record succeeds or fails on its own', async ({
  conn,
  emulator,
}) => {
  const single = (w: SalesforceWork) => executeSalesforceIntent(conn, w, TARGET);
  const kept = externalIdOf(await single(create('kept')));
  const doomed = externalIdOf(await single(create('doomed')));
  const gone = externalIdOf(await single(create('gone')));
  await single(work('gone', 'DeleteSalesforceAccount', { externalId: gone }));
  const before = emulator.stats().callsByEndpoint;

  const items = [
    create('new-1'),
    create('nameless', ''),
    work('kept', 'UpdateSalesforceAccount', { externalId: kept, patch: { name: 'Renamed' } }),
    work('doomed', 'DeleteSalesforceAccount', { externalId: doomed }),
    work('gone', 'DeleteSalesforceAccount', { externalId: gone }),
    create('new-2'),
  ];
  const outcomes = await all(coalescer(conn), items);

  assert.equal(
    outcomes.map((o) => o.data.intentId),
    items.map((w) => w.intent.id),
  );
  assert.is(outcomes[0]!.type, 'SalesforceAccountCreated');
  const nameless = failureOf(outcomes[1]!);
  assert.is(nameless.failure, 'permanent');
  assert.match(nameless.reason, /REQUIRED_FIELD_MISSING/);
  assert.is(outcomes[2]!.type, 'SalesforceAccountUpdated');
  assert.is(outcomes[3]!.type, 'SalesforceAccountDeleted');
  const again = failureOf(outcomes[4]!);
  assert.is(again.failure, 'not_found', 'already deleted: the actor takes it as done');
  assert.match(again.reason, /ENTITY_IS_DELETED|NOT_FOUND/);
  assert.is(outcomes[5]!.type, 'SalesforceAccountCreated');

  const calls = emulator.stats().callsByEndpoint;
  assert.is(calls['collections.upsert'], 1, 'three creates, one call');
  assert.is(calls['collections.delete'], 1, 'two deletes, one call');
  assert.is(calls['sobject.update'], (before['sobject.update'] ?? 0) + 1, 'the update alone');
  assert.is(calls['sobject.upsert'], before['sobject.upsert']);
  assert.is(calls['sobject.delete'], before['sobject.delete']);
  const renamed = emulator.records('Account').find((r) => r.Rtws_Id__c === 'kept');
  assert.is(renamed?.Name, 'Renamed');
  assert.is(renamed?.Phone, '+44 20 7946 0000', 'only the changed field was sent');
  assert.is(await countByRtwsId(conn, 'doomed'), 0);
  assert.is(await countByRtwsId(conn, 'nameless'), 0);
});

test('a lone write goes as the plain single-record call', async ({ conn, emulator }) => {
  const c = coalescer(conn);
  const id = externalIdOf(await c.execute(create('solo')));
  const del = await c.execute(work('solo', 'DeleteSalesforceAccount', { externalId: id }));
  assert.is(del.type, 'SalesforceAccountDeleted');
  assert.equal(emulator.stats().callsByEndpoint, { 'sobject.upsert': 1, 'sobject.delete': 1 });
});

test('UNABLE_TO_LOCK_ROW on the whole call: every record is transient; the resend lands once', async ({
  conn,
  emulator,
}) => {
  const c = coalescer(conn);
  emulator.injectFault({ method: 'PATCH', path: '/composite/sobjects' });
  const items = customers(5, 'locked');
  const locked = await all(c, items);
  assert.equal(locked.map(failure), [
    'transient',
    'transient',
    'transient',
    'transient',
    'transient',
  ]);
  locked.forEach((o, i) => {
    assert.is(o.data.intentId, items[i]!.intent.id);
    assert.match(failureOf(o).reason, /UNABLE_TO_LOCK_ROW/);
    assert.is((o.data as { attempt?: number }).attempt, 1);
  });
  assert.is(emulator.records('Account').length, 0, 'the fault came before any write');

  const resent = await all(
    c,
    items.map((w) => ({ ...w, intent: { ...w.intent, attempt: 2 } })),
  );
  assert.ok(resent.every((o) => o.type === 'SalesforceAccountCreated'));
  const total = await conn.query('SELECT COUNT() FROM Account');
  assert.is(total.totalSize, 5);
});

test('a token that expired is renewed once and the batch replayed; nothing is doubled', async ({
  conn,
  emulator,
}) => {
  const c = coalescer(conn);
  const first = await all(c, customers(50, 'token'));
  const token = conn.accessToken;
  emulator.expireTokens();
  const renamed = first.map((o, i) =>
    work(`token-${i}`, 'UpdateSalesforceAccount', {
      externalId: externalIdOf(o),
      patch: { name: `Renamed ${i}` },
    }),
  );
  const outcomes = await all(c, renamed);
  assert.ok(outcomes.every((o) => o.type === 'SalesforceAccountUpdated'));
  assert.is.not(conn.accessToken, token, 'a new session');
  const records = emulator.records('Account');
  assert.is(records.length, 50);
  assert.ok(records.every((r) => String(r.Name).startsWith('Renamed')));
});

test('a spent quota: every record is rate_limited, with the configured pause as its hint', async ({
  conn,
  emulator,
}) => {
  emulator.exhaustQuota();
  const outcomes = await all(coalescer(conn, { quotaPauseMs: 45_000 }), customers(4, 'q'));
  for (const o of outcomes) {
    assert.is(failure(o), 'rate_limited');
    assert.is((o.data as { retryAfterMs?: number }).retryAfterMs, 45_000);
  }
  const lookup = await coalescer(conn, { quotaPauseMs: 45_000 }).execute(
    work('q-0', 'FindSalesforceAccount', { rtwsId: 'q-0', createdSince: 0 }),
  );
  assert.is((lookup.data as { retryAfterMs?: number }).retryAfterMs, 45_000, 'lookups too');
  emulator.restoreQuota();
  const unset = await coalescer(conn).execute(
    work('q-1', 'DeleteSalesforceAccount', { externalId: 'x' }),
  );
  assert.is(
    (unset.data as { retryAfterMs?: number }).retryAfterMs,
    undefined,
    'no pause configured',
  );
});

test('a full batch goes at once; lookups and no-op updates never wait', async ({ conn }) => {
  const c = coalescer(conn, { lingerMs: 60_000, maxRecords: 3 });
  const started = Date.now();
  const full = await all(c, customers(3, 'full'));
  assert.ok(full.every((o) => o.type === 'SalesforceAccountCreated'));
  const found = await c.execute(
    work('full-0', 'FindSalesforceAccount', { rtwsId: 'full-0', createdSince: 0 }),
  );
  assert.is(found.type, 'SalesforceAccountFound');
  const noop = await c.execute(
    work('full-1', 'UpdateSalesforceAccount', {
      externalId: externalIdOf(full[1]!),
      patch: { metadata: { unmapped: 'x' } },
    }),
  );
  assert.is(noop.type, 'SalesforceAccountUpdated');
  assert.ok(Date.now() - started < 10_000, 'none waited for the linger');
});

test('while every request is busy, the next batch keeps growing', async ({ conn, emulator }) => {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const c = coalescer(conn, {
    maxRequests: 1,
    lingerMs: 1,
    connection: async () => {
      await held;
      return conn;
    },
  });
  const first = c.execute(create('first'));
  await sleep(20); // sent, and holding the only request
  const rest = customers(30, 'later').map((w) => c.execute(w));
  await sleep(20); // their linger is over, but no request is free
  release();
  const outcomes = await Promise.all([first, ...rest]);
  assert.ok(outcomes.every((o) => o.type === 'SalesforceAccountCreated'));
  assert.equal(emulator.stats().callsByEndpoint, { 'sobject.upsert': 1, 'collections.upsert': 1 });
});

test('two writes for one customer go in order, in separate calls', async ({ conn, emulator }) => {
  const c = coalescer(conn, { lingerMs: 50 });
  const first = create('twice', 'First');
  const second = create('twice', 'Second');
  const [a, b] = await all(c, [first, second, create('other')]);
  assert.is(externalIdOf(a!), externalIdOf(b!));
  assert.is(emulator.records('Account').find((r) => r.Rtws_Id__c === 'twice')?.Name, 'Second');
  assert.is(await countByRtwsId(conn, 'twice'), 1);
});

test("a write that waited past its lease's margin is not sent; one within it goes", async ({
  conn,
}) => {
  // Every request busy on a slow batch: the next one waits, and the lease of one of its
  // customers is past its margin by the time a request is free.
  const c = coalescer(conn, { maxRequests: 1, lingerMs: 5 });
  const now = Date.now();
  const [, late, fresh] = await Promise.all([
    c.execute(create('busy')),
    (async () => {
      await sleep(2);
      return c.execute(create('late'), { stillCallable: () => Date.now() <= now + 1 });
    })(),
    (async () => {
      await sleep(2);
      return c.execute(create('fresh'), { stillCallable: () => true });
    })(),
  ]);
  assert.is(failure(late), 'target_moved');
  assert.match(failureOf(late).reason, 'lease');
  assert.is(await countByRtwsId(conn, 'late'), 0, 'nothing sent for it');
  assert.ok(externalIdOf(fresh));
  assert.is(await countByRtwsId(conn, 'fresh'), 1);
});

test('a session that cannot be had fails every waiting call as a login failure', async () => {
  const c = new SalesforceCoalescer({
    connection: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')),
    target: TARGET,
  });
  const outcomes = await all(c, customers(3, 'nologin'));
  for (const o of outcomes) {
    assert.is(failure(o), 'transient');
    assert.match(failureOf(o).reason, /^login: /);
  }
});

/** A record created as rtws would, then a push of a new phone decided against its first one. */
async function laterPush(
  conn: Connection,
  id: string,
  patch: FieldPatch = { phone: '+1 555 0101' },
) {
  const externalId = externalIdOf(await executeSalesforceIntent(conn, create(id), TARGET));
  const base = { phone: fields(id).phone, name: fields(id).name };
  const push = work(id, 'UpdateSalesforceAccount', {
    externalId,
    patch,
    base: pickBase(base, patch),
  });
  return { externalId, push };
}

const pickBase = (base: FieldPatch, patch: FieldPatch): FieldPatch =>
  Object.fromEntries(Object.keys(patch).map((f) => [f, base[f as keyof FieldPatch]]));

const recordOf = (emulator: SalesforceEmulator, id: string) =>
  emulator.records('Account').find((r) => r.Rtws_Id__c === id);

test('a push decided earlier is held while a person has changed what it overwrites', async ({
  conn,
  emulator,
}) => {
  const { externalId, push } = await laterPush(conn, 'moved');
  emulator.editAsPerson('Account', externalId, { Phone: '+1 555 0199' });
  const before = emulator.stats().callsByEndpoint;
  const c = coalescer(conn, { readsChanges: true });
  const held = await c.execute(push, { decidedEarlier: true });
  assert.is(failure(held), 'target_moved');
  assert.match(failureOf(held).reason, /phone changed on Salesforce/);
  assert.is((held.data as { retryAfterMs?: number }).retryAfterMs, HELD_SALESFORCE_PUSH_RETRY_MS);
  assert.is(recordOf(emulator, 'moved')?.Phone, '+1 555 0199', "the person's edit stays");
  const calls = emulator.stats().callsByEndpoint;
  assert.is(calls['sobject.update'] ?? 0, before['sobject.update'] ?? 0, 'nothing was written');

  // Decided now (after the read brought the edit), the same push goes.
  const sent = await c.execute(push);
  assert.is(sent.type, 'SalesforceAccountUpdated');
  assert.is(recordOf(emulator, 'moved')?.Phone, '+1 555 0101');
});

test('a push decided earlier goes when the record holds what it was decided against, or what it sets', async ({
  conn,
  emulator,
}) => {
  const c = coalescer(conn, { readsChanges: true });
  const { push } = await laterPush(conn, 'unmoved');
  assert.is((await c.execute(push, { decidedEarlier: true })).type, 'SalesforceAccountUpdated');
  assert.is(recordOf(emulator, 'unmoved')?.Phone, '+1 555 0101');
  // Already holding it (an earlier try landed): sent again, harmlessly.
  assert.is((await c.execute(push, { decidedEarlier: true })).type, 'SalesforceAccountUpdated');
  // A field the person did not touch is not held by one they did.
  const { externalId, push: named } = await laterPush(conn, 'other', { name: 'Ada King' });
  emulator.editAsPerson('Account', externalId, { Phone: '+1 555 0199' });
  assert.is((await c.execute(named, { decidedEarlier: true })).type, 'SalesforceAccountUpdated');
  assert.equal(
    [recordOf(emulator, 'other')?.Name, recordOf(emulator, 'other')?.Phone],
    ['Ada King', '+1 555 0199'],
  );
});

test('a create resent over its own record that a person edited since is held; otherwise it goes', async ({
  conn,
  emulator,
}) => {
  const c = coalescer(conn, { readsChanges: true });
  const recorded = (w: SalesforceWork, at: number): SalesforceWork => ({
    ...w,
    intent: { ...w.intent, recordedAt: at },
  });
  // No record yet, or the one an earlier try made, untouched: sent (an upsert, harmless).
  const fresh = recorded(create('resent-fresh'), Date.now() - 1_000);
  assert.is((await c.execute(fresh, { decidedEarlier: true })).type, 'SalesforceAccountCreated');
  assert.is((await c.execute(fresh, { decidedEarlier: true })).type, 'SalesforceAccountCreated');
  // The earlier try's record, edited by a person: held, and the edit stays.
  const edited = recorded(create('resent-edited'), Date.now() - 1_000);
  const first = await c.execute(edited);
  const recordId = (first.data as { externalId: string }).externalId;
  emulator.editAsPerson('Account', recordId, { Phone: '+1 555 0177' });
  const held = await c.execute(edited, { decidedEarlier: true });
  assert.is(failure(held), 'target_moved');
  assert.is(recordOf(emulator, 'resent-edited')?.Phone, '+1 555 0177', "the person's edit stays");
  // A record made before the create was recorded (an import stamped our id on it) is not the
  // create's own: the upsert lands on it as before.
  const older = recorded(create('resent-older'), Date.now() + 60_000);
  const made = await c.execute(older);
  emulator.editAsPerson('Account', (made.data as { externalId: string }).externalId, {
    Phone: '+1 555 0188',
  });
  assert.is((await c.execute(older, { decidedEarlier: true })).type, 'SalesforceAccountCreated');
  assert.is(recordOf(emulator, 'resent-older')?.Phone, fields('resent-older').phone);
});

test("without a reader of Salesforce's changes, or for a field mapped one way, the push goes", async ({
  conn,
  emulator,
}) => {
  const { externalId, push } = await laterPush(conn, 'unread');
  emulator.editAsPerson('Account', externalId, { Phone: '+1 555 0199' });
  const unread = await coalescer(conn).execute(push, { decidedEarlier: true });
  assert.is(unread.type, 'SalesforceAccountUpdated');
  assert.is(recordOf(emulator, 'unread')?.Phone, '+1 555 0101');

  const outbound: SalesforceTarget = {
    ...TARGET,
    fieldMap: {
      ...DEFAULT_ACCOUNT_FIELD_MAP,
      Phone: { canonical: 'phone', direction: 'to_salesforce' },
    },
  };
  const { externalId: id2, push: push2 } = await laterPush(conn, 'outbound');
  emulator.editAsPerson('Account', id2, { Phone: '+1 555 0199' });
  const c = coalescer(conn, { readsChanges: true, target: outbound });
  assert.is((await c.execute(push2, { decidedEarlier: true })).type, 'SalesforceAccountUpdated');
  assert.is(recordOf(emulator, 'outbound')?.Phone, '+1 555 0101');

  // A note only Salesforce changes is never written, so a push that sets it overwrites nothing.
  const noted: SalesforceTarget = {
    ...TARGET,
    fieldMap: {
      ...DEFAULT_ACCOUNT_FIELD_MAP,
      Description: { canonical: 'metadata.notes', direction: 'from_salesforce' },
    },
  };
  const { externalId: id3, push: push3 } = await laterPush(conn, 'noted', {
    metadata: { notes: 'from the catalogue' },
  });
  emulator.editAsPerson('Account', id3, { Description: 'kept in Salesforce' });
  const before = emulator.stats().apiCalls;
  const n = coalescer(conn, { readsChanges: true, target: noted });
  assert.is((await n.execute(push3, { decidedEarlier: true })).type, 'SalesforceAccountUpdated');
  assert.is(emulator.stats().apiCalls, before, 'no read and no write');
  assert.is(recordOf(emulator, 'noted')?.Description, 'kept in Salesforce');
});

test('pushes that waited are checked together: one query for many customers', async ({
  conn,
  emulator,
}) => {
  const pushes = [];
  for (let i = 0; i < 30; i++) pushes.push(await laterPush(conn, `many-${i}`));
  for (const { externalId } of pushes.filter((_, i) => i % 3 === 0))
    emulator.editAsPerson('Account', externalId, { Phone: '+1 555 0199' });
  const before = emulator.stats().callsByEndpoint;
  const c = coalescer(conn, { readsChanges: true });
  const outcomes = await Promise.all(
    pushes.map(({ push }) => c.execute(push, { decidedEarlier: true })),
  );
  outcomes.forEach((o, i) =>
    assert.is(
      o.type === 'SalesforceCallFailed' ? failure(o) : o.type,
      i % 3 === 0 ? 'target_moved' : 'SalesforceAccountUpdated',
    ),
  );
  const after = emulator.stats().callsByEndpoint;
  assert.is((after.query ?? 0) - (before.query ?? 0), 1, 'one query read the 30 records');
  assert.is((after['collections.update'] ?? 0) - (before['collections.update'] ?? 0), 1);
  assert.is(emulator.records('Account').filter((r) => r.Phone === '+1 555 0199').length, 10);
});

test('a check that cannot read the record fails the push as the read failed, sending nothing', async ({
  conn,
  emulator,
}) => {
  const { push } = await laterPush(conn, 'unreadable');
  emulator.injectFault({ path: '/query', errorCode: 'SERVER_UNAVAILABLE', count: 1 });
  const before = emulator.stats().callsByEndpoint['sobject.update'] ?? 0;
  const failed = await coalescer(conn, { readsChanges: true }).execute(push, {
    decidedEarlier: true,
  });
  assert.is(failure(failed), 'transient');
  assert.is(emulator.stats().callsByEndpoint['sobject.update'] ?? 0, before);
  assert.is(recordOf(emulator, 'unreadable')?.Phone, fields('unreadable').phone);
});

test.run();
