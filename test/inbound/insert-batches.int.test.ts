// Plain inserts from a target asked for together share one statement and one transaction, and
// each does exactly what it does alone: its own settings on its captured change, its own answer,
// and a refusal of its own content that fails it alone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { writeTag, type CatalogueApply } from '../../actors/customer/index.ts';
import type { CanonicalFields } from '../../core/canonical.ts';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import { insertBatches, type PlainInsert } from '../../adapters/postgres/insert-batches.ts';
import { catalogueEffects } from '../../adapters/postgres/catalogue-effects.ts';
import { PermanentApplyError } from '../../core/errors.ts';
import { postgresProxy } from '../harness/postgres-proxy.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t: TestEnvironment; o: Observer }>('inserts from a target, in batches');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

let n = 0;
function insert(over: Partial<CatalogueApply> = {}, fields: Partial<CanonicalFields> = {}) {
  n++;
  const customerId = randomUUID();
  const apply: CatalogueApply = {
    id: `catalogue-${n}`,
    kind: 'insert',
    stripeId: `cus_batch_${n}`,
    eventIds: [`evt_batch_${n}`],
    patch: {},
    fields: null,
    conflicts: [],
    recordedAt: 1_700_000_000_000 + n,
    doneAtVersion: null,
    correlationId: `corr_${n}`,
    ...over,
  };
  const f: CanonicalFields = {
    name: `Batch ${n}`,
    email: `batch-${n}@example.com`,
    phone: null,
    address: n % 2 === 0 ? { city: 'Lyon', line1: null } : null,
    metadata: { n: String(n) },
    ...fields,
  } as CanonicalFields;
  return { customerId, apply: { ...apply, fields: f }, fields: f } satisfies PlainInsert;
}

interface Captured {
  customer_id: string;
  version: string;
  origin: string;
  correlation_id: string | null;
  write_id: string | null;
}

async function captured(o: Observer, ids: readonly string[]) {
  const rows = await o.sql<Captured[]>`
    SELECT customer_id, version, origin, correlation_id, write_id FROM outbox
    WHERE customer_id = ANY(${ids}::uuid[])`;
  return new Map(rows.map((r) => [r.customer_id, r]));
}

test('inserts asked for together go in one round trip, each captured with its own settings', async ({
  t,
  o,
}) => {
  let sent = 0;
  const proxy = await postgresProxy(t.db.url, () => {
    sent++;
    return false;
  });
  const sql = connectPostgres(proxy.url, { max: 2, applicationName: 'rtws-batch-probe' });
  try {
    const batched = insertBatches(sql);
    // The first batch also prepares the statement on its connection.
    await Promise.all([insert(), insert()].map(batched));
    const restored = insert({ origin: 'restore', versionFloor: 5 });
    const fromSalesforce = insert({ origin: 'salesforce', stripeId: '', salesforceId: '001B' });
    const plain = Array.from({ length: 8 }, () => insert());
    const all = [restored, fromSalesforce, ...plain];
    sent = 0;
    const results = await Promise.all(all.map(batched));
    assert.is(sent, 1, 'one statement for the ten inserts');
    assert.equal(
      results.map((r) => [r.applied, r.captured, r.version]),
      [[true, true, 6], ...all.slice(1).map(() => [true, true, 1])],
      'the restore rises past its floor; the inserts after it do not',
    );
    const rows = await captured(
      o,
      all.map((i) => i.customerId),
    );
    for (const i of all) {
      const row = rows.get(i.customerId);
      assert.ok(row, `${i.customerId} captured`);
      assert.equal(
        [row.origin, row.correlation_id, row.write_id],
        [i.apply.origin ?? 'stripe', i.apply.correlationId, writeTag(i.apply)],
      );
    }
    const [links] = await o.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM customer_links
      WHERE customer_id = ${fromSalesforce.customerId} AND target = 'salesforce' AND external_id = '001B'`;
    assert.is(links?.n, 1, 'the Salesforce-born customer is linked to its record');
    const [stored] = await o.sql<{ address: unknown; metadata: unknown }[]>`
      SELECT address, metadata FROM customers WHERE id = ${plain[1]!.customerId}`;
    assert.equal(
      [stored?.address, stored?.metadata],
      [plain[1]!.fields.address, plain[1]!.fields.metadata],
    );

    // Again: the inbox knows each write, so nothing is written and nothing captured.
    const again = await Promise.all(all.map(batched));
    assert.equal(
      again.map((r) => [r.applied, r.captured]),
      all.map(() => [false, false]),
    );
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test('an insert whose content Postgres refuses fails alone; the others of its batch land', async ({
  o,
}) => {
  const effects = catalogueEffects(o.sql);
  const good = [insert(), insert()];
  const bad = insert({}, { metadata: ['not', 'an', 'object'] as never });
  const settled = await Promise.allSettled(
    [good[0]!, bad, good[1]!].map((i) => effects.applyFromStripe(i.customerId, i.apply)),
  );
  assert.equal(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  const refused = (settled[1] as PromiseRejectedResult).reason as Error;
  assert.instance(refused, PermanentApplyError, 'a refusal of the content is permanent');
  assert.match(refused.message, /^23514/);
  const rows = await o.sql<{ id: string }[]>`
    SELECT id FROM customers WHERE id = ANY(${[...good, bad].map((i) => i.customerId)}::uuid[])`;
  assert.equal(rows.map((r) => r.id).sort(), good.map((i) => i.customerId).sort());
});

test('a batch lost with its connection fails each of its inserts, to be retried', async ({ t }) => {
  // The connection is cut as soon as it sends an insert, alone or batched.
  const proxy = await postgresProxy(t.db.url, (client, chunk) => {
    if (!chunk.includes('rtws_insert_from_target')) return false;
    client.destroy();
    return true;
  });
  const sql = connectPostgres(proxy.url, { max: 1, applicationName: 'rtws-batch-lost' });
  try {
    const batched = insertBatches(sql);
    const settled = await Promise.allSettled([insert(), insert()].map(batched));
    assert.equal(
      settled.map((s) => s.status),
      ['rejected', 'rejected'],
    );
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test.run();
