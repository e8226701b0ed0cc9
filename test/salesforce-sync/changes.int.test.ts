// Salesforce both ways, by polling (RTWS_SALESFORCE_POLL_S=1, no change events): a person's edit
// in Salesforce reaches Postgres (origin salesforce) and Stripe once, and is not written back to
// Salesforce; our own writes' echoes cause no Postgres write, while an edit made as the
// integration user through another tool flows; a field edited on both sides goes to the later
// edit and is recorded as a conflict naming Salesforce; a record deleted there is unlinked
// (RTWS_SALESFORCE_ON_REMOTE_DELETE=unlink), found by getDeleted; a field Postgres owns
// (RTWS_FIELD_OWNERS) edited there is put back. With Change Data Capture an edit arrives without
// waiting for the interval, echoes are known by their `changeOrigin`, and an edit by the
// integration user through another tool flows even with the values of one of our earlier writes;
// a deletion's change event is handled at once, under `propagate` and `recreate`; once the org's
// event allocation is spent, reads fall back to polling. /readyz says which reader
// is active, and why.
//
// RTWS_SF_CHANGES_EDITS sets how many API edits the echo test makes (default 30).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Readiness } from '../../adapters/http/routes/health.ts';
import { authHeaders } from '../harness/rtws.ts';
import { testSize } from '../harness/services.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import type { CustomerBody, SyncState } from './api.ts';
import { stripeCustomersByRtwsId } from './stripe-view.ts';
import { startWorld, type World } from './world.ts';

const EDITS = testSize('RTWS_SF_CHANGES_EDITS', 30);

const customer = (name: string, email: string): CustomerBody => ({
  name,
  email,
  phone: null,
  address: null,
  metadata: {},
});

const test = suite<{ w?: World }>('Salesforce sync: changes read back from Salesforce');

test.before(async (ctx) => {
  ctx.w = await startWorld({ RTWS_SALESFORCE_POLL_S: '1', RTWS_SALESFORCE_CDC: 'false' }).catch(
    (err: unknown) => {
      console.error(err);
      throw err;
    },
  );
});

test.after(async (ctx) => {
  await ctx.w?.close();
});

const accountOf = (w: World, id: string) =>
  w.sf.records('Account').find((r) => r.Rtws_Id__c === id);

async function syncedAt(w: World, id: string, version: number): Promise<SyncState> {
  const state = await eventually(
    () => w.api.sync(id),
    (s) =>
      s.targets?.salesforce?.synced_version === version &&
      s.targets.salesforce.status === 'synced' &&
      s.targets.stripe?.synced_version === version &&
      s.targets.stripe.status === 'synced',
    20_000,
    100,
  );
  assert.is(state.targets?.salesforce?.synced_version, version, JSON.stringify(state.targets));
  assert.is(state.targets?.stripe?.synced_version, version, JSON.stringify(state.targets));
  return state;
}

async function row(w: World, id: string) {
  const [r] = await w.rtws.sql<
    { phone: string | null; name: string; version: string; origin: string }[]
  >`
    SELECT phone, name, version, origin FROM customers WHERE id = ${id}`;
  return r!;
}

type Reader = NonNullable<NonNullable<Readiness['salesforce']>['reader']>;

/** Which reader of Salesforce's changes /readyz says is active, and why. */
async function readerOf(w: World): Promise<Reader | undefined> {
  const res = await fetch(`${w.rtws.url}/readyz`, { headers: authHeaders() });
  return ((await res.json()) as Readiness).salesforce?.reader;
}

/** Waits until the worker reads on change events; returns what /readyz then says. */
async function onChangeEvents(w: World): Promise<Reader | undefined> {
  const reader = await eventually(
    () => readerOf(w),
    (r) => r?.reader === 'change_events',
    10_000,
    100,
  );
  assert.is(reader?.reader, 'change_events', 'subscribed');
  return reader;
}

/** Changes from Salesforce applied to the customer in Postgres (each is recorded in the inbox). */
async function fromSalesforce(w: World, id: string): Promise<number> {
  const [r] = await w.rtws.sql<{ n: string }[]>`
    SELECT count(*) AS n FROM inbox WHERE customer_id = ${id} AND source = 'salesforce'`;
  return Number(r!.n);
}

const WRITES = /^(sobject|collections)\.(create|update|upsert|delete)$/;

/** Writes through Salesforce's API so far, as the emulator counts them. */
function sfWrites(w: World): number {
  return Object.entries(w.sf.stats().callsByEndpoint)
    .filter(([endpoint]) => WRITES.test(endpoint))
    .reduce((n, [, calls]) => n + calls, 0);
}

test("a person's edit in Salesforce reaches Postgres and Stripe once, and not Salesforce again", async (ctx) => {
  const w = ctx.w!;
  const id = await w.api.create(customer('Grace Hopper', 'grace@example.com'));
  await syncedAt(w, id, 1);
  const account = accountOf(w, id)!;
  const writesBefore = sfWrites(w);
  w.sf.editAsPerson('Account', String(account.Id), { Phone: '+1 555 0142' });
  const after = await eventually(
    () => row(w, id),
    (r) => r.phone === '+1 555 0142',
    15_000,
    100,
  );
  assert.is(after.phone, '+1 555 0142', 'Postgres has the edit');
  assert.is(after.origin, 'salesforce');
  assert.is(Number(after.version), 2);
  await syncedAt(w, id, 2);
  const [stripe] = (await stripeCustomersByRtwsId(w.stripe)).get(id) ?? [];
  assert.is(stripe?.phone, '+1 555 0142', 'Stripe has it');
  // A few more reads: the edit is applied once, and nothing is written back to Salesforce.
  await new Promise((r) => setTimeout(r, 3_000));
  assert.is(Number((await row(w, id)).version), 2, 'one Postgres write');
  assert.is(await fromSalesforce(w, id), 1);
  assert.is(sfWrites(w), writesBefore, 'no write back to Salesforce');
});

test('the echoes of our own writes cause no Postgres write', async (ctx) => {
  const w = ctx.w!;
  const id = await w.api.create(customer('Echo Base', 'echo@example.com'));
  await syncedAt(w, id, 1);
  for (let i = 1; i <= EDITS; i++) await w.api.patch(id, { phone: `+1 555 ${1000 + i}` });
  await syncedAt(w, id, EDITS + 1);
  // Several reads of Salesforce pass over every write.
  await new Promise((r) => setTimeout(r, 3_000));
  assert.is(await fromSalesforce(w, id), 0, 'no change came back from Salesforce');
  assert.is(Number((await row(w, id)).version), EDITS + 1);
  assert.is(accountOf(w, id)?.Phone, `+1 555 ${1000 + EDITS}`);
});

test('/readyz says polling is the active reader, and why', async (ctx) => {
  const reader = await eventually(
    () => readerOf(ctx.w!),
    (r) => r?.last_read_at !== null,
    10_000,
    100,
  );
  assert.is(reader?.reader, 'polling');
  assert.is(reader?.why, 'RTWS_SALESFORCE_CDC is false');
  assert.is(reader?.interval_s, 1);
  assert.ok(Date.parse(reader?.last_read_at ?? '') > Date.now() - 10_000, 'read lately');
  assert.is(reader?.last_error, null);
});

test('an edit made as the integration user through another tool, with other values, flows', async (ctx) => {
  const w = ctx.w!;
  const id = await w.api.create(customer('Same User', 'same-user@example.com'));
  await syncedAt(w, id, 1);
  const account = accountOf(w, id)!;
  const integrationUser = String(account.LastModifiedById);
  w.sf.editAsPerson(
    'Account',
    String(account.Id),
    { Phone: '+1 555 0177' },
    {
      userId: integrationUser,
    },
  );
  const after = await eventually(
    () => row(w, id),
    (r) => r.phone === '+1 555 0177',
    15_000,
    100,
  );
  assert.is(after.phone, '+1 555 0177', 'taken: its values are none of ours');
  assert.is(after.origin, 'salesforce');
  assert.is(accountOf(w, id)?.LastModifiedById, integrationUser, 'made as the integration user');
});

test('a field edited in Postgres and in Salesforce goes to the later edit, recorded', async (ctx) => {
  const w = ctx.w!;
  const id = await w.api.create(customer('Both Sides', 'both@example.com'));
  await syncedAt(w, id, 1);
  const account = accountOf(w, id)!;
  // Postgres's change cannot reach Salesforce yet (its writes fail; reads go on), so Salesforce
  // still holds the old phone when a person changes it there, a second and more later.
  w.sf.injectFault({ path: '/sobjects', method: 'PATCH', count: 1_000, status: 503 });
  w.sf.injectFault({ path: '/composite/sobjects', count: 1_000, status: 503 });
  await w.api.patch(id, { phone: '+44 20 0000 0001' });
  await new Promise((r) => setTimeout(r, 1_100));
  w.sf.editAsPerson('Account', String(account.Id), { Phone: '+1 555 0777' });
  await waitFor(
    () => row(w, id),
    (r) => r.phone === '+1 555 0777',
    15_000,
    100,
  );
  w.sf.clearFaults();
  assert.is((await row(w, id)).phone, '+1 555 0777', "Salesforce's later edit wins in Postgres");
  await waitFor(
    async () => ((await stripeCustomersByRtwsId(w.stripe)).get(id) ?? [])[0]?.phone,
    (p) => p === '+1 555 0777',
    15_000,
    200,
  );
  const [stripe] = (await stripeCustomersByRtwsId(w.stripe)).get(id) ?? [];
  assert.is(stripe?.phone, '+1 555 0777', 'and in Stripe');
  await waitFor(
    () => w.api.sync(id),
    (s) => s.targets?.salesforce?.status === 'synced',
    15_000,
    100,
  );
  assert.is(accountOf(w, id)?.Phone, '+1 555 0777', 'Salesforce keeps it');
  const conflicts = await w.rtws.sql<{ target: string; winner: string; target_value: unknown }[]>`
    SELECT target, winner, target_value FROM conflicts WHERE customer_id = ${id} AND field = 'phone'`;
  assert.equal(
    conflicts.map(({ target, winner, target_value }) => ({ target, winner, target_value })),
    [{ target: 'salesforce', winner: 'salesforce', target_value: '+1 555 0777' }],
    'recorded once, naming Salesforce',
  );
});

test('after an outage longer than Salesforce keeps deletions, edits are still read', async (ctx) => {
  const w = ctx.w!;
  const id = await w.api.create(customer('Long Outage', 'outage@example.com'));
  await syncedAt(w, id, 1);
  // As if the last read was three weeks ago: getDeleted refuses a window that old.
  await w.rtws.sql`
    UPDATE catchup_watermarks SET watermark = extract(epoch FROM now() - interval '21 days')::bigint
    WHERE source LIKE 'salesforce:%'`;
  w.sf.editAsPerson('Account', String(accountOf(w, id)!.Id), { Phone: '+1 555 0321' });
  const after = await eventually(
    () => row(w, id),
    (r) => r.phone === '+1 555 0321',
    15_000,
    100,
  );
  assert.is(after.phone, '+1 555 0321');
});

test('a record deleted in Salesforce is unlinked, and nothing is deleted', async (ctx) => {
  const w = ctx.w!;
  const id = await w.api.create(customer('Gone Record', 'gone@example.com'));
  await syncedAt(w, id, 1);
  const account = accountOf(w, id)!;
  w.sf.deleteAsPerson('Account', String(account.Id));
  // getDeleted counts whole minutes: the deletion is read once its minute has passed.
  const state = await eventually(
    () => w.api.sync(id),
    (s) => s.targets?.salesforce?.status === 'unlinked',
    90_000,
    500,
  );
  assert.is(state.targets?.salesforce?.status, 'unlinked', JSON.stringify(state.targets));
  const r = await w.rtws.sql`SELECT deleted_at FROM customers WHERE id = ${id}`;
  assert.is(r[0]?.deleted_at, null, 'the customer is not deleted');
  assert.is(state.targets?.stripe?.status, 'synced');
});

test('with RTWS_FIELD_OWNERS=phone=postgres, an edit of the phone in Salesforce is put back', async () => {
  const w = await startWorld({ RTWS_SALESFORCE_POLL_S: '1', RTWS_FIELD_OWNERS: 'phone=postgres' });
  try {
    const id = await w.api.create({
      ...customer('Owned Phone', 'owned@example.com'),
      phone: '+1 1',
    });
    await syncedAt(w, id, 1);
    const account = accountOf(w, id)!;
    w.sf.editAsPerson('Account', String(account.Id), { Phone: '+1 2', Name: 'Owned Name' });
    // The name (no owner) flows; the phone goes back to Postgres's.
    await waitFor(
      () => row(w, id),
      (r) => r.name === 'Owned Name',
      15_000,
      100,
    );
    await waitFor(
      () => Promise.resolve(accountOf(w, id)?.Phone),
      (p) => p === '+1 1',
      15_000,
      100,
    );
    assert.is(accountOf(w, id)?.Phone, '+1 1', 'put back in Salesforce');
    assert.is((await row(w, id)).phone, '+1 1', 'Postgres keeps its phone');
    const [conflict] = await w.rtws.sql<{ winner: string; reason: string; target: string }[]>`
      SELECT winner, reason, target FROM conflicts WHERE customer_id = ${id} AND field = 'phone'`;
    assert.is(conflict?.winner, 'postgres');
    assert.is(conflict?.target, 'salesforce');
    assert.match(conflict!.reason, /^owner: Postgres owns phone/);
  } finally {
    await w.close();
  }
});

test('with Change Data Capture, an edit arrives at once, not at the next interval', async () => {
  // An interval of an hour: only the change event can make the read that brings the edit.
  const w = await startWorld({ RTWS_SALESFORCE_POLL_S: '3600' });
  try {
    await waitFor(
      () => Promise.resolve(w.sf.stats().events.streamingClients),
      (n) => n >= 1,
      15_000,
      100,
    );
    assert.ok(w.sf.stats().events.streamingClients >= 1, 'rtws subscribed');
    const reader = await onChangeEvents(w);
    assert.is(reader?.reader, 'change_events');
    assert.is(reader?.why, 'subscribed to /data/AccountChangeEvent');
    assert.is(reader?.interval_s, 600, 'the interval read is a slow sweep');
    const id = await w.api.create(customer('Prompt Edit', 'prompt@example.com'));
    await syncedAt(w, id, 1);
    const account = accountOf(w, id)!;
    const editedAt = Date.now();
    w.sf.editAsPerson('Account', String(account.Id), { Phone: '+1 555 0199' });
    const after = await eventually(
      () => row(w, id),
      (r) => r.phone === '+1 555 0199',
      10_000,
      50,
    );
    assert.is(after.phone, '+1 555 0199');
    assert.ok(Date.now() - editedAt < 10_000, `arrived after ${Date.now() - editedAt} ms`);

    // Our writes' change events name rtws's client: each is known as an echo and dropped.
    for (const phone of ['+1 555 0201', '+1 555 0202']) await w.api.patch(id, { phone });
    await syncedAt(w, id, 4);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.is(await fromSalesforce(w, id), 1, 'no change came back but the person edit');
    // The integration user, through another tool, puts back the value of our earlier write: its
    // event names no client of ours, so it is an edit, where a read alone would take it for that
    // write's echo.
    const integrationUser = String(accountOf(w, id)!.LastModifiedById);
    w.sf.editAsPerson(
      'Account',
      String(account.Id),
      { Phone: '+1 555 0201' },
      {
        userId: integrationUser,
      },
    );
    const reverted = await eventually(
      () => row(w, id),
      (r) => r.phone === '+1 555 0201',
      10_000,
      50,
    );
    assert.is(reverted.phone, '+1 555 0201', 'the edit flowed');
    assert.is(reverted.origin, 'salesforce');
    assert.is(await fromSalesforce(w, id), 2);
  } finally {
    await w.close();
  }
});

test('with change events, a deletion is handled at once: propagate deletes the customer everywhere', async () => {
  // An interval of an hour: only the deletion's change event can bring it this soon.
  const w = await startWorld({
    RTWS_SALESFORCE_POLL_S: '3600',
    RTWS_SALESFORCE_ON_REMOTE_DELETE: 'propagate',
  });
  try {
    const id = await w.api.create(customer('Propagated Away', 'propagated@example.com'));
    await syncedAt(w, id, 1);
    await onChangeEvents(w);
    w.sf.deleteAsPerson('Account', String(accountOf(w, id)!.Id));
    const [gone] = await eventually(
      () => w.rtws.sql<{ deleted_at: Date | null; origin: string }[]>`
        SELECT deleted_at, origin FROM customers WHERE id = ${id}`,
      (rows) => rows[0]?.deleted_at !== null,
      10_000,
      100,
    );
    assert.ok(gone?.deleted_at, 'deleted in Postgres');
    assert.is(gone?.origin, 'salesforce');
    const stripeGone = await eventually(
      async () => (await stripeCustomersByRtwsId(w.stripe)).get(id) ?? [],
      (found) => found.length === 0,
      10_000,
      200,
    );
    assert.equal(stripeGone, [], 'deleted in Stripe');
    assert.is(accountOf(w, id), undefined, 'not recreated in Salesforce');
  } finally {
    await w.close();
  }
});

test('with change events, a deletion is handled at once: recreate upserts the record again', async () => {
  const w = await startWorld({
    RTWS_SALESFORCE_POLL_S: '3600',
    RTWS_SALESFORCE_ON_REMOTE_DELETE: 'recreate',
  });
  try {
    const id = await w.api.create(customer('Recreated Again', 'recreated-again@example.com'));
    await syncedAt(w, id, 1);
    await onChangeEvents(w);
    const first = String(accountOf(w, id)!.Id);
    w.sf.deleteAsPerson('Account', first);
    const again = await eventually(
      () => Promise.resolve(accountOf(w, id)),
      (r) => r !== undefined,
      10_000,
      100,
    );
    assert.is(again?.Name, 'Recreated Again');
    assert.is.not(again?.Id, first, 'a new record');
    const state = await eventually(
      () => w.api.sync(id),
      (x) => x.targets?.salesforce?.external_id === again?.Id,
      10_000,
      100,
    );
    assert.is(state.targets?.salesforce?.external_id, again?.Id, 'linked to the new record');
    assert.is(state.targets?.salesforce?.status, 'synced');
    const [r] = await w.rtws.sql`SELECT deleted_at FROM customers WHERE id = ${id}`;
    assert.is(r?.deleted_at, null, 'the customer stays');
  } finally {
    await w.close();
  }
});

test("once the org's event allocation is spent, reads fall back to polling, and say so", async () => {
  const w = await startWorld({ RTWS_SALESFORCE_POLL_S: '1' });
  try {
    const id = await w.api.create(customer('Spent Allocation', 'spent@example.com'));
    await syncedAt(w, id, 1);
    const subscribed = await onChangeEvents(w);
    assert.is(subscribed?.interval_s, 600);
    w.sf.setDeliveredEvents(w.sf.stats().events.dailyDeliveredEventLimit);
    w.sf.editAsPerson('Account', String(accountOf(w, id)!.Id), { Phone: '+1 555 0303' });
    const after = await eventually(
      () => row(w, id),
      (r) => r.phone === '+1 555 0303',
      10_000,
      100,
    );
    assert.is(after.phone, '+1 555 0303', 'read by polling');
    const reader = await readerOf(w);
    assert.is(reader?.reader, 'polling');
    assert.match(reader?.why ?? '', /daily limit exceeded/);
    assert.is(reader?.interval_s, 1);
  } finally {
    await w.close();
  }
});

test('a reconciliation hands an edit the reader has yet to read to the merge, never puts it back', async () => {
  // The reader reads once, at its start; the reconciliation is what finds the edit.
  const w = await startWorld({ RTWS_SALESFORCE_POLL_S: '3600', RTWS_SALESFORCE_CDC: 'false' });
  try {
    const id = await w.api.create(customer('Found Later', 'later@example.com'));
    await syncedAt(w, id, 1);
    w.sf.editAsPerson('Account', String(accountOf(w, id)!.Id), { Name: 'Renamed There' });
    const headers = authHeaders(w.rtws.apiToken);
    const res = await fetch(`${w.rtws.url}/reconciliations`, {
      method: 'POST',
      headers,
      body: '{}',
    });
    assert.is(res.status, 202);
    const after = await eventually(
      () => row(w, id),
      (r) => r.name === 'Renamed There',
      20_000,
      100,
    );
    assert.is(after.name, 'Renamed There', "the person's edit reached Postgres");
    assert.is(after.origin, 'salesforce');
    assert.is(accountOf(w, id)?.Name, 'Renamed There', 'and stayed in Salesforce');
  } finally {
    await w.close();
  }
});

test.run();
