// Updates from a target asked for together share one read and one statement, and each does
// exactly what it does alone: its own settings on its captured change, its own answer, its
// conflicts recorded, a row that moved after the read decided again, and a refusal of its own
// content that fails it alone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeTag, type CatalogueApply } from '../../actors/customer/index.ts';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import { catalogueEffects } from '../../adapters/postgres/catalogue-effects.ts';
import { updateBatches } from '../../adapters/postgres/update-batches.ts';
import type { ApplyResult, UpdateResult } from '../../adapters/postgres/inbound-apply.ts';
import { PermanentApplyError } from '../../core/errors.ts';
import { postgresProxy } from '../harness/postgres-proxy.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t: TestEnvironment; o: Observer }>('updates from a target, in batches');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

/** Customers as the API would have made them, each at version 1. */
async function customers(o: Observer, count: number): Promise<string[]> {
  const rows = await o.sql<{ id: string }[]>`
    INSERT INTO customers (name, email, phone, metadata)
    SELECT 'Before ' || i, 'before-' || i || '@example.com', '+1 555 0100',
           '{"tier": "silver", "drop": "me"}'::jsonb
    FROM generate_series(1, ${count}::int) AS i
    RETURNING id`;
  return rows.map((r) => r.id);
}

const LYON = {
  line1: '1 rue Neuve',
  line2: null,
  city: 'Lyon',
  state: null,
  postal_code: '69001',
  country: 'FR',
};

let n = 0;
function update(
  patch: CatalogueApply['patch'],
  over: Partial<CatalogueApply> = {},
): CatalogueApply {
  n++;
  return {
    id: `catalogue-${n}`,
    kind: 'update',
    stripeId: `cus_update_${n}`,
    eventIds: [`evt_update_${n}`],
    patch,
    fields: null,
    conflicts: [],
    recordedAt: 1_700_000_000_000 + n,
    doneAtVersion: null,
    correlationId: `corr_update_${n}`,
    ...over,
  };
}

const applied = (r: UpdateResult): ApplyResult => {
  if (r === 'moved') throw new Error('moved');
  return r;
};

interface Row {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  address: unknown;
  metadata: Record<string, string>;
  version: string;
}

async function rows(o: Observer, ids: readonly string[]): Promise<Map<string, Row>> {
  const found = await o.sql<Row[]>`
    SELECT id, name, email, phone, address, metadata, version FROM customers
    WHERE id = ANY(${ids as string[]}::uuid[])`;
  return new Map(found.map((r) => [r.id, r]));
}

test('updates asked for together go in two round trips, each as it would alone', async ({
  t,
  o,
}) => {
  let sent = 0;
  const proxy = await postgresProxy(t.db.url, () => {
    sent++;
    return false;
  });
  // One connection, so that the statements the first batch prepares serve the next.
  const sql = connectPostgres(proxy.url, { max: 1, applicationName: 'rtws-update-batch-probe' });
  try {
    const batched = updateBatches(sql);
    const ids = await customers(o, 8);
    // The first batch also prepares its statements on its connection.
    const warm = await customers(o, 2);
    await Promise.all(warm.map((id) => batched(id, update({ name: 'Warm' }))));
    const merged = {
      field: 'phone',
      postgres: '+1 555 0100',
      stripe: '+1 555 0199',
      winner: 'stripe' as const,
      reason: 'the later change wins',
      eventId: 'evt_merged',
      at: 1_700_000_000_000,
    };
    const updates: CatalogueApply[] = [
      update({ name: 'Renamed' }),
      update({ email: 'moved@example.com' }, { origin: 'salesforce', stripeId: '' }),
      update({ phone: null }),
      update({ address: LYON }),
      update({ metadata: { tier: 'gold', drop: null } }),
      update({ phone: '+1 555 0199' }, { conflicts: [merged] }),
      update({}),
      update({ name: 'Second' }),
    ];
    sent = 0;
    const results = await Promise.all(updates.map((a, i) => batched(ids[i]!, a)));
    assert.is(sent, 2, 'one read of the rows and one statement for the eight updates');
    assert.equal(
      results.map((r) => {
        const { applied: done, captured, version } = applied(r);
        return [done, captured, version];
      }),
      [...updates.slice(0, 6).map(() => [true, true, 2]), [true, false, 1], [true, true, 2]],
      'each applied; the empty patch changed nothing, so nothing was captured',
    );
    const after = await rows(o, ids);
    const row = (i: number) => after.get(ids[i]!)!;
    assert.is(row(0).name, 'Renamed');
    assert.is(row(1).email, 'moved@example.com');
    assert.is(row(2).phone, null, 'a null removes the phone');
    assert.equal(row(3).address, LYON);
    assert.equal(row(4).metadata, { tier: 'gold' }, 'a key put, a key dropped');
    assert.is(row(5).phone, '+1 555 0199');
    assert.is(row(6).name, 'Before 7', 'the empty patch left the row');

    const outbox = await o.sql<
      { customer_id: string; origin: string; correlation_id: string; write_id: string }[]
    >`
      SELECT customer_id, origin, correlation_id, write_id FROM outbox
      WHERE customer_id = ANY(${ids}::uuid[]) AND version = 2`;
    const captured = new Map(outbox.map((r) => [r.customer_id, r]));
    for (const [i, a] of updates.entries()) {
      if (i === 6) continue;
      const c = captured.get(ids[i]!);
      assert.ok(c, `update ${i} captured`);
      assert.equal(
        [c.origin, c.correlation_id, c.write_id],
        [a.origin ?? 'stripe', a.correlationId, writeTag(a)],
        `update ${i} carries its own settings`,
      );
    }
    const conflicts = await o.sql<{ customer_id: string; field: string; winner: string }[]>`
      SELECT customer_id, field, winner FROM conflicts WHERE customer_id = ANY(${ids}::uuid[])`;
    assert.equal(
      conflicts.map((c) => [c.customer_id, c.field, c.winner]),
      [[ids[5], 'phone', 'stripe']],
      'the merged conflict recorded once, for its own customer',
    );
    const inbox = await o.sql<{ source: string; customer_id: string }[]>`
      SELECT source, customer_id FROM inbox WHERE event_id = ${updates[1]!.eventIds[0]!}`;
    assert.equal(
      inbox.map((r) => [r.source, r.customer_id]),
      [['salesforce', ids[1]]],
      "Salesforce's change recorded as Salesforce's",
    );

    // Again: the inbox knows each write, so nothing is written and nothing captured.
    sent = 0;
    const again = await Promise.all(updates.map((a, i) => batched(ids[i]!, a)));
    assert.equal(
      again.map((r) => [applied(r).applied, applied(r).captured]),
      updates.map(() => [false, false]),
    );
    assert.is(sent, 2, 'again in two round trips');
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test('a row that moves between the batch read and its statement answers moved, and is retried alone', async ({
  t,
  o,
}) => {
  const [a, b] = await customers(o, 2);
  let held: (() => void) | undefined;
  // The batch's statement waits until the API has changed the first customer's row.
  const proxy = await postgresProxy(t.db.url, (_client, chunk) => {
    if (held || !chunk.includes('rtws_update_from_targets')) return false;
    return new Promise<void>((resolve) => (held = resolve));
  });
  const sql = connectPostgres(proxy.url, { max: 2, applicationName: 'rtws-update-batch-moved' });
  try {
    const effects = catalogueEffects(sql);
    // Asked for in one turn of the event loop: one batch.
    const both = Promise.all([
      effects.applyFromStripe(a!, update({ name: 'From Stripe' })),
      effects.applyFromStripe(b!, update({ email: 'b@example.com' })),
    ]);
    for (let i = 0; i < 500 && !held; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(held, 'the batch statement was sent');
    await o.sql`UPDATE customers SET metadata = '{"edited": "api"}' WHERE id = ${a!}`;
    held();
    const [ra, rb] = await both;
    assert.equal([ra.applied, ra.version], [true, 3], 'read again, and written on the new row');
    assert.equal([rb.applied, rb.version], [true, 2], 'the other update of the batch as it was');
    const after = await rows(o, [a!, b!]);
    assert.equal(
      [after.get(a!)?.name, after.get(a!)?.metadata],
      ['From Stripe', { edited: 'api' }],
      "the update and the API's edit both hold",
    );
    assert.is(after.get(b!)?.email, 'b@example.com');
  } finally {
    held?.();
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test('an update whose content Postgres refuses fails alone; the others of its batch land', async ({
  t,
  o,
}) => {
  const ids = await customers(o, 3);
  let batches = 0;
  const proxy = await postgresProxy(t.db.url, (_client, chunk) => {
    if (chunk.includes('rtws_update_from_targets')) batches++;
    return false;
  });
  const sql = connectPostgres(proxy.url, { max: 2, applicationName: 'rtws-update-batch-refused' });
  try {
    const effects = catalogueEffects(sql);
    const settled = await Promise.allSettled([
      effects.applyFromStripe(ids[0]!, update({ name: 'Good 1' })),
      effects.applyFromStripe(ids[1]!, update({ address: 'not an object' as never })),
      effects.applyFromStripe(ids[2]!, update({ name: 'Good 2' })),
    ]);
    assert.ok(batches > 0, 'they were tried as a batch first');
    assert.equal(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const refused = (settled[1] as PromiseRejectedResult).reason as Error;
    assert.instance(refused, PermanentApplyError, 'a refusal of the content is permanent');
    assert.match(refused.message, /^23514/);
    const after = await rows(o, ids);
    assert.equal(
      ids.map((id) => [after.get(id)?.name, Number(after.get(id)?.version)]),
      [
        ['Good 1', 2],
        ['Before 2', 1],
        ['Good 2', 2],
      ],
    );
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test('a batch lost with its connection: each update is tried alone, and lands once', async ({
  t,
  o,
}) => {
  const ids = await customers(o, 3);
  let cut = 0;
  // The connection is cut as the first batch statement goes, before Postgres runs it.
  const proxy = await postgresProxy(t.db.url, (client, chunk) => {
    if (cut > 0 || !chunk.includes('rtws_update_from_targets')) return false;
    cut++;
    client.destroy();
    return true;
  });
  const sql = connectPostgres(proxy.url, { max: 2, applicationName: 'rtws-update-batch-lost' });
  try {
    const batched = updateBatches(sql);
    const results = await Promise.all(
      ids.map((id, i) => batched(id, update({ name: `After ${i}` }))),
    );
    assert.is(cut, 1, 'a batch was sent, and its connection cut');
    assert.equal(
      results.map((r) => [applied(r).applied, applied(r).version]),
      ids.map(() => [true, 2]),
    );
    const after = await rows(o, ids);
    assert.equal(
      ids.map((id) => after.get(id)?.name),
      ['After 0', 'After 1', 'After 2'],
    );
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close();
  }
});

test.run();
