// /backfills over HTTP against rtws with its runner, Postgres, JetStream and the Stripe emulator:
// bad input changes nothing; a dry run writes nothing; a backfill can be paused, refused twice,
// resumed and read to its end, with its ambiguous cases listed and its gauges on /metrics.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Stripe from 'stripe';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Rtws } from '../../deploy/rtws.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import {
  authHeaders,
  observe,
  startTestRtws,
  testEnvironment,
  type Observer,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { LIVE_KEY } from '../sync/stack.ts';

/** Three pages: long enough to pause between pages. */
const EXISTING = 230;

const test = suite<{
  t: TestEnvironment;
  o: Observer;
  emu: StripeEmulator;
  stripe: Stripe;
  rtws: Rtws;
}>('backfills over HTTP');

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
  for (let i = 0; i < EXISTING; i++)
    await ctx.stripe.customers.create({ name: `Existing ${i}`, email: `existing${i}@example.com` });
  // Invoices the account had: one paid, one open, and one of an ambiguous customer (below).
  const invoiceFor = async (customer: string, amount: number, paid = false) => {
    const draft = await ctx.stripe.invoices.create({
      customer,
      currency: 'eur',
      collection_method: 'send_invoice',
      days_until_due: 30,
      pending_invoice_items_behavior: 'exclude',
    });
    await ctx.stripe.invoiceItems.create({ customer, invoice: draft.id, amount, currency: 'eur' });
    const open = await ctx.stripe.invoices.finalizeInvoice(draft.id);
    if (paid) await ctx.stripe.invoices.pay(open.id, { paid_out_of_band: true });
  };
  const [first, second] = (await ctx.stripe.customers.list({ limit: 2 })).data;
  await invoiceFor(first!.id, 1_200, true);
  await invoiceFor(second!.id, 3_400);
  // Two Stripe customers share an email the catalogue also has: ambiguous, left for a person.
  await ctx.stripe.customers.create({ name: 'Dup one', email: 'dup@example.com' });
  const dup = await ctx.stripe.customers.create({ name: 'Dup two', email: 'DUP@example.com' });
  await invoiceFor(dup.id, 500);
  // One Stripe customer whose email one catalogue customer has: a match.
  await ctx.stripe.customers.create({ name: 'Solo in Stripe', email: 'Solo@Example.com' });
  // Catalogue rows loaded before capture existed (triggers off, as a bulk load does): never
  // published, so neither their actors nor any target knows them. Dup shares the two Stripe
  // customers' email; Solo has the one Stripe customer's.
  await ctx.o.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await tx`INSERT INTO customers (name, email) VALUES ('Dup', 'dup@example.com')`;
    await tx`INSERT INTO customers (name, email) VALUES ('Solo', 'solo@example.com')`;
  });
  await new Promise((r) => setTimeout(r, 1_100));
  ctx.rtws = await startTestRtws(ctx.t, {
    STRIPE_SECRET_KEY: LIVE_KEY,
    STRIPE_API_BASE: ctx.emu.url,
    STRIPE_WEBHOOK_SECRET: 'whsec_backfills',
    RTWS_CATCHUP_MARGIN_S: '0',
    // The backfills here are the ones the tests start.
    RTWS_AUTO_EXPORT: 'false',
  });
});
test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.emu?.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

async function call(ctx: { rtws: Rtws }, method: string, path: string, body?: unknown) {
  const res = await fetch(`${ctx.rtws.url}${path}`, {
    method,
    headers: {
      authorization: authHeaders().authorization!,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function footprint(ctx: { o: Observer; t: TestEnvironment; emu: StripeEmulator }) {
  const jsm = await jetstreamManager(ctx.o.nats);
  const count = async (table: string) =>
    (await ctx.o.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${ctx.o.sql(table)}`)[0]!.n;
  return {
    customers: await count('customers'),
    backfills: await count('backfills'),
    changes: (await jsm.streams.info(ctx.t.names.streams.changes)).state.messages,
    stripeWrites: ctx.emu.requests().filter((r) => r.method !== 'GET').length,
  };
}

test('bad input gets a 400 naming the field and starts nothing', async (ctx) => {
  const before = await footprint(ctx);
  const cases: [unknown, string][] = [
    [{ source: 'salesforce' }, 'source'],
    [{}, 'source'],
    [{ source: 'postgres', adopt_orphans: true }, 'adopt_orphans'],
    [{ source: 'postgres', write_back: true }, 'write_back'],
    [{ source: 'stripe', write_back: 'yes' }, 'write_back'],
    [{ source: 'stripe', objects: ['customer', 'subscription'] }, 'objects.1'],
    [{ source: 'postgres', objects: ['customer'] }, 'objects'],
    [{ source: 'stripe', speed: 'max' }, 'speed'],
  ];
  for (const [body, field] of cases) {
    const res = await call(ctx, 'POST', '/backfills', body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.is(res.body.field, field, JSON.stringify(res.body));
  }
  assert.is((await call(ctx, 'GET', '/backfills/999999')).status, 404);
  assert.is((await call(ctx, 'POST', '/backfills/999999/pause')).status, 404);
  assert.is((await call(ctx, 'GET', '/backfills/abc')).status, 400);
  assert.equal(await footprint(ctx), before);
});

test('a dry run reports every decision and writes nothing', async (ctx) => {
  const before = await footprint(ctx);
  const dry = await call(ctx, 'POST', '/backfills', { source: 'stripe', dry_run: true });
  assert.is(dry.status, 200);
  assert.is(dry.body.scanned, EXISTING + 3);
  assert.equal(dry.body.counts, { insert: EXISTING, ambiguous: 2, match: 1 });
  assert.is(dry.body.ambiguities, 2);
  assert.is(dry.body.decisions.length, 100, 'the first hundred, with their reasons');
  assert.ok(dry.body.decisions.every((d: { reason: string }) => d.reason.length > 0));
  assert.equal(await footprint(ctx), before);
});

test('a backfill is paused, refused twice, resumed and read to its end', async (ctx) => {
  // Each page takes a while, so the pause lands between pages.
  ctx.emu.delayRequests({ method: 'GET', path: '/v1/customers', ms: 400 });
  const started = await call(ctx, 'POST', '/backfills', { source: 'stripe' });
  assert.is(started.status, 202);
  const id = started.body.id as number;
  assert.is(started.body.state, 'running');
  const paused = await call(ctx, 'POST', `/backfills/${id}/pause`);
  assert.is(paused.status, 200);
  assert.is(paused.body.state, 'paused');
  const again = await call(ctx, 'POST', '/backfills', { source: 'stripe' });
  assert.is(again.status, 409);
  assert.match(again.body.detail, new RegExp(`backfill ${id} `));
  assert.is((await call(ctx, 'POST', `/backfills/${id}/pause`)).status, 409);

  // Paused, it stays where it stopped, once the page under way when it was paused is saved (each
  // page save moves updated_at; a page with its handovers can take seconds on a busy machine).
  const read = async () => (await call(ctx, 'GET', `/backfills/${id}`)).body;
  const pausedAt = paused.body.updated_at as string;
  const held = await eventually(read, (b) => b.updated_at !== pausedAt, 10_000, 100);
  await new Promise((r) => setTimeout(r, 2_000));
  assert.is((await call(ctx, 'GET', `/backfills/${id}`)).body.scanned, held.scanned);
  assert.ok(held.scanned < EXISTING + 3, `paused at ${held.scanned}`);

  assert.is((await call(ctx, 'POST', `/backfills/${id}/resume`)).body.state, 'running');
  const done = await eventually(
    async () => (await call(ctx, 'GET', `/backfills/${id}`)).body,
    (b) => b.state !== 'running',
    30_000,
  );
  assert.is(done.state, 'done', JSON.stringify(done));
  assert.is(done.scanned, EXISTING + 3);
  assert.equal(done.counts, { insert: EXISTING, ambiguous: 2, match: 1 });
  assert.is(done.total_estimate, EXISTING + 3);
  assert.is(done.eta_s, 0);
  assert.ok(done.rate_per_s > 0, `rate ${done.rate_per_s}`);
  assert.ok(done.ended_at, 'an end time');
  for (const move of ['pause', 'resume', 'cancel'])
    assert.is((await call(ctx, 'POST', `/backfills/${id}/${move}`)).status, 409, move);

  const ambiguities = (await call(ctx, 'GET', `/backfills/${id}/ambiguities`)).body;
  assert.is(ambiguities.data.length, 2);
  for (const a of ambiguities.data) {
    assert.is(a.email, 'dup@example.com');
    assert.is(a.customers.length, 1, 'the one catalogue customer with that email');
    assert.is(a.stripe_ids.length, 2, 'both Stripe customers with it');
  }
  const inserted = await eventually(
    async () =>
      (
        await ctx.o.sql<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM customers WHERE origin = 'stripe' AND name LIKE 'Existing %'`
      )[0]!.n,
    (n) => n === EXISTING,
    30_000,
  );
  assert.is(inserted, EXISTING);
  // Solo, whose actor had never seen it, is linked to the Stripe customer it matched: no second one.
  const solo = (await ctx.stripe.customers.list({ email: 'Solo@Example.com' })).data[0]!;
  const soloLink = await eventually(
    async () =>
      (
        await ctx.o.sql<{ external_id: string }[]>`
          SELECT l.external_id FROM customer_links l JOIN customers c ON c.id = l.customer_id
          WHERE c.name = 'Solo in Stripe' OR c.email = 'solo@example.com'`
      )[0]?.external_id,
    (id) => id !== undefined,
    20_000,
  );
  assert.is(soloLink, solo.id);
  const solos = await ctx.stripe.customers.search({ query: "email:'solo@example.com'" });
  assert.is(solos.data.length, 1, 'no second Stripe customer for Solo');

  const metrics = await (await fetch(`${ctx.rtws.url}/metrics`, { headers: authHeaders() })).text();
  assert.match(metrics, new RegExp(`rtws_backfill_scanned\\{source="stripe"\\} ${EXISTING + 3}`));
  assert.match(metrics, /rtws_backfill_decisions\{source="stripe",decision="ambiguous"\} 2/);
  assert.match(metrics, /rtws_backfill_running\{source="stripe"\} 0/);
});

test("an import with invoices records the account's invoices against their customers, once", async (ctx) => {
  const importWithInvoices = async () => {
    const started = await call(ctx, 'POST', '/backfills', {
      source: 'stripe',
      objects: ['customer', 'invoice'],
    });
    assert.is(started.status, 202, JSON.stringify(started.body));
    return eventually(
      async () => (await call(ctx, 'GET', `/backfills/${started.body.id}`)).body,
      (b) => b.state !== 'running',
      30_000,
    );
  };
  const first = await importWithInvoices();
  assert.is(first.state, 'done', JSON.stringify(first));
  assert.is(first.counts.invoice_record, 2, JSON.stringify(first.counts));
  assert.is(first.counts.invoice_customer_not_imported, 1, 'the ambiguous customer has none');
  const recorded = await eventually(
    () =>
      ctx.o.sql<{ status: string; total: number; origin: string }[]>`
        SELECT status, total, origin FROM invoices ORDER BY total`,
    (rows) => rows.length === 2,
    20_000,
  );
  assert.equal(
    recorded.map((r) => ({ ...r })),
    [
      { status: 'paid', total: 1_200, origin: 'stripe' },
      { status: 'open', total: 3_400, origin: 'stripe' },
    ],
  );
  const again = await importWithInvoices();
  assert.is(again.counts.invoice_known, 2, JSON.stringify(again.counts));
  assert.is(again.counts.invoice_record, undefined);
});

test('a cancelled backfill stops, and another of its source may start', async (ctx) => {
  const started = await call(ctx, 'POST', '/backfills', { source: 'postgres' });
  assert.is(started.status, 202);
  const cancelled = await call(ctx, 'POST', `/backfills/${started.body.id}/cancel`);
  // A short export may already be done; either way it is no longer active.
  assert.ok([200, 409].includes(cancelled.status), JSON.stringify(cancelled.body));
  const next = await call(ctx, 'POST', '/backfills', { source: 'postgres' });
  assert.is(next.status, 202, JSON.stringify(next.body));
  const list = (await call(ctx, 'GET', '/backfills?limit=2')).body;
  assert.equal(
    list.data.map((b: { id: number }) => b.id),
    [next.body.id, started.body.id],
  );
});

test.run();
