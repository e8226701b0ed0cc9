// Import from Stripe: an account already in use is brought into the catalogue through the actors,
// once; customers it cannot place safely are reported, not imported; a dry run writes nothing;
// an import that stopped resumes from its saved cursor.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Rtws } from '../../deploy/rtws.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { jetStreamPublisher } from '../../adapters/jetstream/durable-publisher.ts';
import {
  dryRunBackfill,
  type BackfillSources,
} from '../../deploy/wiring/backfill/backfill-runner.ts';
import { resyncer } from '../../deploy/wiring/backfill/resync.ts';
import {
  createBackfill,
  getBackfill,
  type Backfill,
  type BackfillOptions,
} from '../../adapters/postgres/backfills.ts';
import { stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';
import {
  observe,
  startTestRtws,
  testEnvironment,
  type Observer,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { apiClient } from '../sync/api-client.ts';
import { LIVE_KEY } from '../sync/stack.ts';

const EXISTING = 20;

const test = suite<{
  t: TestEnvironment;
  o: Observer;
  emu: StripeEmulator;
  stripe: Stripe;
  rtws: Rtws;
}>('import from Stripe');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.emu = await startStripeEmulator({ port: 0, searchLagMs: 0 });
  const base = new URL(ctx.emu.url);
  ctx.stripe = new Stripe(LIVE_KEY, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
  });
  // The account was in use before rtws: no webhook endpoint of rtws's ever saw these.
  for (let i = 0; i < EXISTING; i++)
    await ctx.stripe.customers.create({ name: `Existing ${i}`, email: `existing${i}@example.com` });
  await ctx.stripe.customers.create({ name: 'Orphan', metadata: { rtws_id: randomUUID() } });
  await ctx.stripe.customers.create({ name: 'Twin', email: 'Twin@Example.com' });
  await new Promise((r) => setTimeout(r, 1_100));
  ctx.rtws = await startTestRtws(ctx.t, {
    STRIPE_SECRET_KEY: LIVE_KEY,
    STRIPE_API_BASE: ctx.emu.url,
    STRIPE_WEBHOOK_SECRET: 'whsec_import',
    RTWS_CATCHUP_MARGIN_S: '0',
  });
});
test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.emu?.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

type Ctx = { o: Observer; stripe: Stripe; t: TestEnvironment };

const sources = (ctx: Ctx): BackfillSources => {
  const publisher = jetStreamPublisher(jetstream(ctx.o.nats));
  const deps = { sql: ctx.o.sql, publisher, names: ctx.t.names };
  return {
    stripe: { ...deps, stripe: ctx.stripe },
    postgres: resyncer({ ...deps, targets: ['stripe'] }),
  };
};

/** A real run goes to rtws's own backfill runner; this waits for it to end. */
async function run(ctx: Ctx, options: BackfillOptions = {}): Promise<Backfill> {
  const started = await createBackfill(ctx.o.sql, 'stripe', options);
  return finished(ctx, started.id);
}

async function finished(ctx: Ctx, id: number): Promise<Backfill> {
  const b = await eventually(
    async () => (await getBackfill(ctx.o.sql, id))!,
    (b) => b.state !== 'running',
    30_000,
  );
  assert.is(b.state, 'done', b.error ?? '');
  return b;
}

async function customers(o: Observer): Promise<number> {
  return (await o.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM customers`)[0]!.n;
}

test('a dry run reports what it would do and writes nothing', async (ctx) => {
  // A catalogue customer with the email of one in the account: its create finds that one and links
  // it instead of making a second (match before create).
  await apiClient(ctx.rtws.url!).create({ name: 'Twin', email: 'twin@example.com' });
  await waitFor(
    async () => (await ctx.o.sql`SELECT 1 FROM customer_links`).length,
    (n) => n === 1,
  );
  const jsm = await jetstreamManager(ctx.o.nats);
  const before = {
    customers: await customers(ctx.o),
    messages: (await jsm.streams.info(ctx.t.names.streams.changes)).state.messages,
    backfills: (await ctx.o.sql`SELECT 1 FROM backfills`).length,
  };
  const dry = await dryRunBackfill(sources(ctx), 'stripe', {});
  assert.equal(dry.counts, { insert: EXISTING, orphan: 1, linked: 1 });
  assert.is(dry.scanned, EXISTING + 2);
  assert.equal(
    {
      customers: await customers(ctx.o),
      messages: (await jsm.streams.info(ctx.t.names.streams.changes)).state.messages,
      backfills: (await ctx.o.sql`SELECT 1 FROM backfills`).length,
    },
    before,
  );
});

test('each customer is imported once, through its actor; rtws_id goes with its first push', async (ctx) => {
  const before = await customers(ctx.o);
  const first = await run(ctx);
  assert.is(first.counts.insert, EXISTING);
  const all = await eventually(
    () => customers(ctx.o),
    (n) => n === before + EXISTING,
    30_000,
  );
  assert.is(all, before + EXISTING, 'every importable customer is in the catalogue');
  const c = (await ctx.stripe.customers.list({ email: 'existing3@example.com' })).data[0]!;
  const id = stripeBornId(c.id);
  const [row] = await ctx.o.sql<{ name: string; origin: string }[]>`
    SELECT name, origin FROM customers WHERE id = ${id}`;
  assert.equal({ ...row }, { name: 'Existing 3', origin: 'stripe' });
  // Linked and in sync, with nothing owed to Stripe: the id derives from the Stripe id.
  const api = apiClient(ctx.rtws.url!);
  const synced = await eventually(
    () => api.sync(id),
    (v) => v.targets.stripe?.status === 'synced' && v.version === 1,
    15_000,
  );
  assert.is(synced.targets.stripe!.external_id, c.id);
  assert.equal(synced.targets.stripe!.pending, []);
  const untouched = (await ctx.stripe.customers.retrieve(c.id)) as Stripe.Customer;
  assert.is(untouched.metadata.rtws_id, undefined, 'no call for rtws_id alone');
  // The first change rtws pushes to it carries rtws_id.
  await api.patch(id, { name: 'Existing 3, renamed' });
  const pushed = await eventually(
    async () => (await ctx.stripe.customers.retrieve(c.id)) as Stripe.Customer,
    (x) => x.name === 'Existing 3, renamed',
    15_000,
  );
  assert.is(pushed.metadata.rtws_id, id);
  const second = await run(ctx);
  assert.equal(second.counts, { linked: EXISTING + 1, orphan: 1 });
  await new Promise((r) => setTimeout(r, 1_000));
  assert.is(await customers(ctx.o), all, 'a second run changes nothing');
  let inStripe = 0;
  for await (const _ of ctx.stripe.customers.list({ limit: 100 })) inStripe++;
  assert.is(inStripe, EXISTING + 2, 'no Stripe customer was made');
});

test('write_back writes rtws_id onto each inserted customer at once', async (ctx) => {
  const late = await ctx.stripe.customers.create({ name: 'Late', email: 'late@example.com' });
  const done = await run(ctx, { write_back: true });
  assert.is(done.counts.insert, 1);
  const withId = await eventually(
    async () => (await ctx.stripe.customers.retrieve(late.id)) as Stripe.Customer,
    (x) => x.metadata.rtws_id !== undefined,
    15_000,
  );
  assert.is(withId.metadata.rtws_id, stripeBornId(late.id));
  assert.is(withId.name, 'Late');
});

test('an import that stopped resumes after its saved cursor', async (ctx) => {
  const page = (await ctx.stripe.customers.list({ limit: 100 })).data;
  const cursor = page[9]!.id;
  await ctx.o.sql`
    INSERT INTO backfills (source, state, cursor, scanned, counts)
    VALUES ('stripe', 'running', ${cursor}, 10, ${ctx.o.sql.json({ linked: 10 })})`;
  const [saved] = await ctx.o.sql<{ id: string }[]>`SELECT max(id) AS id FROM backfills`;
  const resumed = await finished(ctx, Number(saved!.id));
  assert.is(resumed.scanned, page.length, 'the first ten are not walked again');
  assert.is(resumed.counts.linked, page.length, 'the saved counts are carried on');
});

test('an import whose cursor customer was deleted since goes on from its creation second', async (ctx) => {
  const page = (await ctx.stripe.customers.list({ limit: 100 })).data;
  const at = page[9]!;
  await ctx.stripe.customers.del(at.id);
  const gone = await ctx.stripe.customers.list({ limit: 1, starting_after: at.id }).then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );
  assert.is(gone, 'resource_missing', 'Stripe refuses the saved cursor as it is');
  await ctx.o.sql`
    INSERT INTO backfills (source, state, cursor, scanned, counts)
    VALUES ('stripe', 'running', ${`${at.id}@${at.created}`}, 10, ${ctx.o.sql.json({ linked: 10 })})`;
  const [saved] = await ctx.o.sql<{ id: string }[]>`SELECT max(id) AS id FROM backfills`;
  const resumed = await finished(ctx, Number(saved!.id));
  const older = page.slice(10).map((c) => c.id);
  assert.ok(resumed.scanned >= 10 + older.length, `${resumed.scanned} scanned`);
  assert.equal(resumed.errors, 0);
});

test.run();
