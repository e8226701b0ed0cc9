// Reconciliation (drift repair) against the Stripe emulator, end to end: an equal account is read
// and nothing is written anywhere; drift that no webhook or catch-up brought in (a dashboard edit,
// a deletion) is handed to the customers' actors and repaired by their usual rules; an orphan and a
// link to a customer missing from the account are reported, and nothing is deleted or guessed.
// RTWS_RECONCILE_CUSTOMERS sets the number of equal customers (default 40).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/ports.ts';
import { reconcileSchedule } from '../../deploy/wiring/backfill/reconcile-schedule.ts';
import { authHeaders } from '../harness/rtws.ts';
import { testSize } from '../harness/services.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { linked, quiet, row, rowWhen, twoWay, type TwoWay } from './stack.ts';
import { stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';

const test = suite<{ s: TwoWay }>('reconciliation with Stripe');
test.before(async (ctx) => {
  // Catch-up runs at start only here: drift made later reaches rtws by reconciliation alone.
  ctx.s = await twoWay({ env: { RTWS_CATCHUP_INTERVAL_S: '3600' } });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

interface Reconciliation {
  id: number;
  state: string;
  scanned: number;
  counts: Record<string, number>;
  differing_fields: Record<string, Record<string, number>>;
}
interface Differences {
  data: {
    kind: string;
    customer_id: string | null;
    external_id: string | null;
    fields: string[];
  }[];
  next_cursor: string | null;
}

async function call<T>(
  s: TwoWay,
  method: string,
  path: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${s.rtws.url}${path}`, {
    method,
    headers: {
      ...authHeaders(),
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Starts a reconciliation and waits for its end. */
async function reconcile(s: TwoWay): Promise<Reconciliation> {
  const started = await call<Reconciliation>(s, 'POST', '/reconciliations');
  assert.is(started.status, 202, JSON.stringify(started.body));
  const done = await eventually(
    async () => (await call<Reconciliation>(s, 'GET', `/reconciliations/${started.body.id}`)).body,
    (r) => r.state !== 'running',
    60_000,
  );
  assert.is(done.state, 'done', JSON.stringify(done));
  return done;
}

test('an equal account: every customer compared, nothing written anywhere', async ({ s }) => {
  const n = testSize('RTWS_RECONCILE_CUSTOMERS', 40);
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push((await s.api.create({ name: `Equal ${i}`, email: `equal${i}@example.com` })).id);
  for (const id of ids) await linked(s, id, 30_000);
  await quiet(s, 1_000);
  const versions = await s.o.sql`SELECT sum(version)::int AS v FROM customers`;
  s.emu.clearRequests();
  const r = await reconcile(s);
  assert.is(r.counts.equal, n, JSON.stringify(r.counts));
  assert.is(r.scanned, n);
  assert.equal(r.differing_fields, {});
  await quiet(s, 1_000);
  const writes = s.emu.requests().filter((q) => q.method !== 'GET');
  assert.equal(writes, [], 'no write reached Stripe');
  assert.equal(await s.o.sql`SELECT sum(version)::int AS v FROM customers`, versions);
  const lists = s.emu.requests({ method: 'GET', path: '/v1/customers' });
  assert.ok(lists.length <= Math.ceil(n / 100) + 1, `${lists.length} list calls`);
});

test('drift is repaired by the actors; orphans and missing customers are reported', async ({
  s,
}) => {
  const { id: edited } = await s.api.create({ name: 'Drifted', email: 'drift@example.com' });
  const { id: gone } = await s.api.create({ name: 'Gone', email: 'gone@example.com' });
  const { id: broken } = await s.api.create({ name: 'Broken', email: 'broken@example.com' });
  const { id: restored } = await s.api.create({ name: 'Restored', email: 'restored@example.com' });
  const { id: behind } = await s.api.create({ name: 'Behind', email: 'behind@example.com' });
  const editedId = await linked(s, edited);
  const goneId = await linked(s, gone);
  await linked(s, broken);
  const restoredId = await linked(s, restored);
  await linked(s, behind);
  await s.api.patch(behind, { name: 'Behind, renamed' });
  await rowWhen(s, behind, (x) => x.version === 2);
  await quiet(s, 500);
  // Changes whose webhooks never come, and that catch-up has already passed by.
  s.emu.pauseWebhooks();
  try {
    await s.stripe.customers.update(editedId, { name: 'Drifted in the dashboard' });
    await s.stripe.customers.del(goneId);
    const orphan = await s.stripe.customers.create({
      name: 'Orphan',
      metadata: { rtws_id: '7d0f6a3e-0000-4000-8000-00000000abcd' },
    });
    // A database restored from before a link was made: the link is gone, rtws_id still names it.
    await s.o.sql`DELETE FROM customer_links WHERE customer_id = ${restored}`;
    // A row restored from a backup taken before its rename: older than what rtws synced.
    await s.o.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE customers SET name = 'Behind', version = 1 WHERE id = ${behind}`;
    });
    // A link to a customer this account does not have (a restore, a key of another account).
    await s.o.sql`
      UPDATE customer_links SET external_id = 'cus_NotInThisAccount' WHERE customer_id = ${broken}`;
    const r = await reconcile(s);
    assert.is(r.counts.differs, 1, JSON.stringify(r.counts));
    assert.is(r.counts.deleted_in_stripe, 1);
    assert.is(r.counts.missing_in_stripe, 1);
    assert.is(r.counts.orphan, 1);
    assert.is(r.counts.relinked, 1);
    assert.is(r.counts.catalogue_behind, 1, 'a restored row is said plainly');
    assert.is(await linked(s, restored), restoredId, 'the lost link is recorded again');
    assert.equal(r.differing_fields, { stripe: { name: 2 } }, 'the drifted one and the row behind');
    const repaired = await rowWhen(s, edited, (x) => x.name === 'Drifted in the dashboard', 15_000);
    assert.is(repaired?.origin, 'stripe', 'applied as a change from Stripe');
    const forward = await rowWhen(s, behind, (x) => x.name === 'Behind, renamed', 15_000);
    assert.is(forward?.origin, 'restore', 'the row behind is brought forward by its actor');
    const deleted = await rowWhen(s, gone, (x) => x.deleted_at !== null, 15_000);
    assert.ok(deleted?.deleted_at, 'a deletion in Stripe is a deletion');
    assert.is((await row(s, broken))?.deleted_at, null, 'a missing customer deletes nothing');
    const diffs = await call<Differences>(
      s,
      'GET',
      `/reconciliations/${r.id}/differences?limit=10`,
    );
    const byKind = Object.fromEntries(diffs.body.data.map((d) => [d.kind, d]));
    assert.equal(byKind.differs?.fields, ['name']);
    assert.is(byKind.missing_in_stripe?.customer_id, broken);
    assert.is(byKind.orphan?.external_id, orphan.id);
    const metrics = await (await fetch(`${s.rtws.url}/metrics`, { headers: authHeaders() })).text();
    assert.match(metrics, /rtws_drift_found_total\{target="stripe",kind="differs"\} 1/);
    assert.match(metrics, /rtws_drift_found_total\{target="stripe",kind="orphan"\} 1/);
    assert.match(metrics, /rtws_drift_repaired_total\{target="stripe"\} [12]/);
    const orphans = await s.o.sql`SELECT id FROM customers WHERE name = 'Orphan'`;
    assert.is(orphans.length, 0, 'an orphan is not imported by guesswork');
  } finally {
    s.emu.resumeWebhooks();
  }
});

test('a Stripe-born customer without rtws_id is known by the id derived from it', async ({ s }) => {
  // Born in the dashboard and inserted by its webhook; then its rtws_id is gone (an import leaves
  // it to the first push, or a person removed it) and so is its link (a database restored).
  const born = await s.stripe.customers.create({ name: 'Born', email: 'born@example.com' });
  const id = stripeBornId(born.id);
  await rowWhen(s, id, (x) => x.name === 'Born', 15_000);
  await linked(s, id, 15_000);
  await quiet(s, 500);
  s.emu.pauseWebhooks();
  try {
    await s.stripe.customers.update(born.id, { metadata: { rtws_id: '' } });
    await s.o.sql`DELETE FROM customer_links WHERE customer_id = ${id}`;
    // Never seen by rtws, and nothing of ours: still left to an import.
    const stranger = await s.stripe.customers.create({ name: 'Stranger' });
    const r = await reconcile(s);
    assert.is(r.counts.relinked, 1, JSON.stringify(r.counts));
    assert.is(r.counts.unlinked, 1);
    assert.is(await linked(s, id), born.id, 'the lost link is recorded again');
    const diffs = await call<Differences>(s, 'GET', `/reconciliations/${r.id}/differences`);
    const relinked = diffs.body.data.find((d) => d.kind === 'relinked');
    assert.is(relinked?.customer_id, id);
    const unlinked = diffs.body.data.find((d) => d.kind === 'unlinked');
    assert.is(unlinked?.external_id, stranger.id);
    const strangers = await s.o
      .sql`SELECT 1 FROM customers WHERE id = ${stripeBornId(stranger.id)}`;
    assert.is(strangers.length, 0, 'an unknown Stripe customer is not imported by reconciliation');
  } finally {
    s.emu.resumeWebhooks();
  }
});

test('live edits made during a reconciliation are never reverted by it', async ({ s }) => {
  const ids: string[] = [];
  for (let i = 0; i < 20; i++)
    ids.push((await s.api.create({ name: `Live ${i}`, email: `live${i}@example.com` })).id);
  const stripeIds: string[] = [];
  for (const id of ids) stripeIds.push(await linked(s, id, 30_000));
  await quiet(s, 500);
  const started = await call<Reconciliation>(s, 'POST', '/reconciliations');
  assert.is(started.status, 202);
  // Edits on both sides while it walks: the API's on even customers, the dashboard's on odd ones.
  await Promise.all(
    ids.map((id, i) =>
      i % 2 === 0
        ? s.api.patch(id, { name: `API ${i}` })
        : s.stripe.customers.update(stripeIds[i]!, { name: `Dashboard ${i}` }),
    ),
  );
  await waitFor(
    async () => (await call<Reconciliation>(s, 'GET', `/reconciliations/${started.body.id}`)).body,
    (r) => r.state !== 'running',
    60_000,
  );
  const want = (i: number) => (i % 2 === 0 ? `API ${i}` : `Dashboard ${i}`);
  for (const [i, id] of ids.entries()) {
    const r = await rowWhen(s, id, (x) => x.name === want(i), 15_000);
    assert.is(r?.name, want(i), `customer ${i} in Postgres`);
    const there = await eventually(
      () => s.stripe.customers.retrieve(stripeIds[i]!),
      (c) => !c.deleted && c.name === want(i),
      15_000,
    );
    assert.is(there.deleted ? null : there.name, want(i), `customer ${i} in Stripe`);
  }
});

test('one at a time: a second answers 409 naming the first; other ids answer 404', async ({
  s,
}) => {
  assert.is((await call(s, 'GET', '/reconciliations/999999')).status, 404);
  assert.is((await call(s, 'GET', '/reconciliations/abc')).status, 400);
  const [paused] = await s.o.sql<{ id: string }[]>`
    INSERT INTO backfills (source, state) VALUES ('reconcile', 'paused') RETURNING id`;
  const second = await call<{ detail: string }>(s, 'POST', '/reconciliations');
  assert.is(second.status, 409);
  assert.match(second.body.detail, new RegExp(`backfill ${paused!.id} of source reconcile`));
  assert.is((await call(s, 'POST', `/backfills/${paused!.id}/cancel`)).status, 200);
  const [exported] = await s.o.sql<{ id: string }[]>`
    INSERT INTO backfills (source, state) VALUES ('postgres', 'done') RETURNING id`;
  assert.is((await call(s, 'GET', `/reconciliations/${exported!.id}`)).status, 404);
});

test('the schedule starts one once the interval has passed since the last', async ({ s }) => {
  const before = await s.o.sql`SELECT id FROM backfills WHERE source = 'reconcile'`;
  let kicks = 0;
  const schedule = reconcileSchedule({
    sql: s.o.sql,
    log: silentLogger,
    intervalS: 1,
    kick: () => kicks++,
  });
  try {
    const after = await eventually(
      () => s.o.sql`SELECT id FROM backfills WHERE source = 'reconcile'`,
      (rows) => rows.length > before.length,
      10_000,
    );
    assert.is(after.length, before.length + 1, 'one started');
    assert.ok(kicks >= 1, 'and the runner was told');
  } finally {
    schedule.stop();
  }
});

test('differences of runs that ended past the retention are deleted by the next run', async ({
  s,
}) => {
  const runs = await s.o.sql<{ id: number }[]>`
    SELECT DISTINCT backfill_id::int AS id FROM reconcile_differences ORDER BY 1`;
  assert.ok(runs.length >= 1, 'an earlier run found differences');
  const [old, ...recent] = runs.map((r) => r.id);
  await s.o.sql`UPDATE backfills SET ended_at = now() - interval '91 days' WHERE id = ${old!}`;
  // The one the schedule started above ends first.
  await waitFor(
    () => s.o.sql`SELECT 1 FROM backfills WHERE source = 'reconcile' AND state = 'running'`,
    (rows) => rows.length === 0,
    60_000,
  );
  await reconcile(s);
  const left = (
    await s.o.sql<
      { id: number }[]
    >`SELECT DISTINCT backfill_id::int AS id FROM reconcile_differences`
  ).map((r) => r.id);
  assert.not.ok(left.includes(old!), 'past RTWS_RECONCILE_KEEP_DAYS (90): deleted');
  for (const id of recent) assert.ok(left.includes(id), `run ${id} is kept`);
  const listed = await call<Reconciliation>(s, 'GET', `/reconciliations/${old}`);
  assert.is(listed.status, 200, 'the run itself stays listed');
});

test.run();
