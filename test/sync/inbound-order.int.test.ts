// One Stripe customer's events, mapped in order while the workers change: an api process receives
// the webhooks, one worker runs, a second joins and the first leaves while dashboard edits keep
// coming. Postgres ends with the last edit, and the customer's facts landed in CHANGES in the
// order its events were stored in INBOUND, each once. Events stored on the subjects from before
// partitioning (an older rtws, a DLQ redrive) are still mapped, by the shared durable.
import { jetstream } from '@nats-io/jetstream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Stripe from 'stripe';
import type { Rtws } from '../../deploy/rtws.ts';
import { inboundPartition } from '../../core/subjects.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';
import { stripeEventHistory } from '../../adapters/jetstream/stripe-event-history.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { eventually, readStream, waitFor } from '../harness/stream.ts';
import { LIVE_KEY } from './stack.ts';

const SECRET = 'whsec_inbound_order';

interface Ctx {
  t?: TestEnvironment;
  emu?: StripeEmulator;
  stripe?: Stripe;
  api?: Rtws;
  workers: Rtws[];
}

const test = suite<Ctx>('inbound order across workers', { workers: [] });

const workerEnv = (ctx: Ctx) => ({
  STRIPE_SECRET_KEY: LIVE_KEY,
  STRIPE_API_BASE: ctx.emu!.url,
  STRIPE_WEBHOOK_SECRET: SECRET,
  // Catch-up only at start and on takeovers: the last test counts on no other copy of its event.
  RTWS_CATCHUP_INTERVAL_S: '0',
});

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.emu = await startStripeEmulator({
    port: 0,
    searchLagMs: 0,
    webhookRetryScheduleMs: [200, 400, 800],
  });
  const base = new URL(ctx.emu.url);
  // The dashboard: no rtws idempotency key, so every edit is a change of its own.
  ctx.stripe = new Stripe(LIVE_KEY, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  ctx.api = await startTestRtws(ctx.t, { ...workerEnv(ctx), RTWS_ROLES: 'api,publisher' });
  ctx.emu.registerWebhookEndpoint(`${ctx.api.url}/webhooks/stripe`, SECRET);
  ctx.workers.push(await startTestRtws(ctx.t, { ...workerEnv(ctx), RTWS_ROLES: 'worker' }));
});

test.after(async (ctx) => {
  for (const w of ctx.workers) await w.close();
  await ctx.api?.close();
  await ctx.emu?.close();
  await ctx.t?.cleanup();
});

const nameOf = async (ctx: Ctx, id: string) => {
  const [r] = await ctx.api!.sql<{ name: string }[]>`SELECT name FROM customers WHERE id = ${id}`;
  return r?.name;
};

test("a customer's events are mapped in stream order while a worker joins and another leaves", async (ctx) => {
  const t = ctx.t!;
  const stripe = ctx.stripe!;
  const cus = await stripe.customers.create({ name: 'Order 0', email: 'order@example.com' });
  const id = stripeBornId(cus.id);
  assert.is(
    await waitFor(
      () => nameOf(ctx, id),
      (n) => n === 'Order 0',
      15_000,
    ),
    'Order 0',
  );
  let n = 0;
  // Rounds of edits whose webhooks are held, then let go at once: a burst of the customer's events
  // in INBOUND, which two workers pulling one durable would map side by side.
  const edits = async (rounds: number) => {
    for (let round = 0; round < rounds; round++) {
      ctx.emu!.pauseWebhooks();
      for (let i = 0; i < 5; i++) {
        n++;
        await stripe.customers.update(cus.id, {
          name: `Order ${n}`,
          metadata: { step: String(n) },
        });
      }
      ctx.emu!.resumeWebhooks();
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // A second worker joins (the first hands it half the partitions), then the first leaves (the
  // second takes them all): the customer's partition moves at least once, mid-sequence.
  const first = ctx.workers[0]!;
  const joining = startTestRtws(t, { ...workerEnv(ctx), RTWS_ROLES: 'worker' });
  await Promise.all([edits(4), joining.then((w) => ctx.workers.push(w))]);
  // Until the first has handed the second its share, and a while both run.
  await edits(24);
  await Promise.all([edits(4), first.close()]);
  ctx.workers.splice(ctx.workers.indexOf(first), 1);
  await edits(8);
  const last = `Order ${n}`;

  assert.is(
    await waitFor(
      () => nameOf(ctx, id),
      (name) => name === last,
      45_000,
    ),
    last,
    'Postgres holds the last edit',
  );
  await ctx.emu!.flushWebhooks();

  // Every event about the customer, as INBOUND stored them: all in its partition.
  const nats = ctx.api!.nats;
  const partition = inboundPartition(cus.id, t.names.partitions);
  const aboutIt = (m: { message: unknown }) =>
    (m.message as { data: { object: { id: string } } }).data.object.id === cus.id;
  const stored = (
    await readStream(
      nats,
      t.names.streams.inbound,
      t.names.inboundPartitionFilter('stripe', 'customer.*', partition),
    )
  ).filter(aboutIt);
  const inbound = stored.map((m) => m.msgId!);
  assert.ok(inbound.length > n, `${inbound.length} events stored`);
  // The echoes of rtws's own writes (its rtws_id written back) may end at mapping; the rest may not.
  const ours = new Set(
    stored
      .filter((m) =>
        (
          m.message as { request?: { idempotency_key?: string | null } }
        ).request?.idempotency_key?.startsWith('rtws-'),
      )
      .map((m) => m.msgId!),
  );
  const theirs = inbound.filter((e) => !ours.has(e));
  // Mapped facts, in the order they landed on the customer's subject in CHANGES.
  const mapped = await eventually(
    async () =>
      (await readStream(nats, t.names.streams.changes, t.names.customerHistoryFilter(id)))
        .filter((m) => (m.message as { type: string }).type === 'StripeCustomerObserved')
        .map((m) => (m.message as unknown as { data: { eventId: string } }).data.eventId),
    (ids) => ids.filter((e) => !ours.has(e)).length >= theirs.length,
    15_000,
  );
  assert.equal(
    mapped.filter((e) => !ours.has(e)),
    theirs,
    'every dashboard edit mapped once, in stream order',
  );
  assert.equal(
    mapped,
    inbound.filter((e) => mapped.includes(e)),
    'and our echoes that were mapped, once each, in their places',
  );
  // What `npm run replay -- --stripe <cus_…>` prints: the same events, in the same order.
  const history = await stripeEventHistory(nats, t.names, cus.id);
  assert.is(history.partition, partition);
  assert.equal(
    history.events.map((e) => (e.message as { id: string }).id),
    inbound,
  );
});

test('an event stored on the subject from before partitioning is still mapped', async (ctx) => {
  const t = ctx.t!;
  const stripe = ctx.stripe!;
  const emu = ctx.emu!;
  emu.pauseWebhooks();
  try {
    const cus = await stripe.customers.create({ name: 'Legacy' });
    await stripe.customers.update(cus.id, { name: 'Legacy II' });
    const updated = (await stripe.events.list({ type: 'customer.updated', limit: 20 })).data.find(
      (e) => (e.data.object as { id?: string }).id === cus.id,
    )!;
    // As an older rtws stored it: no partition token.
    const ack = await jetstream(ctx.api!.nats).publish(
      t.names.legacyInboundSubject('stripe', 'customer.updated'),
      JSON.stringify(updated),
      { msgID: updated.id },
    );
    assert.not.ok(ack.duplicate, 'the only copy of the event');
    // An update before its created inserts the customer: only the shared durable can have done it.
    const id = stripeBornId(cus.id);
    assert.is(
      await waitFor(
        () => nameOf(ctx, id),
        (name) => name === 'Legacy II',
        15_000,
      ),
      'Legacy II',
    );
    // The catch-up may meanwhile have stored the customer's other events on their partition.
    const history = await stripeEventHistory(ctx.api!.nats, t.names, cus.id);
    const legacy = history.events.filter(
      (e) => e.subject === t.names.legacyInboundSubject('stripe', 'customer.updated'),
    );
    assert.equal(
      legacy.map((e) => (e.message as { id: string }).id),
      [updated.id],
      'found on the unpartitioned subject too',
    );
  } finally {
    emu.resumeWebhooks();
  }
});

test.run();
