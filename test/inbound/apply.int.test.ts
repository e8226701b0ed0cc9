// The Postgres write for a change seen in Stripe: one transaction with origin `stripe`, done once
// per write, and never over a field Postgres changed again after the merge decided.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeTag, type CatalogueApply } from '../../actors/customer/index.ts';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import { applyFromStripe } from '../../adapters/postgres/inbound-apply.ts';
import { catalogueEffects } from '../../adapters/postgres/catalogue-effects.ts';
import { PermanentApplyError } from '../../core/errors.ts';
import { postgresProxy } from '../harness/postgres-proxy.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t: TestEnvironment; o: Observer }>('applying changes from Stripe');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

let n = 0;
function write(over: Partial<CatalogueApply>): CatalogueApply {
  n++;
  return {
    id: `catalogue-${n}`,
    kind: 'update',
    stripeId: 'cus_apply',
    eventIds: [`evt_apply_${n}`],
    patch: {},
    fields: null,
    conflicts: [],
    recordedAt: 0,
    doneAtVersion: null,
    ...over,
  };
}

async function customer(o: Observer, name: string): Promise<string> {
  const [r] = await o.sql<{ id: string }[]>`
    INSERT INTO customers (name, email, metadata) VALUES (${name}, 'x@example.com', '{"tier":"gold"}')
    RETURNING id`;
  return r!.id;
}

interface Row {
  name: string;
  email: string;
  metadata: Record<string, string>;
  version: number;
  origin: string;
}
const row = async (o: Observer, id: string) =>
  (
    await o.sql<
      Row[]
    >`SELECT name, email, metadata, version, origin FROM customers WHERE id = ${id}`
  )[0]!;

test('a write lands once with origin stripe, metadata merged key by key', async ({ o }) => {
  const id = await customer(o, 'Once');
  const w = write({
    patch: { name: 'Once More', metadata: { tier: null, region: 'eu' } },
    expected: { name: 'Once', metadata: { tier: 'gold', region: null } },
  });
  const first = await applyFromStripe(o.sql, id, w);
  assert.equal(first, { applied: true, version: 2, kept: {}, captured: true });
  const again = await applyFromStripe(o.sql, id, w);
  assert.equal(again, { applied: false, version: 2, kept: {}, captured: false });
  const r = await row(o, id);
  assert.equal(
    [r.name, r.metadata, r.version, r.origin],
    ['Once More', { region: 'eu' }, 2, 'stripe'],
  );
  const [inbox] = await o.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM inbox WHERE source = 'stripe' AND event_id = ${w.eventIds[0]!}`;
  assert.is(inbox?.n, 1);
});

test('an update records the conflicts its merge settled, once', async ({ o }) => {
  const id = await customer(o, 'Settled');
  const settled = {
    field: 'name',
    postgres: 'Settled',
    stripe: 'From Stripe',
    winner: 'stripe' as const,
    reason: 'later change wins',
    eventId: 'evt_settled',
    at: Date.now(),
  };
  const w = write({
    patch: { name: 'From Stripe' },
    expected: { name: 'Settled' },
    conflicts: [settled],
  });
  assert.is((await applyFromStripe(o.sql, id, w)).applied, true);
  // A later write of the same merge (redecided on its replay, differently) leaves it as recorded.
  const again = write({
    patch: { name: 'From Stripe' },
    expected: { name: 'From Stripe' },
    conflicts: [{ ...settled, winner: 'postgres', reason: 'decided again' }],
  });
  assert.is((await applyFromStripe(o.sql, id, again)).applied, true);
  assert.equal(await conflictsOf(o, id), [['name', 'stripe']], 'recorded once');
  assert.is((await row(o, id)).name, 'From Stripe');
});

test('a field Postgres changed after the merge is kept, and recorded as a conflict Postgres won', async ({
  o,
}) => {
  const id = await customer(o, 'Before');
  await o.sql`UPDATE customers SET name = 'Changed by the API' WHERE id = ${id}`;
  const w = write({
    patch: { name: 'From Stripe', email: 'stripe@example.com' },
    expected: { name: 'Before', email: 'x@example.com' },
  });
  const result = await applyFromStripe(o.sql, id, w);
  assert.equal(result.kept, { name: 'Changed by the API' });
  const r = await row(o, id);
  assert.equal([r.name, r.email], ['Changed by the API', 'stripe@example.com']);
  const conflicts = await o.sql<
    { field: string; winner: string; postgres_value: string; stripe_value: string }[]
  >`
    SELECT field, winner, postgres_value, stripe_value FROM conflicts WHERE customer_id = ${id}`;
  assert.equal(
    conflicts.map((c) => [c.field, c.winner, c.postgres_value, c.stripe_value]),
    [['name', 'postgres', 'Changed by the API', 'From Stripe']],
  );
});

test('a field Postgres changed after the merge is judged by its own Stripe second', async ({
  o,
}) => {
  const id = await customer(o, 'Before');
  await o.sql`UPDATE customers SET name = 'API', email = 'api@example.com' WHERE id = ${id}`;
  const [updated] = await o.sql<{ second: number }[]>`
    SELECT floor(extract(epoch FROM updated_at))::int AS second FROM customers WHERE id = ${id}`;
  const second = updated!.second;
  // The name changed on Stripe before Postgres's change, the email after it.
  const w = write({
    patch: { name: 'Stripe', email: 'stripe@example.com' },
    expected: { name: 'Before', email: 'x@example.com' },
    changedSeconds: { name: second - 5, email: second + 5 },
  });
  const result = await applyFromStripe(o.sql, id, w);
  assert.equal(result.kept, { name: 'API' });
  const r = await row(o, id);
  assert.equal([r.name, r.email], ['API', 'stripe@example.com']);
  const conflicts = await o.sql<{ field: string; winner: string }[]>`
    SELECT field, winner FROM conflicts WHERE customer_id = ${id} ORDER BY field`;
  assert.equal(
    conflicts.map((c) => [c.field, c.winner]),
    [
      ['email', 'stripe'],
      ['name', 'postgres'],
    ],
  );
});

test('a new write for an event applied before is carried out; a repeat of the same write is not', async ({
  o,
}) => {
  const id = await customer(o, 'Events');
  const first = write({ patch: { name: 'First' }, eventIds: ['evt_shared'] });
  await applyFromStripe(o.sql, id, first);
  // Decided again from Stripe's current content (say after a fetch): another write, same event.
  const second = write({ patch: { name: 'Second' }, eventIds: ['evt_shared'] });
  assert.is((await applyFromStripe(o.sql, id, second)).applied, true);
  assert.is((await row(o, id)).name, 'Second');
});

test('the same update again is done already, whether its row moved since or not', async ({ o }) => {
  const id = await customer(o, 'Again');
  // The row moved since, by this very write: no longer what it expected.
  const moved = write({ patch: { name: 'Again on' }, expected: { name: 'Again' } });
  assert.equal(await applyFromStripe(o.sql, id, moved), {
    applied: true,
    version: 2,
    kept: {},
    captured: true,
  });
  const done = { applied: false, version: 2, kept: {}, captured: false };
  assert.equal(await applyFromStripe(o.sql, id, moved), done, 'moved by the write itself');
  // A write that changed nothing leaves the row as it expected.
  const same = write({ patch: { name: 'Again on' }, expected: { name: 'Again on' } });
  assert.equal(await applyFromStripe(o.sql, id, same), { ...done, applied: true });
  assert.equal(await applyFromStripe(o.sql, id, same), done, 'still as it expected');
  const inbox = await o.sql<{ event_id: string }[]>`
    SELECT event_id FROM inbox WHERE customer_id = ${id} AND source = 'stripe' ORDER BY event_id`;
  assert.equal(
    inbox.map((r) => r.event_id),
    [...moved.eventIds, ...same.eventIds].sort(),
    'each write recorded its events, once',
  );
  assert.equal([(await row(o, id)).name, (await row(o, id)).version], ['Again on', 2]);
});

test('a deleted customer takes no write, and a Stripe-born one is inserted once and linked', async ({
  o,
}) => {
  const id = await customer(o, 'Deleted');
  await o.sql`UPDATE customers SET deleted_at = now() WHERE id = ${id}`;
  await applyFromStripe(o.sql, id, write({ patch: { name: 'Zombie' } }));
  assert.is((await row(o, id)).name, 'Deleted');

  const born = '7d9f3c1e-8a2b-5c4d-9e6f-0a1b2c3d4e5f';
  const fields = { name: 'Born', email: null, phone: null, address: null, metadata: {} };
  const insert = write({
    kind: 'insert',
    fields,
    stripeId: 'cus_born_apply',
    correlationId: 'evt_born_cause',
  });
  assert.equal(await applyFromStripe(o.sql, born, insert), {
    applied: true,
    version: 1,
    kept: {},
    captured: true,
  });
  assert.equal(
    await applyFromStripe(o.sql, born, insert),
    { applied: false, version: 1, kept: {}, captured: false },
    'the same write again is done already',
  );
  const inbox = await o.sql`
    SELECT 1 FROM inbox WHERE source = 'stripe' AND event_id = ${insert.eventIds[0]!}`;
  assert.is(inbox.length, 1, 'its event is recorded, so a redelivery is a no-op');
  const captured = await o.sql<
    { origin: string; correlation_id: string | null; write_id: string | null }[]
  >`SELECT origin, correlation_id, write_id FROM outbox WHERE customer_id = ${born}`;
  assert.equal(
    captured.map((c) => ({ ...c })),
    [{ origin: 'stripe', correlation_id: 'evt_born_cause', write_id: writeTag(insert) }],
    'captured once, as a change from Stripe, with its cause and the write that made it',
  );
  await applyFromStripe(
    o.sql,
    born,
    write({ kind: 'insert', fields: { ...fields, name: 'Twice' }, stripeId: 'cus_born_apply' }),
  );
  const r = await row(o, born);
  assert.equal([r.name, r.origin, r.version], ['Born', 'stripe', 1]);
  const [link] = await o.sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links WHERE customer_id = ${born}`;
  assert.is(link?.external_id, 'cus_born_apply');
});

test('a Stripe-born customer is linked to both its twins; one that was there already is not linked', async ({
  o,
}) => {
  const born = '5b1e6a7c-2d3f-5a4b-8c9d-1e2f3a4b5c6d';
  const fields = { name: 'Both', email: null, phone: null, address: null, metadata: {} };
  await applyFromStripe(
    o.sql,
    born,
    write({ kind: 'insert', fields, stripeId: 'cus_both', salesforceId: '001BOTH' }),
  );
  const links = await o.sql<{ target: string; external_id: string }[]>`
    SELECT target, external_id FROM customer_links WHERE customer_id = ${born} ORDER BY target`;
  assert.equal(
    links.map((l) => [l.target, l.external_id]),
    [
      ['salesforce', '001BOTH'],
      ['stripe', 'cus_both'],
    ],
  );

  const there = await customer(o, 'Already here');
  const result = await applyFromStripe(
    o.sql,
    there,
    write({ kind: 'insert', fields, stripeId: 'cus_not_for_an_existing_customer' }),
  );
  assert.equal(result, { applied: true, version: 1, kept: {}, captured: false });
  assert.is((await row(o, there)).name, 'Already here', 'the row is left as it was');
  const none = await o.sql`SELECT 1 FROM customer_links WHERE customer_id = ${there}`;
  assert.is(none.length, 0, 'and gets no link from the insert');
});

test('an insert of a Stripe customer another customer is linked to is refused, and inserts nothing', async ({
  o,
}) => {
  // The import decided the page before a catalogue customer with the same email claimed it.
  const holder = await customer(o, 'Holder');
  await o.sql`
    INSERT INTO customer_links (customer_id, target, external_id)
    VALUES (${holder}, 'stripe', 'cus_held')`;
  const fields = {
    name: 'Second',
    email: 'x@example.com',
    phone: null,
    address: null,
    metadata: {},
  };
  const settled = {
    field: 'name',
    postgres: 'Second',
    stripe: 'Second',
    winner: 'stripe' as const,
    reason: 'later change wins',
    eventId: 'evt_held',
    at: Date.now(),
  };
  const effects = catalogueEffects(o.sql);
  const cases = [
    ['2c3d4e5f-6a7b-5c8d-9e0f-1a2b3c4d5e6f', []], // one statement (rtws_insert_from_target)
    ['3d4e5f6a-7b8c-5d9e-8f0a-2b3c4d5e6f7a', [settled]], // with its conflicts, statement by statement
  ] as const;
  for (const [born, conflicts] of cases) {
    const insert = write({
      kind: 'insert',
      fields,
      stripeId: 'cus_held',
      conflicts: [...conflicts],
    });
    const err = await effects.applyFromStripe(born, insert).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.instance(err, PermanentApplyError, 'a refusal: a DLQ letter, not a retry');
    assert.match(err!.message, /cus_held is linked to (customer \S+|another customer) already/);
    assert.is((await o.sql`SELECT 1 FROM customers WHERE id = ${born}`).length, 0, born);
    const inbox = await o.sql`SELECT 1 FROM inbox WHERE customer_id = ${born}`;
    assert.is(inbox.length, 0, 'nothing recorded as done');
  }
  const [link] = await o.sql<{ customer_id: string }[]>`
    SELECT customer_id FROM customer_links WHERE target = 'stripe' AND external_id = 'cus_held'`;
  assert.is(link?.customer_id, holder);
});

test('a write Postgres refuses fails with its own error, and leaves nothing behind', async ({
  o,
}) => {
  const id = await customer(o, 'Refusing');
  await o.sql`ALTER TABLE customers ADD CONSTRAINT apply_test_refused CHECK (name <> 'Refused')`;
  try {
    const w = write({ patch: { name: 'Refused' }, conflicts: [], eventIds: ['evt_refused'] });
    const err = await applyFromStripe(o.sql, id, w).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    assert.is(err?.code, '23514', 'the check violation itself, not an aborted transaction');
    const inbox = await o.sql`
      SELECT 1 FROM inbox WHERE event_id IN ('evt_refused') OR event_id LIKE ${`${id}:%`}`;
    assert.is(inbox.length, 0, 'neither the write nor its event is recorded as done');
    const r = await row(o, id);
    assert.equal([r.name, r.version], ['Refusing', 1]);
  } finally {
    await o.sql`ALTER TABLE customers DROP CONSTRAINT apply_test_refused`;
  }
});

test('a write one of whose values cannot be sent fails at once, and the pool goes on', async ({
  o,
}) => {
  const id = await customer(o, 'Unsendable');
  // A conflict whose Postgres value is missing: postgres.js refuses to serialise it, in a batch
  // whose other statements are already on their way (upstream #1082 left such a call pending).
  // An insert with conflicts to record is a transaction of several statements (an update is one).
  const w = write({
    kind: 'insert',
    fields: { name: 'Unsendable 2', email: null, phone: null, address: null, metadata: {} },
    stripeId: `cus_${id}`,
    conflicts: [
      {
        field: 'name',
        postgres: undefined,
        stripe: 'x',
        winner: 'stripe',
        reason: 'a value postgres.js cannot send',
        eventId: 'evt_unsendable',
        at: Date.now(),
      } as never,
    ],
  });
  const outcome = await Promise.race([
    applyFromStripe(o.sql, id, w).then(
      () => 'applied',
      (err: unknown) => (err as { code?: string }).code,
    ),
    new Promise((r) => setTimeout(() => r('still pending after 5 s'), 5_000)),
  ]);
  assert.is(outcome, 'UNDEFINED_VALUE', 'the call fails with what was wrong');
  const r = await row(o, id);
  assert.equal([r.name, r.version], ['Unsendable', 1], 'nothing of the write committed');
  const inbox = await o.sql`SELECT 1 FROM inbox WHERE event_id LIKE ${`${id}:%`}`;
  assert.is(inbox.length, 0, 'and it is not recorded as done');
  // The same pool, and the same customer's row, take the next write.
  await o.sql`UPDATE customers SET name = 'Next' WHERE id = ${id}`;
  const again = await applyFromStripe(o.sql, id, write({ patch: { name: 'From Stripe' } }));
  assert.equal(again, { applied: true, version: 3, kept: {}, captured: true });
});

test('a write says whether it captured a change; only its own change carries its tag', async ({
  o,
}) => {
  const id = await customer(o, 'Tagged');
  const tags = async () =>
    (
      await o.sql<{ version: string; write_id: string | null }[]>`
        SELECT version, write_id FROM outbox WHERE customer_id = ${id} ORDER BY id`
    ).map((r) => [Number(r.version), r.write_id]);
  const same = write({ patch: { name: 'Tagged' }, expected: { name: 'Tagged' } });
  assert.equal(
    await applyFromStripe(o.sql, id, same),
    { applied: true, version: 1, kept: {}, captured: false },
    'a patch of the values Postgres holds changes no version, and captures nothing',
  );
  const renamed = write({ patch: { name: 'Renamed' } });
  assert.is((await applyFromStripe(o.sql, id, renamed)).captured, true);
  await o.sql`UPDATE customers SET phone = '0100' WHERE id = ${id}`;
  const gone = write({ kind: 'delete' });
  assert.equal(await applyFromStripe(o.sql, id, gone), {
    applied: true,
    version: 4,
    kept: {},
    captured: true,
  });
  const twice = write({ kind: 'delete' });
  assert.is((await applyFromStripe(o.sql, id, twice)).captured, false, 'deleted already');
  assert.equal(await tags(), [
    [1, null],
    [2, writeTag(renamed)],
    [3, null],
    [4, writeTag(gone)],
  ]);
});

/**
 * A connection through a proxy that holds the `nth` statement calling `fn` until `edit` (a
 * person's edit, on a connection of its own) has committed. The connection is new, so each
 * statement goes with its text the first time.
 */
async function editBefore(t: TestEnvironment, fn: string, edit: () => Promise<unknown>, nth = 1) {
  let edited = false;
  let seen = 0;
  const proxy = await postgresProxy(t.db.url, (_client, chunk) => {
    if (edited || !chunk.includes(fn) || ++seen < nth) return false;
    edited = true;
    return edit().then(() => {});
  });
  const sql = connectPostgres(proxy.url, { max: 1, applicationName: 'rtws-apply-race' });
  return {
    sql,
    edited: () => edited,
    async close() {
      await sql.end({ timeout: 1 });
      await proxy.close();
    },
  };
}

const conflictsOf = async (o: Observer, id: string) =>
  (
    await o.sql<{ field: string; winner: string }[]>`
      SELECT field, winner FROM conflicts WHERE customer_id = ${id} ORDER BY field`
  ).map((c) => [c.field, c.winner]);

test('an update whose field changed just before its one statement is decided on the row read', async ({
  t,
  o,
}) => {
  const id = await customer(o, 'Racer');
  const race = await editBefore(
    t,
    'rtws_update_target',
    () => o.sql`UPDATE customers SET name = 'Edited meanwhile' WHERE id = ${id}`,
  );
  try {
    const w = write({
      patch: { name: 'From Stripe' },
      expected: { name: 'Racer' },
      changedSecond: Math.floor(Date.now() / 1000) - 60,
    });
    const result = await applyFromStripe(race.sql, id, w);
    assert.ok(race.edited(), 'the edit landed before the write');
    assert.equal(result, {
      applied: true,
      version: 2,
      kept: { name: 'Edited meanwhile' },
      captured: false,
    });
    assert.is((await row(o, id)).name, 'Edited meanwhile', 'the later change stays');
    assert.equal(await conflictsOf(o, id), [['name', 'postgres']]);
  } finally {
    await race.close();
  }
});

test('an update whose row moved between its read and its write is decided again on the new row', async ({
  t,
  o,
}) => {
  const id = await customer(o, 'Racer');
  // Its email changed already, so the update reads the row; its name changes after that read,
  // before the second statement (the first checked what the merge expected).
  await o.sql`UPDATE customers SET email = 'api@example.com' WHERE id = ${id}`;
  const race = await editBefore(
    t,
    'rtws_update_target',
    () => o.sql`UPDATE customers SET name = 'Edited meanwhile' WHERE id = ${id}`,
    2,
  );
  try {
    const w = write({
      patch: { name: 'From Stripe', email: 'stripe@example.com' },
      expected: { name: 'Racer', email: 'x@example.com' },
      changedSecond: Math.floor(Date.now() / 1000) - 60,
    });
    const result = await applyFromStripe(race.sql, id, w);
    assert.ok(race.edited(), 'the edit landed between the read and the write');
    assert.equal(result, {
      applied: true,
      version: 3,
      kept: { name: 'Edited meanwhile', email: 'api@example.com' },
      captured: false,
    });
    const r = await row(o, id);
    assert.equal([r.name, r.email], ['Edited meanwhile', 'api@example.com'], 'later changes stay');
    assert.equal(await conflictsOf(o, id), [
      ['email', 'postgres'],
      ['name', 'postgres'],
    ]);
  } finally {
    await race.close();
  }
});

test('an update whose fields hold what the merge expected lands over other changes', async ({
  o,
}) => {
  const id = await customer(o, 'Expected');
  await o.sql`UPDATE customers SET phone = '+44 20 7946 0000' WHERE id = ${id}`;
  const w = write({
    patch: { name: 'From Stripe', metadata: { tier: 'silver', plan: 'pro' } },
    expected: { name: 'Expected', metadata: { tier: 'gold', plan: null } },
  });
  const result = await applyFromStripe(o.sql, id, w);
  assert.equal(result, { applied: true, version: 3, kept: {}, captured: true });
  const [r] = await o.sql<{ name: string; phone: string; metadata: Record<string, string> }[]>`
    SELECT name, phone, metadata FROM customers WHERE id = ${id}`;
  assert.equal(r, {
    name: 'From Stripe',
    phone: '+44 20 7946 0000',
    metadata: { tier: 'silver', plan: 'pro' },
  });
  assert.equal(await conflictsOf(o, id), []);
  assert.equal(await applyFromStripe(o.sql, id, w), {
    applied: false,
    version: 3,
    kept: {},
    captured: false,
  });
});

/** A connection through a proxy that counts the chunks the client sends. */
async function counting(t: TestEnvironment) {
  let sent = 0;
  const proxy = await postgresProxy(t.db.url, () => {
    sent++;
    return false;
  });
  const sql = connectPostgres(proxy.url, { max: 1, applicationName: 'rtws-apply-probe' });
  return {
    sql,
    /** The chunks the client sent while `apply` ran: its round trips, once prepared. */
    async trips(apply: () => Promise<unknown>) {
      sent = 0;
      await apply();
      return sent;
    },
    async close() {
      await sql.end({ timeout: 1 });
      await proxy.close();
    },
  };
}

test('a field that moved in any way sends the update to the row read', async ({ t, o }) => {
  const probe = await counting(t);
  const address = {
    line1: '1 Old Street',
    line2: null,
    city: 'London',
    state: null,
    postal_code: 'EC1V 9NR',
    country: 'GB',
  };
  /** The second time round: the first prepares each statement of the case on the connection. */
  const moved = async (change: (id: string) => Promise<unknown>, w: Partial<CatalogueApply>) => {
    const once = async () => {
      const id = await customer(o, 'Moved');
      await o.sql`UPDATE customers SET address = ${o.sql.json(address)} WHERE id = ${id}`;
      await change(id);
      const trips = await probe.trips(() => applyFromStripe(probe.sql, id, write(w)));
      return { trips, conflicts: await conflictsOf(o, id), row: await row(o, id) };
    };
    await once();
    return once();
  };
  try {
    const tier = await moved(
      (id) => o.sql`UPDATE customers SET metadata = '{"tier":"silver"}' WHERE id = ${id}`,
      { patch: { metadata: { tier: 'platinum' } }, expected: { metadata: { tier: 'gold' } } },
    );
    assert.equal(tier.trips, 3, 'tried, read, written');
    assert.equal(tier.conflicts, [['metadata.tier', 'postgres']]);
    assert.equal(tier.row.metadata, { tier: 'silver' });
    const city = await moved(
      (id) => o.sql`UPDATE customers SET address = address || '{"city":"Leeds"}' WHERE id = ${id}`,
      { patch: { address: { ...address, city: 'York' } }, expected: { address } },
    );
    assert.equal(city.trips, 3, 'tried, read, written');
    assert.equal(city.conflicts, [['address', 'postgres']]);
  } finally {
    await probe.close();
  }
});

test('a metadata key named like an Object member, expected absent, is absent', async ({ t, o }) => {
  const probe = await counting(t);
  try {
    const added = { constructor: 'added', toString: 'too' };
    const absent = { constructor: null, toString: null };
    const w = () => write({ patch: { metadata: added }, expected: { metadata: absent } });
    // Once to prepare the statement on the connection, then counted.
    await applyFromStripe(probe.sql, await customer(o, 'Members'), w());
    const id = await customer(o, 'Members');
    assert.is(await probe.trips(() => applyFromStripe(probe.sql, id, w())), 1, 'one statement');
    assert.equal((await row(o, id)).metadata, { tier: 'gold', ...added });
    assert.equal(await conflictsOf(o, id), []);
    // The row read holds the same: a field that moved sends the update there.
    const read = await customer(o, 'Members read');
    const moved = write({
      patch: { name: 'Moved', metadata: added },
      expected: { name: 'Elsewhere', metadata: absent },
    });
    await applyFromStripe(probe.sql, read, moved);
    assert.equal((await row(o, read)).metadata, { tier: 'gold', ...added });
    assert.equal(await conflictsOf(o, read), [['name', 'postgres']]);
  } finally {
    await probe.close();
  }
});

test('an expectation a stored value meets only once read is decided on the row read', async ({
  t,
  o,
}) => {
  const probe = await counting(t);
  try {
    const update = async (email: string, w: Partial<CatalogueApply>) => {
      const id = await customer(o, 'Mixed');
      // Written before rtws: an email in another case, which reads as the expected one.
      await o.sql`UPDATE customers SET email = ${email} WHERE id = ${id}`;
      const trips = await probe.trips(async () => {
        const result = await applyFromStripe(probe.sql, id, write(w));
        assert.equal(result, { applied: true, version: 3, kept: {}, captured: true });
      });
      return { trips, email: (await row(o, id)).email, conflicts: await conflictsOf(o, id) };
    };
    const w = { patch: { email: 'new@example.com' }, expected: { email: 'x@example.com' } };
    await update('X@Example.com', w);
    assert.equal(await update('X@Example.com', w), {
      trips: 3,
      email: 'new@example.com',
      conflicts: [],
    });
  } finally {
    await probe.close();
  }
});

test('an expectation not in canonical form is judged as the row reads, never as stored', async ({
  o,
}) => {
  const id = await customer(o, 'Raw');
  await o.sql`UPDATE customers SET email = 'X@Example.com' WHERE id = ${id}`;
  // Equal to the stored text, yet the row reads as x@example.com: the merge's value is not there.
  const w = write({ patch: { email: 'new@example.com' }, expected: { email: 'X@Example.com' } });
  const result = await applyFromStripe(o.sql, id, w);
  assert.equal(result.kept, { email: 'x@example.com' });
  assert.is((await row(o, id)).email, 'X@Example.com');
  assert.equal(await conflictsOf(o, id), [['email', 'postgres']]);
});

test('an update carried out on a version it did not read writes nothing', async ({ o }) => {
  const id = await customer(o, 'Stale');
  const [r] = await o.sql<{ status: string; new_version: number | null }[]>`
    SELECT status, new_version FROM rtws_update_target(
      'stale-key', ${id}, 'stripe', NULL, 'stripe', ARRAY['evt_stale'], NULL, 7,
      'Never', false, NULL, false, NULL, false, NULL, '{}', '{}', '[]', '[]', 'w@1')`;
  assert.equal(r, { status: 'moved', new_version: null });
  assert.equal([(await row(o, id)).name, (await row(o, id)).version], ['Stale', 1]);
  const inbox = await o.sql`SELECT 1 FROM inbox WHERE event_id IN ('stale-key', 'evt_stale')`;
  assert.is(inbox.length, 0);
});

test('a write takes a round trip per dependency: an insert one, an update that meets no change one', async ({
  t,
}) => {
  const probe = await counting(t);
  const { sql } = probe;
  const fields = { name: 'Trips', email: null, phone: null, address: null, metadata: {} };
  /**
   * The chunks the client sent for an insert, an update whose fields hold what was expected, and
   * one whose field Postgres changed (a conflict): tried in one statement, then read and written.
   */
  const trips = async (born: string) => {
    const insert = await probe.trips(() =>
      applyFromStripe(sql, born, write({ kind: 'insert', fields, stripeId: `cus_${born}` })),
    );
    const w = write({ patch: { name: 'Trips on' }, expected: { name: 'Trips' } });
    const plain = await probe.trips(() => applyFromStripe(sql, born, w));
    let kept = {};
    const conflicted = await probe.trips(async () => {
      const w = write({
        patch: { name: 'Trips again', email: 'trips@example.com' },
        expected: { name: 'Somebody else', email: null },
      });
      ({ kept } = await applyFromStripe(sql, born, w));
    });
    assert.equal(kept, { name: 'Trips on' }, 'the last update recorded a conflict');
    return [insert, plain, conflicted];
  };
  try {
    // The first time round, postgres.js also prepares each statement on the connection (and the
    // insert is the connection's first statement: its arrays go before the server's types are known).
    await trips('9a8b7c6d-5e4f-5a3b-8c2d-1e0f9a8b7c6d');
    assert.equal(await trips('0b1c2d3e-4f5a-5b6c-9d7e-8f9a0b1c2d3e'), [1, 1, 3]);
  } finally {
    await probe.close();
  }
});

test.run();
