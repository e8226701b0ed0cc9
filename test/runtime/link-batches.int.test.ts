// Links recorded at about the same time share one statement, and each does what it does alone: it
// is recorded or moved, a repeat changes nothing, and a link Postgres refuses fails alone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import { linkBatches, type NewLink } from '../../adapters/postgres/link-batches.ts';
import { postgresProxy } from '../harness/postgres-proxy.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t: TestEnvironment; o: Observer }>('links, in batches');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

async function customers(o: Observer, n: number): Promise<string[]> {
  const rows = await o.sql<{ id: string }[]>`
    INSERT INTO customers (name) SELECT 'Linked ' || i FROM generate_series(1, ${n}::int) AS i
    RETURNING id`;
  return rows.map((r) => r.id);
}

async function linksOf(o: Observer, ids: readonly string[]) {
  const rows = await o.sql<
    { customer_id: string; target: string; external_id: string; linked_at: Date }[]
  >`SELECT customer_id, target, external_id, linked_at FROM customer_links
    WHERE customer_id = ANY(${ids}::uuid[])`;
  return new Map(rows.map((r) => [`${r.customer_id}/${r.target}`, r]));
}

test('links asked for together go in one statement; a moved link moves, a repeat changes nothing', async ({
  t,
  o,
}) => {
  let sent = 0;
  const proxy = await postgresProxy(t.db.url, () => {
    sent++;
    return false;
  });
  const sql = connectPostgres(proxy.url, { max: 2, applicationName: 'rtws-link-probe' });
  try {
    const link = linkBatches(sql);
    const ids = await customers(o, 6);
    const first: NewLink[] = ids.map((customerId, i) => ({
      customerId,
      target: i % 2 === 0 ? 'stripe' : 'salesforce',
      externalId: `ext_${i}_${randomUUID().slice(0, 8)}`,
    }));
    // The first batch also prepares the statement on its connection.
    await Promise.all(first.slice(0, 2).map(link));
    sent = 0;
    await Promise.all(first.slice(2).map(link));
    assert.is(sent, 1, 'one statement for the four links');
    const before = await linksOf(o, ids);
    assert.equal(
      first.map((l) => before.get(`${l.customerId}/${l.target}`)?.external_id),
      first.map((l) => l.externalId),
    );

    const moved = { ...first[0]!, externalId: `ext_moved_${randomUUID().slice(0, 8)}` };
    sent = 0;
    await Promise.all([moved, ...first.slice(1)].map(link));
    assert.is(sent, 1, 'one statement for the six');
    const after = await linksOf(o, ids);
    assert.is(after.get(`${moved.customerId}/stripe`)?.external_id, moved.externalId, 'moved');
    for (const l of first.slice(1))
      assert.equal(
        after.get(`${l.customerId}/${l.target}`)?.linked_at,
        before.get(`${l.customerId}/${l.target}`)?.linked_at,
        'a repeat leaves the link as it was',
      );
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test('a pair asked for twice in one batch: the later one holds', async ({ t, o }) => {
  const sql = connectPostgres(t.db.url, { max: 1, applicationName: 'rtws-link-twice' });
  try {
    const link = linkBatches(sql);
    const [id] = await customers(o, 1);
    const a = {
      customerId: id!,
      target: 'stripe',
      externalId: `ext_a_${randomUUID().slice(0, 8)}`,
    };
    const b = { ...a, externalId: `ext_b_${randomUUID().slice(0, 8)}` };
    await Promise.all([a, b].map(link));
    assert.is((await linksOf(o, [id!])).get(`${id}/stripe`)?.external_id, b.externalId);
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test('a link Postgres refuses fails alone; the others of its batch land', async ({ t, o }) => {
  const sql = connectPostgres(t.db.url, { max: 1, applicationName: 'rtws-link-refused' });
  try {
    const link = linkBatches(sql);
    const ids = await customers(o, 3);
    const taken = `ext_taken_${randomUUID().slice(0, 8)}`;
    await link({ customerId: ids[0]!, target: 'stripe', externalId: taken });
    const asked: NewLink[] = [
      { customerId: ids[1]!, target: 'stripe', externalId: `ext_ok_${randomUUID().slice(0, 8)}` },
      // One object is one customer: this record is linked to another already.
      { customerId: ids[2]!, target: 'stripe', externalId: taken },
      // No such customer.
      {
        customerId: randomUUID(),
        target: 'stripe',
        externalId: `ext_x_${randomUUID().slice(0, 8)}`,
      },
    ];
    const settled = await Promise.allSettled(asked.map(link));
    assert.equal(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'rejected'],
    );
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /customer_links/);
    const rows = await linksOf(o, ids);
    assert.is(rows.get(`${ids[1]}/stripe`)?.external_id, asked[0]!.externalId);
    assert.not.ok(rows.has(`${ids[2]}/stripe`), 'the refused link is not recorded');
    assert.is(rows.get(`${ids[0]}/stripe`)?.external_id, taken, 'the other customer keeps it');
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test('a batch lost with its connection fails each of its links, to be retried', async ({
  t,
  o,
}) => {
  const proxy = await postgresProxy(t.db.url, (client, chunk) => {
    if (!chunk.includes('customer_links')) return false;
    client.destroy();
    return true;
  });
  const sql = connectPostgres(proxy.url, { max: 1, applicationName: 'rtws-link-lost' });
  try {
    const link = linkBatches(sql);
    const ids = await customers(o, 2);
    const settled = await Promise.allSettled(
      ids.map((customerId) =>
        link({ customerId, target: 'stripe', externalId: `ext_${customerId}` }),
      ),
    );
    assert.equal(
      settled.map((s) => s.status),
      ['rejected', 'rejected'],
    );
    assert.is((await linksOf(o, ids)).size, 0);
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test.run();
