// Concurrent edits on both sides, settled by the merge policy: different fields keep both; the
// same field ends with the later change on both sides, and the conflict is recorded and listed.
// Rtws's push is held back by a refused write, so that the Stripe edit meets an unpushed change.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type Stripe from 'stripe';
import { authHeaders } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { linked, quiet, rowWhen, twoWay, unpushedEdit, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('conflicts');
test.before(async (ctx) => {
  ctx.s = await twoWay();
});
test.after.each(({ s }) => {
  s.emu.clearFaults();
  s.emu.setClockOffset(0);
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

const retrieve = async (s: TwoWay, id: string) =>
  (await s.stripe.customers.retrieve(id)) as Stripe.Customer;

async function get<T>(s: TwoWay, path: string): Promise<T> {
  const res = await fetch(`${s.rtws.url}${path}`, { headers: authHeaders() });
  assert.is(res.status, 200, path);
  return (await res.json()) as T;
}

interface SyncWithConflicts {
  conflicts: {
    field: string;
    postgres_value: unknown;
    stripe_value: unknown;
    winner: string;
    reason: string;
  }[];
}

test('edits to different fields on both sides are both kept, with no conflict', async ({ s }) => {
  const { id } = await s.api.create({ name: 'Both', email: 'both@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  await unpushedEdit(s, id, stripeId, { email: 'pg@example.com' });
  await s.stripe.customers.update(stripeId, { name: 'Both (Stripe)' });
  const r = await rowWhen(s, id, (x) => x.name === 'Both (Stripe)');
  assert.is(r?.email, 'pg@example.com');
  const c = await eventually(
    () => retrieve(s, stripeId),
    (x) => x.email === 'pg@example.com',
    10_000,
  );
  assert.is(c.name, 'Both (Stripe)');
  assert.is(c.email, 'pg@example.com');
  const view = await get<SyncWithConflicts>(s, `/customers/${id}/sync`);
  assert.equal(view.conflicts, []);
});

test('the same field changed later in Stripe: Stripe wins on both sides, and it is recorded', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Same', email: 'same@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  await unpushedEdit(s, id, stripeId, { name: 'Same (Postgres)' });
  s.emu.setClockOffset(5_000);
  await s.stripe.customers.update(stripeId, { name: 'Same (Stripe)' });
  await rowWhen(s, id, (x) => x.name === 'Same (Stripe)');
  await quiet(s);
  assert.is((await retrieve(s, stripeId)).name, 'Same (Stripe)');
  const view = await get<SyncWithConflicts>(s, `/customers/${id}/sync`);
  assert.is(view.conflicts.length, 1);
  const [c] = view.conflicts;
  assert.equal(
    [c?.field, c?.postgres_value, c?.stripe_value, c?.winner],
    ['name', 'Same (Postgres)', 'Same (Stripe)', 'stripe'],
  );
  assert.match(c!.reason, /later/);
});

test('the same field changed earlier in Stripe: Postgres wins on both sides', async ({ s }) => {
  const { id } = await s.api.create({ name: 'Tie', email: 'tie@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  await unpushedEdit(s, id, stripeId, { name: 'Tie (Postgres)' });
  s.emu.setClockOffset(-5_000);
  await s.stripe.customers.update(stripeId, { name: 'Tie (Stripe)' });
  const c = await eventually(
    () => retrieve(s, stripeId),
    (x) => x.name === 'Tie (Postgres)',
    10_000,
  );
  assert.is(c.name, 'Tie (Postgres)');
  await quiet(s);
  const r = await rowWhen(s, id, () => true);
  assert.is(r?.name, 'Tie (Postgres)');
  const page = await get<{
    data: { customer_id: string; winner: string }[];
    next_cursor: string | null;
  }>(s, `/conflicts?customer_id=${id}`);
  assert.equal(
    page.data.map((x) => [x.customer_id, x.winner]),
    [[id, 'postgres']],
  );
});

test('GET /conflicts lists conflicts newest first, a page at a time', async ({ s }) => {
  const { id } = await s.api.create({ name: 'Paged' });
  for (const field of ['name', 'email', 'phone'])
    await s.o.sql`
      INSERT INTO conflicts (customer_id, field, postgres_value, stripe_value, winner, reason,
                             stripe_event_id, detected_at)
      VALUES (${id}, ${field}, '"p"', '"s"', 'postgres', 'test', 'evt_paged', now())`;
  const first = await get<{ data: { id: number; field: string }[]; next_cursor: string | null }>(
    s,
    `/conflicts?customer_id=${id}&limit=2`,
  );
  assert.equal(
    first.data.map((c) => c.field),
    ['phone', 'email'],
  );
  assert.ok(first.next_cursor);
  const second = await get<{ data: { field: string }[]; next_cursor: string | null }>(
    s,
    `/conflicts?customer_id=${id}&limit=2&cursor=${first.next_cursor}`,
  );
  assert.equal(
    second.data.map((c) => c.field),
    ['name'],
  );
  assert.is(second.next_cursor, null);
  for (const bad of ['limit=0', 'limit=101', 'cursor=abc', 'customer_id=nope', 'other=1']) {
    const res = await fetch(`${s.rtws.url}/conflicts?${bad}`, { headers: authHeaders() });
    assert.is(res.status, 400, bad);
  }
});

test.run();
