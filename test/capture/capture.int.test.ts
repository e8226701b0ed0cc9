// Capture: every committed change lands in the stream once, in order per customer, with its
// version and origin; nothing else does.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testEnvironment, startTestRtws, type TestEnvironment } from '../harness/rtws.ts';
import { eventually, readStream, versionsByCustomer } from '../harness/stream.ts';
import type { Rtws } from '../../deploy/rtws.ts';

const test = suite<{ t: TestEnvironment; rtws: Rtws }>('capture');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.rtws = await startTestRtws(ctx.t, { RTWS_ROLES: 'publisher' });
});

test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.t?.cleanup();
});

const changesOf = (ctx: { t: TestEnvironment; rtws: Rtws }, id: string) =>
  readStream(ctx.rtws.nats, ctx.t.names.streams.changes, ctx.t.names.customerHistoryFilter(id));

async function waitForVersions(ctx: { t: TestEnvironment; rtws: Rtws }, id: string, n: number) {
  return eventually(
    () => changesOf(ctx, id),
    (c) => c.length >= n,
  );
}

test('every committed change appears once, in order, with version, origin and dedupe id', async (ctx) => {
  const { sql } = ctx.rtws;
  const [c] = await sql<
    { id: string }[]
  >`INSERT INTO customers (name, email) VALUES ('Ada', 'ada@example.com') RETURNING id`;
  const id = c!.id;
  for (let i = 1; i <= 5; i++)
    await sql`UPDATE customers SET name = ${`Ada ${i}`} WHERE id = ${id}`;
  await sql`UPDATE customers SET deleted_at = now() WHERE id = ${id}`;

  const changes = await waitForVersions(ctx, id, 7);
  assert.equal(
    changes.map((c) => c.message.metadata.version),
    [1, 2, 3, 4, 5, 6, 7],
  );
  assert.equal(
    changes.map((c) => c.message.type),
    [
      'CustomerCreated',
      'CustomerUpdated',
      'CustomerUpdated',
      'CustomerUpdated',
      'CustomerUpdated',
      'CustomerUpdated',
      'CustomerDeleted',
    ],
  );
  assert.equal(changes[5]!.message.data.name, 'Ada 5');
  assert.ok(changes.every((c) => c.message.metadata.origin === 'api'));
  assert.is(
    changes[0]!.msgId,
    `customer:${id}:v1@${changes[0]!.message.metadata.occurred_at}`,
    'a version and its capture time: a version used again after a restore is not a duplicate',
  );
  assert.is(changes[0]!.subject, ctx.t.names.customerSubject(id));
  const [left] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
  assert.is(left!.n, 0, 'published rows are removed from the outbox');
});

test('a no-op update bumps nothing and publishes nothing', async (ctx) => {
  const { sql } = ctx.rtws;
  const [c] = await sql<
    { id: string }[]
  >`INSERT INTO customers (name, metadata) VALUES ('Bo', '{"a":"1"}') RETURNING id`;
  const id = c!.id;
  await sql`UPDATE customers SET name = 'Bo', metadata = '{"a":"1"}' WHERE id = ${id}`;
  await sql`UPDATE customers SET name = 'Bo 2' WHERE id = ${id}`;
  const changes = await waitForVersions(ctx, id, 2);
  assert.equal(
    changes.map((c) => c.message.metadata.version),
    [1, 2],
  );
  const [row] = await sql<{ version: number }[]>`SELECT version FROM customers WHERE id = ${id}`;
  assert.is(row!.version, 2);
});

test('a rolled-back transaction publishes nothing', async (ctx) => {
  const { sql } = ctx.rtws;
  let id = '';
  await sql
    .begin(async (tx) => {
      const [c] = await tx<
        { id: string }[]
      >`INSERT INTO customers (name) VALUES ('Ghost') RETURNING id`;
      id = c!.id;
      throw new Error('roll back');
    })
    .catch(() => {});
  // A later, committed change proves the publisher has passed the rolled-back one.
  const [marker] = await sql<
    { id: string }[]
  >`INSERT INTO customers (name) VALUES ('Marker') RETURNING id`;
  await waitForVersions(ctx, marker!.id, 1);
  assert.is((await changesOf(ctx, id)).length, 0);
});

test("SET LOCAL rtws.origin = 'stripe' arrives as origin stripe", async (ctx) => {
  const { sql } = ctx.rtws;
  const [c] = await sql<{ id: string }[]>`INSERT INTO customers (name) VALUES ('Cy') RETURNING id`;
  const id = c!.id;
  await sql.begin(async (tx) => {
    await tx`SET LOCAL rtws.origin = 'stripe'`;
    await tx`UPDATE customers SET email = 'cy@example.com' WHERE id = ${id}`;
  });
  await sql`UPDATE customers SET phone = '+1 555' WHERE id = ${id}`;
  const changes = await waitForVersions(ctx, id, 3);
  assert.equal(
    changes.map((c) => c.message.metadata.origin),
    ['api', 'stripe', 'api'],
  );
  const [row] = await sql<{ origin: string }[]>`SELECT origin FROM customers WHERE id = ${id}`;
  assert.is(row!.origin, 'api');
});

test('a hard DELETE by another program is captured as a delete', async (ctx) => {
  const { sql } = ctx.rtws;
  const [c] = await sql<{ id: string }[]>`INSERT INTO customers (name) VALUES ('Dee') RETURNING id`;
  await sql`DELETE FROM customers WHERE id = ${c!.id}`;
  const changes = await waitForVersions(ctx, c!.id, 2);
  assert.equal(
    changes.map((x) => [x.message.type, x.message.metadata.version]),
    [
      ['CustomerCreated', 1],
      ['CustomerDeleted', 2],
    ],
  );
});

test('a tombstone is final: updates to a deleted customer change nothing', async (ctx) => {
  const { sql } = ctx.rtws;
  const [c] = await sql<{ id: string }[]>`INSERT INTO customers (name) VALUES ('Eve') RETURNING id`;
  await sql`UPDATE customers SET deleted_at = now() WHERE id = ${c!.id}`;
  const r = await sql`UPDATE customers SET name = 'Back', deleted_at = NULL WHERE id = ${c!.id}`;
  assert.is(r.count, 0);
  const changes = await waitForVersions(ctx, c!.id, 2);
  assert.is(changes.length, 2);
});

test('concurrent writers: every version of every customer, once and in order', async (ctx) => {
  const { sql } = ctx.rtws;
  const ids = (
    await sql<{ id: string }[]>`
    INSERT INTO customers (name) SELECT 'W' || g FROM generate_series(1, 20) g RETURNING id`
  ).map((r) => r.id);
  const rounds = 10;
  await Promise.all(
    [0, 1, 2, 3].map(async (w) => {
      for (let r = 0; r < rounds; r++) {
        for (const id of ids)
          await sql`UPDATE customers SET metadata = metadata || ${sql.json({ [`w${w}`]: String(r) })} WHERE id = ${id}`;
      }
    }),
  );
  const expected = 1 + 4 * rounds;
  const all = await eventually(
    () => readStream(ctx.rtws.nats, ctx.t.names.streams.changes),
    (c) =>
      ids.every((id) => c.filter((x) => x.message.metadata.customer_id === id).length >= expected),
  );
  const byCustomer = versionsByCustomer(all);
  for (const id of ids) {
    assert.equal(
      byCustomer.get(id),
      Array.from({ length: expected }, (_, i) => i + 1),
      `customer ${id}`,
    );
  }
});

test.run();
