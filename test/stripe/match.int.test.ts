// Match before create, in the Stripe executor, against the emulator through the official SDK and
// a real Postgres for the lock across processes and the link table: a create whose email Stripe
// has once, unlinked, links to it instead; several candidates hold it; lookups for one email never
// overlap, in one process or in two.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { executeStripeIntent } from '../../adapters/stripe/executor.ts';
import { keyedMutex, type MatchSettings } from '../../adapters/stripe/match.ts';
import { advisoryLock, matchSettings } from '../../adapters/postgres/stripe-match.ts';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { createKey, type StripeIntent } from '../../actors/customer/index.ts';
import { createTestDatabase, type TestDatabase } from '../harness/services.ts';

interface Ctx {
  emulator: StripeEmulator;
  stripe: Stripe;
  db: TestDatabase;
  /** Two pools: as two processes would hold them. */
  sqlA: Sql;
  sqlB: Sql;
}
const test = suite<Ctx>('match before create');

test.before(async (ctx) => {
  ctx.emulator = await startStripeEmulator({ port: 0, searchLagMs: 0 });
  ctx.stripe = stripeClient({
    secretKey: 'sk_test_match',
    apiBase: ctx.emulator.url,
    timeoutMs: 2_000,
  });
  ctx.db = await createTestDatabase();
  ctx.sqlA = connectPostgres(ctx.db.url, { max: 4 });
  ctx.sqlB = connectPostgres(ctx.db.url, { max: 4 });
  await migrate(ctx.sqlA);
});
test.after(async (ctx) => {
  await ctx.sqlA?.end();
  await ctx.sqlB?.end();
  await ctx.db?.drop();
  await ctx.emulator?.close();
});
test.before.each(async (ctx) => {
  ctx.emulator.reset();
  ctx.emulator.setSearchLag(0);
  await ctx.sqlA`DELETE FROM customer_links`;
});

const T0 = 1_800_000_000_000;
let seq = 0;

function createIntent(customerId: string, email: string | null, n = 1): StripeIntent {
  return {
    id: `stripe-${++seq}`,
    type: 'CreateStripeCustomer',
    op: 'create',
    target: 'stripe',
    key: createKey(customerId, n),
    version: 1,
    attempt: 1,
    failures: 0,
    notBefore: T0,
    recordedAt: T0,
    params: {
      name: 'Ada Catalogue',
      email,
      phone: null,
      address: null,
      metadata: { plan: 'gold', rtws_id: customerId },
    },
  };
}

const local = (merge: 'stripe' | 'catalogue' = 'stripe'): MatchSettings => ({
  by: 'email',
  merge,
  serialise: keyedMutex(),
});

/** Sent as it is recorded: the executor's clock reads the intent's time. */
const run = (ctx: Ctx, intent: StripeIntent, match?: MatchSettings) =>
  executeStripeIntent(ctx.stripe, intent, () => intent.recordedAt, {}, match);

async function withEmail(stripe: Stripe, email: string): Promise<Stripe.Customer[]> {
  const out: Stripe.Customer[] = [];
  for await (const c of stripe.customers.list({ limit: 100 }))
    if (c.email?.toLowerCase() === email.toLowerCase()) out.push(c);
  return out;
}

const creates = (emu: StripeEmulator) =>
  emu.requests({ method: 'POST', path: '/v1/customers' }).filter((r) => r.path === '/v1/customers');

test('one unlinked customer with the email in another case: linked and claimed, not created', async (ctx) => {
  const existing = await ctx.stripe.customers.create({
    name: 'Ada Stripe',
    email: 'Ada@Example.com',
  });
  const id = randomUUID();
  const outcome = await run(ctx, createIntent(id, 'ada@example.com'), local());
  assert.equal(outcome, {
    type: 'StripeCustomerMatched',
    data: {
      intentId: outcome.data.intentId,
      stripeId: existing.id,
      fields: {
        name: 'Ada Stripe',
        email: 'ada@example.com',
        phone: null,
        address: null,
        metadata: {},
      },
      policy: 'stripe',
      rtwsId: id,
    },
    at: T0,
  });
  assert.is(creates(ctx.emulator).length, 1, 'only the setup created a customer');
  const after = (await ctx.stripe.customers.retrieve(existing.id)) as Stripe.Customer;
  assert.is(after.metadata.rtws_id, id, 'the claim marks it ours for the next lookup');
  assert.is(after.email, 'Ada@Example.com', 'nothing else is written by the executor');
  const claim = ctx.emulator.requests({ method: 'POST', path: `/v1/customers/${existing.id}` });
  assert.is(claim[0]?.idempotencyKey, `${createKey(id, 1)}-match-${existing.id}`);
});

test('the lowercased form is found by the list even before search has indexed it', async (ctx) => {
  ctx.emulator.setSearchLag(60_000);
  const existing = await ctx.stripe.customers.create({ name: 'Fresh', email: 'fresh@example.com' });
  const outcome = await run(ctx, createIntent(randomUUID(), 'fresh@example.com'), local());
  assert.is(outcome.type, 'StripeCustomerMatched');
  assert.is((outcome.data as { stripeId: string }).stripeId, existing.id);
});

test('a customer linked to someone else is not a candidate: the create goes ahead', async (ctx) => {
  const other = randomUUID();
  await ctx.stripe.customers.create({ email: 'grace@example.com', metadata: { rtws_id: other } });
  const outcome = await run(ctx, createIntent(randomUUID(), 'grace@example.com'), local());
  assert.is(outcome.type, 'StripeCustomerCreated');
  assert.is((await withEmail(ctx.stripe, 'grace@example.com')).length, 2);
});

test('a customer the link table gives to someone else is not taken either', async (ctx) => {
  const taken = await ctx.stripe.customers.create({ email: 'lin@example.com' });
  const other = randomUUID();
  await ctx.sqlA`
    INSERT INTO customers (id, name, email) VALUES (${other}, 'Lin', 'lin@example.com')`;
  await ctx.sqlA`
    INSERT INTO customer_links (customer_id, target, external_id) VALUES (${other}, 'stripe', ${taken.id})`;
  const match = matchSettings({ by: 'email', merge: 'stripe' }, ctx.sqlA, {
    lockWaitMs: 2_000,
    lookupsPerSecond: 100,
  });
  const outcome = await run(ctx, createIntent(randomUUID(), 'lin@example.com'), match);
  assert.is(outcome.type, 'StripeCustomerCreated');
  assert.is(
    ((await ctx.stripe.customers.retrieve(taken.id)) as Stripe.Customer).metadata.rtws_id,
    undefined,
  );
});

test('a customer someone marked with our id before the create is matched, without a claim', async (ctx) => {
  const id = randomUUID();
  const marked = await ctx.stripe.customers.create({
    email: 'ours@example.com',
    metadata: { rtws_id: id },
  });
  await ctx.stripe.customers.create({ email: 'ours@example.com' });
  ctx.emulator.clearRequests();
  // Recorded a minute after the customer was made, and holding other values.
  const intent = { ...createIntent(id, 'ours@example.com'), recordedAt: Date.now() + 60_000 };
  const outcome = await run(ctx, intent, local());
  assert.is(outcome.type, 'StripeCustomerMatched');
  assert.is((outcome.data as { stripeId: string }).stripeId, marked.id);
  assert.equal(ctx.emulator.requests({ method: 'POST' }), [], 'no write at all');
});

test('our own create, landed by a try whose answer was lost: concluded as created', async (ctx) => {
  const id = randomUUID();
  const intent = createIntent(id, 'landed@example.com');
  const recorded = { ...intent, recordedAt: Date.now() - 1_000 };
  // The lost try: the create itself, with the intent's key.
  const landed = await executeStripeIntent(ctx.stripe, recorded, () => recorded.recordedAt);
  assert.is(landed.type, 'StripeCustomerCreated');
  const stripeId = (landed.data as { externalId: string }).externalId;
  // Someone edits it before the retry: it is still the create's own customer.
  await ctx.stripe.customers.update(stripeId, { name: 'Ada Edited There' });
  ctx.emulator.clearRequests();
  const outcome = await run(ctx, { ...recorded, attempt: 2 }, local());
  assert.equal(outcome, {
    type: 'StripeCustomerCreated',
    data: { intentId: intent.id, externalId: stripeId },
    at: recorded.recordedAt,
  });
  assert.equal(ctx.emulator.requests({ method: 'POST' }), [], 'nothing sent again');
  assert.is((await withEmail(ctx.stripe, 'landed@example.com')).length, 1);
});

test('a customer this lookup claims is a match, even one made after the intent', async (ctx) => {
  const id = randomUUID();
  const intent = { ...createIntent(id, 'newer@example.com'), recordedAt: Date.now() - 60_000 };
  const newer = await ctx.stripe.customers.create({
    name: 'Made Later',
    email: 'newer@example.com',
  });
  const outcome = await run(ctx, intent, local());
  assert.is(outcome.type, 'StripeCustomerMatched');
  assert.is((outcome.data as { stripeId: string }).stripeId, newer.id);
});

test('a customer with our id holding exactly what the create sends is the create, whenever made', async (ctx) => {
  const id = randomUUID();
  const intent = { ...createIntent(id, 'same@example.com'), recordedAt: Date.now() + 60_000 };
  const made = await ctx.stripe.customers.create({
    name: 'Ada Catalogue',
    email: 'same@example.com',
    metadata: { plan: 'gold', rtws_id: id },
  });
  // Recorded a minute after the customer was made: only its content says it is ours.
  const outcome = await run(ctx, intent, local());
  assert.equal(outcome.data, { intentId: intent.id, externalId: made.id });
  assert.is(outcome.type, 'StripeCustomerCreated');
});

test('several unlinked candidates hold the create: nothing is created or linked', async (ctx) => {
  const a = await ctx.stripe.customers.create({ email: 'twin@example.com' });
  const b = await ctx.stripe.customers.create({ email: 'TWIN@example.com' });
  const outcome = await run(ctx, createIntent(randomUUID(), 'twin@example.com'), local());
  assert.is(outcome.type, 'StripeCallFailed');
  const failed = outcome.data as { failure: string; reason: string };
  assert.is(failed.failure, 'permanent');
  assert.ok(failed.reason.includes([a.id, b.id].sort().join(', ')), failed.reason);
  const all = await withEmail(ctx.stripe, 'twin@example.com');
  assert.is(all.length, 2);
  assert.ok(all.every((c) => !c.metadata.rtws_id));
});

test('matching off, or no email: the create is sent as before', async (ctx) => {
  await ctx.stripe.customers.create({ email: 'off@example.com' });
  const off = await run(ctx, createIntent(randomUUID(), 'off@example.com'), {
    ...local(),
    by: 'none',
  });
  assert.is(off.type, 'StripeCustomerCreated');
  const none = await run(ctx, createIntent(randomUUID(), null), local());
  assert.is(none.type, 'StripeCustomerCreated');
  assert.is((await withEmail(ctx.stripe, 'off@example.com')).length, 2);
});

test('a failed lookup sends nothing and keeps the key: the create was not sent', async (ctx) => {
  await ctx.stripe.customers.create({ email: 'down@example.com' });
  ctx.emulator.failNext({ method: 'GET', path: '/v1/customers', status: 500 });
  const intent = createIntent(randomUUID(), 'down@example.com');
  const outcome = await run(ctx, intent, local());
  assert.is(outcome.type, 'StripeCallFailed');
  const failed = outcome.data as { failure: string; reason: string };
  assert.is(failed.failure, 'transient', 'resent under its key, with no lookup by rtws_id');
  assert.ok(failed.reason.startsWith('not sent'), failed.reason);
  assert.is(creates(ctx.emulator).length, 1, 'only the setup created a customer');
  const retried = await run(ctx, intent, local());
  assert.is(retried.type, 'StripeCustomerMatched');
});

test('a search Stripe refuses leaves the list to decide', async (ctx) => {
  const existing = await ctx.stripe.customers.create({ email: 'india@example.com' });
  ctx.emulator.failNext({ method: 'GET', path: '/v1/customers/search', status: 400 });
  const outcome = await run(ctx, createIntent(randomUUID(), 'india@example.com'), local());
  assert.is(outcome.type, 'StripeCustomerMatched');
  assert.is((outcome.data as { stripeId: string }).stripeId, existing.id);
});

test('a failed create after an empty lookup is reported by its own class', async (ctx) => {
  ctx.emulator.failNext({ method: 'POST', path: '/v1/customers', status: 500, phase: 'after' });
  const outcome = await run(ctx, createIntent(randomUUID(), 'new@example.com'), local());
  assert.is(outcome.type, 'StripeCallFailed');
  assert.is(
    (outcome.data as { failure: string }).failure,
    'uncertain',
    'looked up by rtws_id next',
  );
});

test('concurrent creates for one email, in one process: one takes the customer, one creates', async (ctx) => {
  const existing = await ctx.stripe.customers.create({ email: 'pair@example.com' });
  const match = local();
  const [a, b] = [randomUUID(), randomUUID()];
  const outcomes = await Promise.all([
    run(ctx, createIntent(a, 'pair@example.com'), match),
    run(ctx, createIntent(b, 'pair@example.com'), match),
  ]);
  assert.equal(outcomes.map((o) => o.type).sort(), [
    'StripeCustomerCreated',
    'StripeCustomerMatched',
  ]);
  const all = await withEmail(ctx.stripe, 'pair@example.com');
  assert.is(all.length, 2);
  assert.equal(all.map((c) => c.metadata.rtws_id).sort(), [a, b].sort(), 'one each, none shared');
  assert.ok(all.some((c) => c.id === existing.id));
});

test('concurrent creates for one email, in two processes: the advisory lock serialises them', async (ctx) => {
  await ctx.stripe.customers.create({ email: 'Far@Example.com' });
  // Each "process" has its own pool and its own in-process lock; Stripe answers slowly, so
  // without the lock both lookups would run before either claim.
  ctx.emulator.delayRequests({ method: 'GET', path: '/v1/customers*', ms: 150 });
  const settingsOf = (sql: Sql) =>
    matchSettings({ by: 'email', merge: 'stripe' }, sql, {
      lockWaitMs: 5_000,
      lookupsPerSecond: 100,
    });
  const [a, b] = [randomUUID(), randomUUID()];
  const outcomes = await Promise.all([
    run(ctx, createIntent(a, 'far@example.com'), settingsOf(ctx.sqlA)),
    run(ctx, createIntent(b, 'far@example.com'), settingsOf(ctx.sqlB)),
  ]);
  assert.equal(outcomes.map((o) => o.type).sort(), [
    'StripeCustomerCreated',
    'StripeCustomerMatched',
  ]);
  const all = await withEmail(ctx.stripe, 'far@example.com');
  assert.equal(all.map((c) => c.metadata.rtws_id).sort(), [a, b].sort());
});

test('the advisory lock: one key at a time across pools, other keys in parallel, a bounded wait', async (ctx) => {
  const lockA = advisoryLock(ctx.sqlA, 300);
  const lockB = advisoryLock(ctx.sqlB, 300);
  const log: string[] = [];
  const section = (name: string, ms: number) => async () => {
    log.push(`${name}+`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`${name}-`);
    return name;
  };
  const hold = lockA('k1', section('a', 200));
  await new Promise((r) => setTimeout(r, 50));
  const [held, waited, other] = await Promise.all([
    hold,
    lockB('k1', section('b', 10)),
    lockB('k2', section('c', 10)),
  ]);
  assert.equal([held, waited, other], ['a', 'b', 'c']);
  assert.ok(log.indexOf('a-') < log.indexOf('b+'), log.join(' '));
  assert.ok(log.indexOf('c+') < log.indexOf('a-'), `another key runs meanwhile: ${log.join(' ')}`);
  const long = lockA('k3', section('d', 800));
  await new Promise((r) => setTimeout(r, 50));
  const refused = await lockB('k3', section('e', 10)).then(
    () => 'ran',
    (err: { code?: string }) => err.code,
  );
  assert.is(refused, '55P03', 'lock_timeout: the call fails and is retried later');
  await long;
});

test('a lock whose connection is cut while its section runs settles with the section, not before', async (ctx) => {
  const lock = advisoryLock(ctx.sqlA, 300);
  let ended = false;
  const section = async () => {
    // The lock's backend is cut while the section's calls are still under way.
    await ctx.sqlB`
      SELECT pg_terminate_backend(pid) FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`;
    await new Promise((r) => setTimeout(r, 300));
    ended = true;
    return 'done';
  };
  const answer = await lock('k-cut', section).then(
    (v) => v,
    (err: unknown) => err,
  );
  assert.ok(ended, 'nothing of the section runs on after the lock settles');
  assert.is(answer, 'done', "the section's outcome is the answer: its calls were made");
});

test.run();
