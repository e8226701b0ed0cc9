// The Stripe executor against the emulator, through the official SDK: each intent, each failure
// class, and the rule that an uncertain create is looked up rather than resent blindly.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type Stripe from 'stripe';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { executeStripeIntent } from '../../adapters/stripe/executor.ts';
import { executeInvoiceIntent } from '../../adapters/stripe/invoice-executor.ts';
import type { StripeIntent } from '../../actors/customer/index.ts';
import type { StripeInvoiceIntent } from '../../actors/invoice/index.ts';

const test = suite<{ emulator: StripeEmulator; stripe: Stripe; raw: Stripe }>('Stripe executor');

test.before(async (ctx) => {
  ctx.emulator = await startStripeEmulator({ port: 0 });
  ctx.stripe = stripeClient({
    secretKey: 'sk_test_executor',
    apiBase: ctx.emulator.url,
    timeoutMs: 1_000,
  });
});
test.after(async (ctx) => {
  await ctx.emulator?.close();
});
test.before.each((ctx) => {
  ctx.emulator.reset();
});

const T0 = 1_800_000_000_000;
let seq = 0;

function intent<T extends StripeIntent['type']>(
  type: T,
  params: Extract<StripeIntent, { type: T }>['params'],
  key: string | null,
  attempt = 1,
): StripeIntent {
  const op = (
    {
      CreateStripeCustomer: 'create',
      UpdateStripeCustomer: 'update',
      DeleteStripeCustomer: 'delete',
      FindStripeCustomer: 'find',
      FetchStripeCustomer: 'fetch',
    } as const
  )[type];
  return {
    id: `stripe-${++seq}`,
    type,
    op,
    target: 'stripe',
    key,
    version: 1,
    attempt,
    failures: 0,
    notBefore: T0,
    recordedAt: T0,
    params,
  } as StripeIntent;
}

const fields = (id: string) => ({
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  phone: null,
  address: {
    line1: '1 Analytical St',
    line2: null,
    city: 'London',
    state: null,
    postal_code: 'N1',
    country: 'GB',
  },
  metadata: { plan: 'gold', rtws_id: id },
});

async function allCustomers(stripe: Stripe): Promise<Stripe.Customer[]> {
  const out: Stripe.Customer[] = [];
  for await (const c of stripe.customers.list({ limit: 100 })) out.push(c);
  return out;
}

test('create: one Stripe customer carrying rtws_id; a resend with the same key creates nothing', async ({
  stripe,
}) => {
  const create = intent('CreateStripeCustomer', fields('cust-1'), 'rtws-cust-1-create');
  const first = await executeStripeIntent(stripe, create, () => T0);
  assert.is(first.type, 'StripeCustomerCreated');
  const again = await executeStripeIntent(stripe, create, () => T0);
  assert.is(again.type, 'StripeCustomerCreated');
  assert.is(
    (again.data as { externalId: string }).externalId,
    (first.data as { externalId: string }).externalId,
  );
  const all = await allCustomers(stripe);
  assert.is(all.length, 1);
  assert.is(all[0]!.metadata.rtws_id, 'cust-1');
  assert.is(all[0]!.address?.city, 'London');
  assert.is(all[0]!.phone, null);
});

test('a post-commit 500 on create is uncertain; the lookup finds the customer, and nothing is doubled', async ({
  stripe,
  emulator,
}) => {
  emulator.failNext({ method: 'POST', path: '/v1/customers', status: 500, phase: 'after' });
  const create = intent('CreateStripeCustomer', fields('cust-2'), 'rtws-cust-2-create');
  const failed = await executeStripeIntent(stripe, create, () => T0);
  assert.is(failed.type, 'StripeCallFailed');
  assert.is((failed.data as { failure: string }).failure, 'uncertain');
  // The same key replays the saved 500: resending can never recover, which is why we look up.
  const replayed = await executeStripeIntent(stripe, create, () => T0);
  assert.is((replayed.data as { failure?: string }).failure, 'uncertain');
  const found = await executeStripeIntent(
    stripe,
    intent(
      'FindStripeCustomer',
      { rtwsId: 'cust-2', createdSince: Math.floor(Date.now() / 1000) - 60 },
      null,
    ),
    () => T0,
  );
  assert.is(found.type, 'StripeCustomerFound');
  assert.is((found.data as { fields: { email: string } }).fields.email, 'ada@example.com');
  assert.equal(
    (found.data as { fields: { metadata: object } }).fields.metadata,
    { plan: 'gold' },
    'rtws_id is not a synced field',
  );
  assert.is((await allCustomers(stripe)).length, 1);
});

test('a lookup that finds nothing says so', async ({ stripe }) => {
  const found = await executeStripeIntent(
    stripe,
    intent('FindStripeCustomer', { rtwsId: 'nobody', createdSince: 0 }, null),
  );
  assert.is(found.type, 'StripeCustomerNotFound');
});

test('update: only the patched fields change; a null unsets; the recorded key is sent', async ({
  stripe,
  emulator,
}) => {
  const c = await stripe.customers.create({
    name: 'Bo',
    email: 'bo@example.com',
    phone: '+1 555',
    metadata: { a: '1', b: '2', rtws_id: 'x' },
  });
  const out = await executeStripeIntent(
    stripe,
    intent(
      'UpdateStripeCustomer',
      {
        externalId: c.id,
        patch: { email: 'new@example.com', phone: null, metadata: { a: null, c: '3' } },
      },
      'rtws-x-2-update',
    ),
  );
  assert.is(out.type, 'StripeCustomerUpdated');
  const after = (await stripe.customers.retrieve(c.id)) as Stripe.Customer;
  assert.is(after.name, 'Bo');
  assert.is(after.email, 'new@example.com');
  assert.is(after.phone, null);
  assert.equal(after.metadata, { b: '2', c: '3', rtws_id: 'x' });
  const sent = emulator.requests({ method: 'POST', path: `/v1/customers/${c.id}` });
  assert.equal(
    sent.map((r) => r.idempotencyKey),
    ['rtws-x-2-update'],
  );
});

test('404 on update is not_found; delete is done; a second delete is not_found', async ({
  stripe,
}) => {
  const c = await stripe.customers.create({ name: 'Gone' });
  const del = await executeStripeIntent(
    stripe,
    intent('DeleteStripeCustomer', { externalId: c.id }, null),
  );
  assert.is(del.type, 'StripeCustomerDeleted');
  const again = await executeStripeIntent(
    stripe,
    intent('DeleteStripeCustomer', { externalId: c.id }, null),
  );
  assert.is((again.data as { failure?: string }).failure, 'not_found');
  const upd = await executeStripeIntent(
    stripe,
    intent('UpdateStripeCustomer', { externalId: c.id, patch: { name: 'x' } }, 'rtws-g-2-update'),
  );
  assert.is((upd.data as { failure?: string }).failure, 'not_found');
});

test("429 is rate_limited; a timeout is no_response (the request may still be running); a 400 is permanent with Stripe's message", async ({
  stripe,
  emulator,
}) => {
  emulator.failNext({
    method: 'POST',
    path: '/v1/customers',
    status: 429,
    error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' },
  });
  const limited = await executeStripeIntent(
    stripe,
    intent('CreateStripeCustomer', fields('r'), 'rtws-r-create'),
  );
  assert.is((limited.data as { failure?: string }).failure, 'rate_limited');

  emulator.delayRequests({ method: 'POST', path: '/v1/customers', ms: 2_000, count: 1 });
  const slow = await executeStripeIntent(
    stripe,
    intent('CreateStripeCustomer', fields('s'), 'rtws-s-create'),
  );
  assert.is((slow.data as { failure?: string }).failure, 'no_response');

  const bad = await executeStripeIntent(
    stripe,
    intent('CreateStripeCustomer', { ...fields('b'), email: 'not an email' }, 'rtws-b-create'),
  );
  assert.is((bad.data as { failure?: string }).failure, 'permanent');
  assert.match((bad.data as { reason: string }).reason, /400/);
  assert.is((bad.data as { attempt: number }).attempt, 1);
});

test('a reused key with other parameters is an idempotency conflict (look it up), never a failure', async ({
  stripe,
}) => {
  await executeStripeIntent(stripe, intent('CreateStripeCustomer', fields('k'), 'rtws-k-create'));
  const clash = await executeStripeIntent(
    stripe,
    intent('CreateStripeCustomer', { ...fields('k'), name: 'Other' }, 'rtws-k-create'),
  );
  assert.is((clash.data as { failure?: string }).failure, 'idempotency_conflict');
});

test('a push decided before a takeover is held while a field it sets moved on Stripe', async ({
  emulator,
  stripe,
}) => {
  const c = await stripe.customers.create({ name: 'Known', email: 'known@example.com' });
  const push = (key: string) =>
    intent(
      'UpdateStripeCustomer',
      { externalId: c.id, patch: { name: 'Ours' }, base: { name: 'Known' } },
      key,
    );
  // Someone else changed the email only: the push does not touch it, so it goes.
  await stripe.customers.update(c.id, { email: 'other@example.com' });
  const sent = await executeStripeIntent(stripe, push('rtws-k-1'), () => T0, {
    decidedEarlier: true,
  });
  assert.is(sent.type, 'StripeCustomerUpdated');
  // Now the name moves under us: held, and nothing is written.
  await stripe.customers.update(c.id, { name: 'Dashboard' });
  emulator.clearRequests();
  const held = await executeStripeIntent(stripe, push('rtws-k-2'), () => T0, {
    decidedEarlier: true,
  });
  assert.is(held.type, 'StripeCallFailed');
  assert.is((held.data as { failure: string }).failure, 'target_moved');
  assert.match((held.data as { reason: string }).reason, /name changed on Stripe/);
  assert.is(emulator.requests({ method: 'POST' }).length, 0, 'no write was sent');
  assert.is(((await stripe.customers.retrieve(c.id)) as Stripe.Customer).name, 'Dashboard');
  // A push decided under this worker's lease is not checked: its events are decided in order.
  const live = await executeStripeIntent(stripe, push('rtws-k-3'), () => T0);
  assert.is(live.type, 'StripeCustomerUpdated');
  // A push that sets no field, only our id, overwrites nothing: sent without a retrieve.
  emulator.clearRequests();
  const writeBack = intent(
    'UpdateStripeCustomer',
    { externalId: c.id, patch: {}, base: {}, setRtwsId: 'ours' },
    'rtws-k-4',
  );
  const tagged = await executeStripeIntent(stripe, writeBack, () => T0, { decidedEarlier: true });
  assert.is(tagged.type, 'StripeCustomerUpdated');
  assert.equal(
    emulator.requests().map((r) => r.method),
    ['POST'],
    'one write, no retrieve',
  );
});

const HOUR = 3_600_000;

test('a create recorded over 23 h ago is looked up, not sent: Stripe may have forgotten its key', async ({
  stripe,
}) => {
  const create = intent('CreateStripeCustomer', fields('cust-old'), 'rtws-cust-old-create', 2);
  const late = await executeStripeIntent(stripe, create, () => T0 + 23 * HOUR + 60_000);
  assert.is(late.type, 'StripeCallFailed');
  assert.equal(late.data, {
    intentId: create.id,
    failure: 'uncertain',
    reason:
      'not sent: recorded 23 h ago, and Stripe keeps an idempotency key for 24 h; looked up first',
    attempt: 2,
  });
  assert.equal(await allCustomers(stripe), []);
  const inTime = await executeStripeIntent(stripe, create, () => T0 + 23 * HOUR);
  assert.is(inTime.type, 'StripeCustomerCreated');
});

test("an invoice's keyed write recorded over 23 h ago is looked up, not sent; a read is sent", async ({
  stripe,
}) => {
  const customer = await stripe.customers.create({ name: 'Ada' });
  const common = { attempt: 1, notBefore: T0, recordedAt: T0, target: 'stripe' } as const;
  const draft: StripeInvoiceIntent = {
    ...common,
    id: 'invoice-1',
    type: 'CreateStripeInvoice',
    key: 'rtws-inv-old-draft',
    params: { customer: customer.id, currency: 'usd', daysUntilDue: 30, metadata: {} },
  };
  const late = await executeInvoiceIntent(stripe, draft, () => T0 + 25 * HOUR);
  assert.is(late.type, 'InvoiceCallFailed');
  assert.is((late.data as { failure: string }).failure, 'uncertain');
  assert.equal((await stripe.invoices.list({ customer: customer.id })).data, []);
  const inspect: StripeInvoiceIntent = {
    ...common,
    id: 'invoice-2',
    type: 'InspectStripeInvoice',
    key: null,
    params: { customer: customer.id, rtwsInvoiceId: 'old', invoice: null, createdSince: 0 },
  };
  const read = await executeInvoiceIntent(stripe, inspect, () => T0 + 25 * HOUR);
  assert.equal(read, {
    type: 'StripeInvoiceInspected',
    data: { intentId: 'invoice-2', found: null },
    at: T0 + 25 * HOUR,
  });
});

test.run();
