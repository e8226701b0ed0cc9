// GET /customers/:id/timeline against a whole rtws with its sandbox emulators: a customer's create,
// its calls to Stripe and Salesforce with their outcomes, the Stripe events about it (as INBOUND
// received them and as its actor observed them), and a change made in Stripe, oldest first; with
// no field value in any summary.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Stripe from 'stripe';
import type { TimelineEntry } from '../../deploy/wiring/api/timeline-entry.ts';
import { eventually } from '../harness/stream.ts';
import { startSandboxRtws, type SandboxRtws } from '../harness/sandbox-rtws.ts';

const test = suite<{ s: SandboxRtws }>('GET /customers/:id/timeline');

test.before(async (ctx) => {
  ctx.s = await startSandboxRtws();
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

type Entry = TimelineEntry;

test('the history of a customer, from the API, the calls and Stripe', async (ctx) => {
  const { s } = ctx;
  const created = await s.api('POST', '/customers', {
    name: 'Ada Lovelace',
    email: 'ada@example.com',
  });
  assert.is(created.status, 201);
  const id = created.body.id as string;
  const synced = await eventually(
    () => s.api('GET', `/customers/${id}/sync`),
    (r) =>
      r.body.targets?.stripe?.status === 'synced' &&
      r.body.targets?.salesforce?.status === 'synced',
    30_000,
    200,
  );
  const stripeId = synced.body.targets.stripe.external_id as string;
  assert.match(stripeId, /^cus_/);
  const base = new URL(s.sandbox.stripe.url);
  const stripe = new Stripe(s.sandbox.config.stripe.secretKey!, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  await stripe.customers.update(stripeId, { phone: '+44 20 7946 0000' });

  const timeline = await eventually(
    () =>
      s.api<{ entries: Entry[]; more: boolean; pending: unknown[] }>(
        'GET',
        `/customers/${id}/timeline`,
      ),
    (r) => r.body.entries.some((e) => e.kind === 'decision'),
    30_000,
    200,
  );
  assert.is(timeline.status, 200);
  if (process.env.SHOW) console.log(JSON.stringify(timeline.body, null, 1));
  const entries = timeline.body.entries;
  const has = (kind: string, type: string) =>
    entries.find((e) => e.kind === kind && e.type === type);
  const create = has('fact', 'CustomerCreated');
  assert.ok(create, JSON.stringify(entries, null, 1));
  assert.is(create.origin, 'api');
  assert.is(create.summary, 'created v1');
  assert.is(create.stream, s.t.names.streams.changes);
  assert.is(create.subject, s.t.names.customerSubject(id));
  const call = has('outcome', 'StripeCustomerCreated');
  assert.ok(call);
  assert.is(call.origin, 'stripe');
  assert.match(call.summary, `Stripe customer created ${stripeId}`);
  assert.ok(has('outcome', 'SalesforceAccountCreated'));
  const event = has('stripe_event', 'customer.updated');
  assert.ok(event, 'the Stripe event, as INBOUND holds it');
  assert.is(event.stream, s.t.names.streams.inbound);
  assert.match(event.summary, new RegExp(`^customer\\.updated evt_\\w+ about ${stripeId}$`));
  const observed = entries.find(
    (e) => e.type === 'StripeCustomerObserved' && e.summary.startsWith('customer.updated'),
  );
  assert.ok(observed, 'the event as the actor saw it');
  assert.match(observed.summary, '(phone)');
  const fact = entries.find((e) => e.type === 'CustomerUpdated' && e.origin === 'stripe');
  assert.ok(fact, 'the change written back to Postgres');
  assert.match(fact.summary, /^updated v2 \(phone\), by the write for intent catalogue-\d+$/);
  // Oldest first.
  const times = entries.map((e) => e.at);
  assert.equal(times, [...times].sort());
  assert.ok(entries.indexOf(create) < entries.indexOf(call));
  const text = JSON.stringify(timeline.body);
  for (const value of ['Ada', 'ada@example.com', '7946'])
    assert.not.ok(text.includes(value), value);
  assert.equal(timeline.body.pending, []);

  const last2 = await s.api('GET', `/customers/${id}/timeline?limit=2`);
  assert.equal(last2.body.entries, entries.slice(-2));
  assert.is(last2.body.more, true);
});

test('an unknown customer is a 404; a bad limit a 400', async (ctx) => {
  const unknown = await ctx.s.api(
    'GET',
    '/customers/00000000-0000-4000-8000-000000000000/timeline',
  );
  assert.is(unknown.status, 404);
  const bad = await ctx.s.api(
    'GET',
    '/customers/00000000-0000-4000-8000-000000000000/timeline?limit=0',
  );
  assert.is(bad.status, 400);
});

test.run();
