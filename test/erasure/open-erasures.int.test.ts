// Open erasures are read page by page, every page each round: erasures that wait (a paused
// target, an outage) never hide newer ones behind them, however many of them wait. A resumed
// erasure takes the links made since it began; a resume of pending intents leaves the actors of
// erasures that began or keep the targets.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  allOpenErasures,
  beginErasure,
  customersCallingNoMore,
  externalIdHash,
  requestErasure,
} from '../../adapters/postgres/erasures.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t?: TestEnvironment; o?: Observer }>('open erasures');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

test('every open erasure is found, oldest first, past the first page', async (ctx) => {
  const sql = ctx.o!.sql;
  const asked: string[] = [];
  for (let i = 0; i < 7; i++) {
    const [row] = await sql<{ id: string }[]>`
      INSERT INTO customers (name) VALUES (${`Erased ${i}`}) RETURNING id`;
    const r = await requestErasure(sql, {
      customerId: row!.id,
      requestedBy: 'test',
      remote: false,
    });
    asked.push(r!.erasure.id);
  }
  await sql`UPDATE erasures SET finished_at = now() WHERE id = ${asked[1]!}`;
  const found: string[] = [];
  for await (const e of allOpenErasures(sql, 2)) found.push(e.id);
  assert.equal(
    found,
    asked.filter((_, i) => i !== 1),
  );
});

const customer = async (sql: Observer['sql'], name: string) => {
  const [row] = await sql<
    { id: string }[]
  >`INSERT INTO customers (name) VALUES (${name}) RETURNING id`;
  return row!.id;
};

test('a resumed erasure erases the links made since it began, and says how many', async (ctx) => {
  const sql = ctx.o!.sql;
  const id = await customer(sql, 'Linked Late');
  await sql`INSERT INTO customer_links (customer_id, target, external_id) VALUES (${id}, 'stripe', 'cus_First')`;
  const r = await requestErasure(sql, { customerId: id, requestedBy: 'test', remote: true });
  const erasure = { id: r!.erasure.id, customerId: id };
  const first = await beginErasure(sql, erasure, { stripe: 'deleted' });
  assert.equal([first.externalIds, first.late], [{ stripe: ['cus_First'] }, {}]);
  // A call made after it began (a crash cut the erasure off) linked another object.
  await sql`INSERT INTO customer_links (customer_id, target, external_id) VALUES (${id}, 'stripe', 'cus_Late')`;
  const resumed = await beginErasure(sql, erasure, {});
  assert.equal(resumed.externalIds, { stripe: ['cus_First', 'cus_Late'] });
  assert.equal(resumed.late, { stripe: ['cus_Late'] });
  assert.equal(resumed.removed.targets, { stripe: 'deleted' }, 'the first fates are kept');
  assert.is(resumed.removed.late_links, 1, 'counted; the record keeps no id');
  const links = await sql`SELECT 1 FROM customer_links WHERE customer_id = ${id}`;
  assert.is(links.length, 0, 'unlinked');
  const known = await sql<{ id_hash: string }[]>`
    SELECT id_hash FROM erased_externals WHERE erasure_id = ${erasure.id} ORDER BY id_hash`;
  assert.equal(
    known.map((k) => k.id_hash),
    [externalIdHash('stripe', 'cus_First'), externalIdHash('stripe', 'cus_Late')].sort(),
  );
  const [row] = await sql<{ external_ids: unknown }[]>`
    SELECT external_ids FROM erasures WHERE id = ${erasure.id}`;
  assert.equal(row!.external_ids, { stripe: ['cus_First', 'cus_Late'] }, 'its messages are purged');
  // The same link made again (an outcome delivered again): unlinked, nothing new to name.
  await sql`INSERT INTO customer_links (customer_id, target, external_id) VALUES (${id}, 'stripe', 'cus_Late')`;
  const again = await beginErasure(sql, erasure, {});
  assert.equal(again.late, {});
  assert.is(again.removed.late_links, 1);
  assert.is((await sql`SELECT 1 FROM customer_links WHERE customer_id = ${id}`).length, 0);
  const still = await beginErasure(sql, erasure, {});
  assert.equal([still.late, still.removed], [{}, again.removed], 'nothing new: as it was');
});

test('the actors of erasures that began or keep the targets call no target again', async (ctx) => {
  const sql = ctx.o!.sql;
  const ask = async (name: string, remote: boolean) => {
    const id = await customer(sql, name);
    const r = await requestErasure(sql, { customerId: id, requestedBy: 'test', remote });
    return { id, erasureId: r!.erasure.id };
  };
  const deleting = await ask('Deleting First', true);
  const keeping = await ask('Keeping Targets', false);
  const begun = await ask('Begun', true);
  await beginErasure(sql, { id: begun.erasureId, customerId: begun.id }, {});
  const finished = await ask('Finished', false);
  await sql`UPDATE erasures SET finished_at = now() WHERE id = ${finished.erasureId}`;
  const calling = await customersCallingNoMore(sql);
  assert.not.ok(calling.has(deleting.id), 'its deletes still run');
  assert.ok(calling.has(keeping.id));
  assert.ok(calling.has(begun.id));
  assert.not.ok(calling.has(finished.id), 'finished: its actor is a tombstone');
});

test.run();
