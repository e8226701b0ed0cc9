// Links the actors' steps record at about the same time share one statement and one commit, and
// each does exactly what it does alone: moved when it names another object, unchanged when it
// names the same one, and a link whose object another customer holds fails alone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { linkBatches, type Link } from '../../adapters/postgres/link-batches.ts';
import { postgresProxy } from '../harness/postgres-proxy.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t: TestEnvironment; o: Observer }>('links recorded in batches');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

let n = 0;
/** A catalogue customer of its own, and a link of it to a Stripe customer of its own. */
async function customerLink(sql: Sql): Promise<Link> {
  const i = ++n;
  const customerId = randomUUID();
  await sql`INSERT INTO customers (id, name) VALUES (${customerId}, ${`Linked ${i}`})`;
  return { customerId, target: 'stripe', externalId: `cus_link_${i}` };
}

async function linksOf(o: Observer, ids: readonly string[]): Promise<Map<string, string>> {
  const rows = await o.sql<{ customer_id: string; target: string; external_id: string }[]>`
    SELECT customer_id, target, external_id FROM customer_links
    WHERE customer_id = ANY(${ids}::uuid[])`;
  return new Map(rows.map((r) => [`${r.customer_id}/${r.target}`, r.external_id]));
}

test('links asked for together go in one round trip, each recorded as it would be alone', async ({
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
    const record = linkBatches(sql);
    const first = await Promise.all(Array.from({ length: 10 }, () => customerLink(o.sql)));
    // The first batch also prepares the statement on its connection.
    await Promise.all(first.slice(0, 2).map(record));
    sent = 0;
    await Promise.all(first.map(record));
    assert.is(sent, 1, 'one statement for the ten links');
    const ids = first.map((l) => l.customerId);
    assert.equal(
      await linksOf(o, ids),
      new Map(first.map((l) => [`${l.customerId}/stripe`, l.externalId])),
    );

    // A link to another object moves; one to the same object stays as it was (its time too); a
    // customer's two links in one batch leave the one asked for last.
    const [before] = await o.sql<{ linked_at: Date }[]>`
      SELECT linked_at FROM customer_links WHERE customer_id = ${first[1]!.customerId}`;
    const moved = { ...first[0]!, externalId: 'cus_link_moved' };
    const twice = [
      { ...first[2]!, externalId: 'cus_link_twice_a' },
      { ...first[2]!, externalId: 'cus_link_twice_b' },
    ];
    await Promise.all([moved, first[1]!, ...twice].map(record));
    const now = await linksOf(o, ids);
    assert.is(now.get(`${moved.customerId}/stripe`), 'cus_link_moved');
    assert.is(now.get(`${twice[0]!.customerId}/stripe`), 'cus_link_twice_b');
    const [after] = await o.sql<{ linked_at: Date }[]>`
      SELECT linked_at FROM customer_links WHERE customer_id = ${first[1]!.customerId}`;
    assert.equal(after?.linked_at, before?.linked_at, 'an unchanged link keeps its time');
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test("a link to an object another customer holds fails alone; its batch's others land", async ({
  o,
}) => {
  const record = linkBatches(o.sql);
  const holder = await customerLink(o.sql);
  await record(holder);
  const good = [await customerLink(o.sql), await customerLink(o.sql)];
  const taken = { ...(await customerLink(o.sql)), externalId: holder.externalId };
  const settled = await Promise.allSettled([good[0]!, taken, good[1]!].map(record));
  assert.equal(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.match(String((settled[1] as PromiseRejectedResult).reason), /customer_links/);
  const links = await linksOf(
    o,
    [holder, taken, ...good].map((l) => l.customerId),
  );
  assert.equal(
    links,
    new Map([holder, ...good].map((l) => [`${l.customerId}/stripe`, l.externalId])),
    'the holder keeps its link; the others of the batch are recorded',
  );
});

test('a batch lost with its connection is recorded link by link', async ({ t, o }) => {
  // The first statement that carries several links is cut; what follows goes through.
  let cut = false;
  const proxy = await postgresProxy(t.db.url, (client, chunk) => {
    if (cut || !chunk.includes('unnest')) return false;
    cut = true;
    client.destroy();
    return true;
  });
  const sql = connectPostgres(proxy.url, { max: 2, applicationName: 'rtws-link-lost' });
  try {
    const record = linkBatches(sql);
    const links = await Promise.all(Array.from({ length: 4 }, () => customerLink(o.sql)));
    await Promise.all(links.map(record));
    assert.ok(cut, 'the batch was cut');
    assert.equal(
      await linksOf(
        o,
        links.map((l) => l.customerId),
      ),
      new Map(links.map((l) => [`${l.customerId}/stripe`, l.externalId])),
    );
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test.run();
