// Writes through the API in as few statements as they can take. Creates made at the same time
// share one statement and one commit, and each keeps what it has alone: its own row and answer, its
// own correlation on its captured change, and a refusal that fails it alone. A batch whose outcome
// is unknown is not sent again. A patch and a delete are one statement each, checks included, and
// patches made at the same time share one, each with its own outcome.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import { customerRepository } from '../../adapters/postgres/customers.ts';
import type { Customer, CustomerCreateBody, CustomerPatchBody } from '../../core/customer.ts';
import { NotFoundError, PreconditionFailedError, ValidationError } from '../../core/errors.ts';
import { canonicalAddress } from '../../core/canonical.ts';
import { isInfrastructureFault } from '../../core/infrastructure.ts';
import { postgresProxy } from '../harness/postgres-proxy.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t: TestEnvironment; o: Observer }>('API writes, in few statements');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

let n = 0;
function body(over: Partial<CustomerCreateBody> = {}): CustomerCreateBody {
  n++;
  return {
    name: `  Batch ${n} `,
    email: `Batch-${n}@Example.com`,
    ...(n % 2 === 0 ? { phone: '+33 1 23', address: { city: 'Lyon' } } : {}),
    metadata: { n: String(n) },
    ...over,
  };
}

/** Counts the statements a pool sends through a proxy. */
async function counted(t: TestEnvironment, max: number) {
  const seen = { statements: 0 };
  const proxy = await postgresProxy(t.db.url, (_client, chunk) => {
    // A statement goes as Parse/Bind/Execute…Sync; its Sync ('S', length 4) ends it.
    for (let i = chunk.indexOf('S\0\0\0\x04'); i >= 0; i = chunk.indexOf('S\0\0\0\x04', i + 1))
      seen.statements++;
    return false;
  });
  const sql = connectPostgres(proxy.url, { max, applicationName: 'rtws-create-batches' });
  return {
    seen,
    sql,
    async close() {
      await sql.end({ timeout: 1 });
      await proxy.close();
    },
  };
}

test('creates made together go in one statement, each with its own row and correlation', async ({
  t,
  o,
}) => {
  const pool = await counted(t, 4);
  try {
    const customers = customerRepository(pool.sql);
    // The first batch also prepares its statement on its connection.
    await Promise.all([body(), body()].map((b) => customers.create(b, undefined, randomUUID())));
    const bodies = Array.from({ length: 10 }, () => body());
    const correlations = bodies.map(() => randomUUID());
    pool.seen.statements = 0;
    const created = await Promise.all(
      bodies.map((b, i) => customers.create(b, undefined, correlations[i])),
    );
    assert.is(pool.seen.statements, 1, 'ten creates made in one turn go in one statement');
    assert.is(new Set(created.map((c) => c.id)).size, 10, 'ten customers');
    for (const [i, c] of created.entries()) {
      const b = bodies[i]!;
      assert.equal(
        [c.name, c.email, c.phone, c.address, c.metadata, c.version, c.origin, c.links],
        [
          b.name.trim(),
          b.email!.toLowerCase(),
          b.phone ?? null,
          canonicalAddress(b.address),
          b.metadata,
          1,
          'api',
          {},
        ],
        `create ${i} answered with its own row`,
      );
      assert.equal(await customers.get(c.id), c, `create ${i} answered what is stored`);
    }
    const captured = await o.sql<{ customer_id: string; correlation_id: string | null }[]>`
      SELECT customer_id, correlation_id FROM outbox
      WHERE customer_id = ANY(${created.map((c) => c.id)}::uuid[])`;
    assert.equal(
      new Map(captured.map((r) => [r.customer_id, r.correlation_id])),
      new Map(created.map((c, i) => [c.id, correlations[i]!])),
      'each captured change carries its own request',
    );
  } finally {
    await pool.close();
  }
});

test('a create Postgres refuses fails alone; the others of its batch land', async ({ t, o }) => {
  const pool = await counted(t, 4);
  try {
    const customers = customerRepository(pool.sql);
    // Metadata that is not an object passes no validation; here it reaches Postgres's CHECK.
    const bad = body({ metadata: ['not', 'an', 'object'] as never });
    const good = [body(), body(), body()];
    const all = [good[0]!, bad, good[1]!, good[2]!];
    const settled = await Promise.allSettled(all.map((b) => customers.create(b)));
    assert.equal(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /customers_metadata_object/);
    const rows = await o.sql<{ name: string }[]>`
      SELECT name FROM customers WHERE name = ANY(${all.map((b) => b.name.trim())})`;
    assert.equal(
      rows.map((r) => r.name).sort(),
      good.map((b) => b.name.trim()).sort(),
      'the good ones stored once each, the refused one not at all',
    );
  } finally {
    await pool.close();
  }
});

test('a batch lost with its connection is not sent again: each of its creates fails', async ({
  t,
  o,
}) => {
  // The connection is cut when the batch is sent. Sent again, one by one, the creates would land.
  const proxy = await postgresProxy(t.db.url, (client, chunk) => {
    if (!chunk.includes('rtws_create_customers')) return false;
    client.destroy();
    return true;
  });
  const sql = connectPostgres(proxy.url, { max: 1, applicationName: 'rtws-create-lost' });
  try {
    const customers = customerRepository(sql);
    const bodies = [body(), body(), body()];
    const settled = await Promise.allSettled(bodies.map((b) => customers.create(b)));
    assert.equal(
      settled.map((s) => s.status),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.ok(
      settled.every((s) => isInfrastructureFault((s as PromiseRejectedResult).reason)),
      'each fails as a lost connection, which the API answers with a 503',
    );
    const [stored] = await o.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM customers WHERE name = ANY(${bodies.map((b) => b.name.trim())})`;
    assert.is(stored?.n, 0, "none was created behind the caller's back");
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test('a patch and a delete are one statement each, and their changes carry the request', async ({
  t,
  o,
}) => {
  const pool = await counted(t, 2);
  try {
    const customers = customerRepository(pool.sql);
    const c = await customers.create(body({ metadata: { keep: 'k', drop: 'd' } }));
    const [patched, deleted] = [randomUUID(), randomUUID()];
    pool.seen.statements = 0;
    const p = await customers.patch(
      c.id,
      { name: ' Renamed ', phone: null, metadata: { drop: null, add: 'a' } },
      c.version,
      patched,
    );
    assert.is(pool.seen.statements, 1, 'the patch is one statement');
    assert.equal(
      [p.name, p.email, p.phone, p.metadata, p.version],
      ['Renamed', c.email, null, { keep: 'k', add: 'a' }, 2],
    );
    assert.equal(await customers.get(c.id), p, 'the patch answered what is stored');
    pool.seen.statements = 0;
    await customers.remove(c.id, p.version, deleted);
    assert.is(pool.seen.statements, 1, 'the delete is one statement');
    const captured = await o.sql<{ op: string; correlation_id: string | null }[]>`
      SELECT op, correlation_id FROM outbox WHERE customer_id = ${c.id} ORDER BY id`;
    assert.equal(
      captured.map((r) => [r.op, r.correlation_id]),
      [
        ['created', null],
        ['updated', patched],
        ['deleted', deleted],
      ],
    );
  } finally {
    await pool.close();
  }
});

test('patches made together go in one statement, each with its own outcome and correlation', async ({
  t,
  o,
}) => {
  const pool = await counted(t, 4);
  try {
    const customers = customerRepository(pool.sql);
    const made = await Promise.all(
      Array.from({ length: 7 }, () => customers.create(body({ metadata: { keep: 'k' } }))),
    );
    // The first batch also prepares its statement on its connection.
    await Promise.all(made.slice(0, 2).map((c) => customers.patch(c.id, { phone: '+1 555' })));
    const [a, b, c, d, e] = made.slice(2) as [Customer, Customer, Customer, Customer, Customer];
    const tooMany = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v']));
    const asked: [string, CustomerPatchBody, number | undefined][] = [
      [e.id, { name: ' Eve ' }, undefined],
      [a.id, { name: ' First ', metadata: { keep: null, add: 'a' } }, a.version],
      [randomUUID(), { name: 'Nobody' }, undefined],
      [b.id, { email: 'Wrong@Version.dev' }, b.version + 5],
      [c.id, { metadata: tooMany }, undefined],
      [a.id, { name: 'Second', address: { city: 'Paris' } }, a.version + 1],
      [d.id, { phone: null, email: 'D@Example.com', address: null }, undefined],
    ];
    const correlations = asked.map(() => randomUUID());
    pool.seen.statements = 0;
    const settled = await Promise.allSettled(
      asked.map(([id, patch, ifMatch], i) => customers.patch(id, patch, ifMatch, correlations[i])),
    );
    assert.is(pool.seen.statements, 1, 'seven patches made in one turn go in one statement');
    const answer = (i: number) => {
      const s = settled[i]!;
      return s.status === 'fulfilled' ? s.value : (s.reason as Error);
    };
    assert.instance(answer(2), NotFoundError, 'a missing customer: 404');
    assert.instance(answer(3), PreconditionFailedError, 'If-Match of another version: 412');
    assert.instance(answer(4), ValidationError, 'too many metadata keys: 400');
    const eve = answer(0) as Customer;
    const first = answer(1) as Customer;
    const second = answer(5) as Customer;
    const dee = answer(6) as Customer;
    assert.equal([eve.name, eve.version], ['Eve', e.version + 1]);
    assert.equal(
      [first.name, first.metadata, first.version],
      ['First', { add: 'a' }, a.version + 1],
      "a customer's first patch, at the version it named",
    );
    assert.equal(
      [second.name, second.address?.city, second.metadata, second.version],
      ['Second', 'Paris', { add: 'a' }, a.version + 2],
      'and its second, in the order they came, over the first',
    );
    assert.equal([dee.phone, dee.email, dee.version], [null, 'd@example.com', d.version + 1]);
    // As stored, not only as answered: JSON nulls in the batch are SQL nulls, absent ones untouched.
    const stored = await o.sql<{ id: string; address: unknown; metadata: unknown }[]>`
      SELECT id, address, metadata FROM customers WHERE id IN (${d.id}, ${e.id})`;
    assert.equal(
      new Map(stored.map((r) => [r.id, [r.address, r.metadata]])),
      new Map([
        [d.id, [null, { keep: 'k' }]],
        [e.id, [e.address, { keep: 'k' }]],
      ]),
    );
    for (const x of [eve, second, dee])
      assert.equal(await customers.get(x.id), x, `${x.id} answered what is stored`);
    assert.equal((await customers.get(b.id)).version, b.version, 'the refused ones wrote nothing');
    assert.equal((await customers.get(c.id)).metadata, { keep: 'k' });

    const captured = await o.sql<
      { customer_id: string; version: string; correlation_id: string }[]
    >`
      SELECT customer_id, version, correlation_id FROM outbox
      WHERE customer_id = ANY(${made.map((m) => m.id)}::uuid[]) AND op = 'updated'
        AND correlation_id = ANY(${correlations})`;
    assert.equal(
      captured.map((r) => [r.customer_id, Number(r.version), r.correlation_id]).sort(),
      [
        [e.id, e.version + 1, correlations[0]],
        [a.id, a.version + 1, correlations[1]],
        [a.id, a.version + 2, correlations[5]],
        [d.id, d.version + 1, correlations[6]],
      ].sort(),
      'each captured change carries its own request',
    );
  } finally {
    await pool.close();
  }
});

test('a patch Postgres refuses fails alone; the others of its batch land', async ({ t }) => {
  // A fresh pool: the batch's statement is sent as text once, when it is first prepared.
  let batches = 0;
  const proxy = await postgresProxy(t.db.url, (_client, chunk) => {
    if (chunk.includes('rtws_patch_customers')) batches++;
    return false;
  });
  const sql = connectPostgres(proxy.url, { max: 4, applicationName: 'rtws-patch-refused' });
  try {
    const customers = customerRepository(sql);
    const made = await Promise.all([body(), body(), body()].map((b) => customers.create(b)));
    const settled = await Promise.allSettled([
      customers.patch(made[0]!.id, { name: 'Kept 0' }),
      // No validation stands in the way here; the column's NOT NULL refuses it.
      customers.patch(made[1]!.id, { name: null as never }),
      customers.patch(made[2]!.id, { name: 'Kept 2' }),
    ]);
    assert.equal(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /null value/);
    assert.is(batches, 1, 'the three went as a batch first');
    assert.equal(await Promise.all(made.map(async (m) => (await customers.get(m.id)).name)), [
      'Kept 0',
      made[1]!.name,
      'Kept 2',
    ]);
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test('a batch of patches lost with its connection is not sent again: each fails', async ({
  t,
  o,
}) => {
  const made = await Promise.all([body(), body()].map((b) => customerRepository(o.sql).create(b)));
  // The connection is cut when the batch is sent. Sent again, one by one, the patches would land.
  const proxy = await postgresProxy(t.db.url, (client, chunk) => {
    if (!chunk.includes('rtws_patch_customers')) return false;
    client.destroy();
    return true;
  });
  const sql = connectPostgres(proxy.url, { max: 1, applicationName: 'rtws-patch-lost' });
  try {
    const customers = customerRepository(sql);
    const settled = await Promise.allSettled(
      made.map((m) => customers.patch(m.id, { name: 'Never' })),
    );
    assert.equal(
      settled.map((s) => s.status),
      ['rejected', 'rejected'],
    );
    assert.ok(
      settled.every((s) => isInfrastructureFault((s as PromiseRejectedResult).reason)),
      'each fails as a lost connection, which the API answers with a 503',
    );
    const names = await o.sql<{ name: string }[]>`
      SELECT name FROM customers WHERE id = ANY(${made.map((m) => m.id)}::uuid[])`;
    assert.ok(
      names.every((r) => r.name !== 'Never'),
      "none was patched behind the caller's back",
    );
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test('a customer with more metadata keys than the API allows can still be patched otherwise', async ({
  t,
  o,
}) => {
  const pool = await counted(t, 2);
  try {
    const customers = customerRepository(pool.sql);
    const c = await customers.create(body());
    // As a customer born in Stripe can come: Stripe allows 50 keys, the API 49.
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    await o.sql`UPDATE customers SET metadata = ${o.sql.json(fifty)} WHERE id = ${c.id}`;
    const p = await customers.patch(c.id, { name: 'Still patched' });
    assert.equal([p.name, Object.keys(p.metadata).length], ['Still patched', 50]);
    const more = await customers.patch(c.id, { metadata: { k51: 'v' } }).then(
      () => 'patched',
      (err: unknown) => String(err),
    );
    assert.match(more, /at most 49 keys after the merge/, 'a patch of its metadata is checked');
  } finally {
    await pool.close();
  }
});

test.run();
