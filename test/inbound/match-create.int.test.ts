// Match before create, end to end: real Postgres, real JetStream, the Stripe emulator over HTTP.
// A new catalogue customer whose email Stripe already has once, unlinked, is linked to that Stripe
// customer instead of getting a second one; the pair's differences are settled by the default
// policy (Stripe keeps its values) and listed as `match` conflicts. Several candidates hold the
// create for an operator. With RTWS_MATCH_BY=none, a create happens as before.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Stripe from 'stripe';
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
import { apiClient, type ApiClient } from '../sync/api-client.ts';
import { LIVE_KEY } from '../sync/stack.ts';
import { linked, quiet, rowWhen, type TwoWay } from './stack.ts';

type Stack = TwoWay & { existing: Stripe.Customer[] };

/**
 * An account in use before rtws: `existing` customers are created first and never seen by rtws's
 * webhook endpoint or its catch-up (which starts from its first start); then rtws starts.
 */
async function stackWith(
  existing: Stripe.CustomerCreateParams[],
  env: Record<string, string> = {},
): Promise<Stack> {
  const t: TestEnvironment = await testEnvironment();
  const o: Observer = await observe(t);
  const emu: StripeEmulator = await startStripeEmulator({
    port: 0,
    searchLagMs: 0,
    webhookRetryScheduleMs: [200, 400, 800],
  });
  const base = new URL(emu.url);
  const stripe = new Stripe(LIVE_KEY, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const made: Stripe.Customer[] = [];
  for (const params of existing) made.push(await stripe.customers.create(params));
  // Events are dated in whole seconds: the catch-up's first start is after theirs.
  await new Promise((r) => setTimeout(r, 1_100));
  const secret = 'whsec_match_tests';
  const rtws: Rtws = await startTestRtws(t, {
    ...env,
    STRIPE_SECRET_KEY: LIVE_KEY,
    STRIPE_API_BASE: emu.url,
    STRIPE_WEBHOOK_SECRET: secret,
    RTWS_CATCHUP_MARGIN_S: '0',
  });
  emu.registerWebhookEndpoint(`${rtws.url}/webhooks/stripe`, secret);
  const api: ApiClient = apiClient(rtws.url!);
  const one = (): never => {
    throw new Error('one process, no worker of its own');
  };
  return {
    t,
    o,
    emu,
    stripe,
    rtws,
    api,
    secret,
    sf: undefined,
    restartWorker: async () => one(),
    killWorker: async () => one(),
    spawnWorker: one,
    stopRtws: async () => one(),
    startRtws: async () => one(),
    existing: made,
    async close() {
      await rtws.close();
      await emu.close();
      await o.close();
      await t.cleanup();
    },
  };
}

async function withEmail(s: Stack, email: string): Promise<Stripe.Customer[]> {
  const out: Stripe.Customer[] = [];
  for await (const c of s.stripe.customers.list({ limit: 100 }))
    if (c.email?.toLowerCase() === email.toLowerCase()) out.push(c);
  return out;
}

const retrieve = async (s: Stack, id: string) =>
  (await s.stripe.customers.retrieve(id)) as Stripe.Customer;

async function get<T>(s: Stack, path: string): Promise<T> {
  const res = await fetch(`${s.rtws.url}${path}`, { headers: authHeaders() });
  assert.is(res.status, 200, path);
  return (await res.json()) as T;
}

interface Conflicts {
  data: {
    field: string;
    postgres_value: unknown;
    stripe_value: unknown;
    winner: string;
    reason: string;
  }[];
}

const EXISTING: Stripe.CustomerCreateParams[] = [
  { name: 'Ada Stripe', email: 'Ada@Example.com', phone: '+1 555 0101' },
  { name: 'Grace', email: 'grace@example.com' },
  { name: 'Twin One', email: 'twin@example.com' },
  { name: 'Twin Two', email: 'Twin@example.com' },
];

const existing = (s: Stack, name: string) => s.existing.find((c) => c.name === name)!;

const matching = suite<{ s: Stack }>('match before create');
matching.before(async (ctx) => {
  ctx.s = await stackWith(EXISTING);
});
matching.after(async (ctx) => {
  await ctx.s?.close();
});

matching('an unlinked Stripe customer with the email is linked, not duplicated', async ({ s }) => {
  const ada = existing(s, 'Ada Stripe');
  const { id } = await s.api.create({
    name: 'Ada Catalogue',
    email: 'ada@example.com',
    metadata: { plan: 'gold' },
  });
  assert.is(await linked(s, id), ada.id, 'linked to the customer Stripe already had');
  // The catalogue takes what Stripe had; Stripe takes what it lacked, and our id.
  const row = await rowWhen(s, id, (r) => r.name === 'Ada Stripe', 15_000);
  assert.is(row?.name, 'Ada Stripe');
  assert.is(row?.phone, '+1 555 0101');
  assert.is(row?.email, 'ada@example.com');
  const there = await eventually(
    () => retrieve(s, ada.id),
    (c) => c.metadata.rtws_id === id && c.metadata.plan === 'gold',
    15_000,
  );
  assert.equal(
    {
      name: there.name,
      email: there.email,
      rtws_id: there.metadata.rtws_id,
      plan: there.metadata.plan,
    },
    { name: 'Ada Stripe', email: 'Ada@Example.com', rtws_id: id, plan: 'gold' },
  );
  await quiet(s, 500);
  const all = await withEmail(s, 'ada@example.com');
  assert.equal(
    all.map((c) => c.id),
    [ada.id],
    'exactly one Stripe customer has the email',
  );
  const conflicts = await get<Conflicts>(s, `/conflicts?customer_id=${id}`);
  const byField = Object.fromEntries(conflicts.data.map((c) => [c.field, c]));
  const name = byField.name;
  assert.equal(
    { postgres: name?.postgres_value, stripe: name?.stripe_value, winner: name?.winner },
    { postgres: 'Ada Catalogue', stripe: 'Ada Stripe', winner: 'stripe' },
  );
  assert.match(name?.reason ?? '', /^match: /);
  assert.is(
    byField['metadata.plan']?.winner,
    'postgres',
    'Stripe had no plan: the catalogue fills it',
  );
  assert.ok(
    conflicts.data.every((c) => c.reason.startsWith('match:')),
    'every difference is a match conflict',
  );
  const view = await s.api.sync(id);
  assert.is(view.targets.stripe?.status, 'synced');
});

matching(
  'a customer made in the dashboard is paired with the unlinked catalogue customer of its email',
  async ({ s }) => {
    // A catalogue row from before capture: no actor has heard of it, and Stripe has no customer.
    const id = await s.o.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      const [r] = await tx<{ id: string }[]>`
      INSERT INTO customers (name, email) VALUES ('Hedy Catalogue', 'hedy@example.com') RETURNING id`;
      return r!.id;
    });
    const dash = await s.stripe.customers.create({
      name: 'Hedy Dashboard',
      email: 'Hedy@Example.com',
    });
    // The person corrects the email a moment later: the pair holds.
    await s.stripe.customers.update(dash.id, { email: 'hedy.l@example.com' });
    assert.is(await linked(s, id), dash.id, 'linked to the customer made in the dashboard');
    const there = await eventually(
      () => retrieve(s, dash.id),
      (c) => c.metadata.rtws_id === id,
      15_000,
    );
    assert.is(there.metadata.rtws_id, id);
    const row = await rowWhen(s, id, (r) => r.name === 'Hedy Dashboard', 15_000);
    assert.is(row?.name, 'Hedy Dashboard', 'the Stripe customer keeps its values');
    await quiet(s, 500);
    assert.equal(
      (await withEmail(s, 'hedy.l@example.com')).map((c) => c.id),
      [dash.id],
      'no second Stripe customer',
    );
    const corrected = await rowWhen(s, id, (r) => r.email === 'hedy.l@example.com', 15_000);
    assert.is(corrected?.email, 'hedy.l@example.com', 'the correction flows');
    const twins = await s.o.sql<{ id: string }[]>`
    SELECT id FROM customers WHERE lower(email) IN ('hedy@example.com', 'hedy.l@example.com')`;
    assert.equal(
      twins.map((r) => r.id),
      [id],
      'no Stripe-born twin in the catalogue',
    );
  },
);

matching(
  'two concurrent creates with the email Stripe has once: one links, one creates',
  async ({ s }) => {
    const grace = existing(s, 'Grace');
    const [a, b] = await Promise.all([
      s.api.create({ name: 'Grace A', email: 'grace@example.com' }),
      s.api.create({ name: 'Grace B', email: 'Grace@Example.com' }),
    ]);
    const links = [await linked(s, a.id), await linked(s, b.id)];
    assert.ok(links.includes(grace.id), 'one of them took the existing customer');
    assert.is.not(links[0], links[1], 'never both');
    await quiet(s, 500);
    const all = await withEmail(s, 'grace@example.com');
    assert.is(all.length, 2, 'the second catalogue customer has one of its own');
    assert.equal(all.map((c) => c.metadata.rtws_id).sort(), [a.id, b.id].sort());
  },
);

matching('a new email is created as before, once', async ({ s }) => {
  const { id } = await s.api.create({ name: 'Newcomer', email: 'new@example.com' });
  const stripeId = await linked(s, id);
  assert.is((await retrieve(s, stripeId)).metadata.rtws_id, id);
  assert.is((await withEmail(s, 'new@example.com')).length, 1);
});

matching(
  'several unlinked candidates hold the create until an operator picks one',
  async ({ s }) => {
    const one = existing(s, 'Twin One');
    const two = existing(s, 'Twin Two');
    const { id } = await s.api.create({ name: 'Twin', email: 'twin@example.com' });
    const held = await eventually(
      () => s.api.sync(id),
      (v) => v.targets.stripe?.status === 'failed',
      15_000,
    );
    assert.is(held.targets.stripe?.status, 'failed');
    const reason = held.targets.stripe?.last_error?.reason ?? '';
    assert.match(reason, /ambiguous match/);
    assert.ok(reason.includes(one.id) && reason.includes(two.id), reason);
    assert.is((await withEmail(s, 'twin@example.com')).length, 2, 'nothing was created');
    // The operator says which one is this customer, then retries the letter.
    await s.stripe.customers.update(two.id, { metadata: { rtws_id: id } });
    const letters = await eventually(
      () => get<{ data: { id: number; reason: string }[] }>(s, '/dlq'),
      (l) => l.data.some((x) => x.reason.includes('ambiguous match')),
      10_000,
    );
    const letter = letters.data.find((x) => x.reason.includes('ambiguous match'))!;
    const retried = await fetch(`${s.rtws.url}/dlq/${letter.id}/retry`, {
      method: 'POST',
      headers: { authorization: authHeaders().authorization! },
    });
    assert.is(retried.status, 202);
    assert.is(await linked(s, id, 15_000), two.id);
    await quiet(s, 500);
    assert.is((await withEmail(s, 'twin@example.com')).length, 2, 'still no third customer');
    assert.is((await retrieve(s, one.id)).metadata.rtws_id, undefined, 'the other is left alone');
  },
);

matching.run();

const off = suite<{ s: Stack }>('RTWS_MATCH_BY=none');
off.before(async (ctx) => {
  ctx.s = await stackWith([{ name: 'Lin Stripe', email: 'lin@example.com' }], {
    RTWS_MATCH_BY: 'none',
  });
});
off.after(async (ctx) => {
  await ctx.s?.close();
});

off('a create happens as before, even when Stripe has the email', async ({ s }) => {
  const lin = existing(s, 'Lin Stripe');
  const { id } = await s.api.create({ name: 'Lin Catalogue', email: 'lin@example.com' });
  const stripeId = await linked(s, id);
  assert.is.not(stripeId, lin.id);
  await quiet(s, 500);
  assert.is((await withEmail(s, 'lin@example.com')).length, 2);
  assert.is((await retrieve(s, lin.id)).metadata.rtws_id, undefined);
  const row = await rowWhen(s, id, () => true);
  assert.is(row?.name, 'Lin Catalogue');
});

off.run();
