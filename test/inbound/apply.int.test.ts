// The Postgres write for a change seen in Stripe: one transaction with origin `stripe`, done once
// per write, and never over a field Postgres changed again after the merge decided.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CatalogueApply } from '../../actors/customer/index.ts';
import { applyFromStripe } from '../../adapters/postgres/inbound-apply.ts';
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
  assert.equal(first, { applied: true, version: 2, kept: {} });
  const again = await applyFromStripe(o.sql, id, w);
  assert.equal(again, { applied: false, version: 2, kept: {} });
  const r = await row(o, id);
  assert.equal(
    [r.name, r.metadata, r.version, r.origin],
    ['Once More', { region: 'eu' }, 2, 'stripe'],
  );
  const [inbox] = await o.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM inbox WHERE source = 'stripe' AND event_id = ${w.eventIds[0]!}`;
  assert.is(inbox?.n, 1);
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

test('a deleted customer takes no write, and a Stripe-born one is inserted once and linked', async ({
  o,
}) => {
  const id = await customer(o, 'Deleted');
  await o.sql`UPDATE customers SET deleted_at = now() WHERE id = ${id}`;
  await applyFromStripe(o.sql, id, write({ patch: { name: 'Zombie' } }));
  assert.is((await row(o, id)).name, 'Deleted');

  const born = '7d9f3c1e-8a2b-5c4d-9e6f-0a1b2c3d4e5f';
  const fields = { name: 'Born', email: null, phone: null, address: null, metadata: {} };
  const insert = write({ kind: 'insert', fields, stripeId: 'cus_born_apply' });
  await applyFromStripe(o.sql, born, insert);
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

test.run();
