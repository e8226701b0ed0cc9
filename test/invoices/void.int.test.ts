// Voids through the API on one stack with real webhooks: an open invoice is voided in Stripe under
// rtws's key and shows `void`; a pending one (its customer not in Stripe yet) is cancelled and never
// created there; one created in Stripe directly is voided too; an unknown, a malformed and a paid
// invoice (and a draft made in Stripe) are refused with nothing written.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Invoice } from '../../core/invoice.ts';
import { authHeaders } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { linked, quiet, twoWay, type TwoWay } from '../inbound/stack.ts';

const test = suite<{ s: TwoWay }>('voiding invoices');

test.before(async (ctx) => {
  ctx.s = await twoWay();
});

test.after(async (ctx) => {
  await ctx.s?.close();
});

const BODY = { currency: 'usd', items: [{ description: 'Seats', amount: 2_000, quantity: 2 }] };

async function call(
  s: TwoWay,
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
) {
  // No content type without a body: Fastify refuses an empty JSON body.
  const { 'content-type': _json, ...bare } = authHeaders();
  const res = await fetch(`${s.rtws.url}${path}`, {
    method,
    ...(body === undefined
      ? { headers: { ...bare, ...extra } }
      : { headers: { ...authHeaders(), ...extra }, body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    replayed: res.headers.get('idempotent-replayed'),
    json: await res.json(),
  };
}

async function requested(s: TwoWay, customerId: string): Promise<Invoice> {
  const res = await call(s, 'POST', `/customers/${customerId}/invoices`, BODY);
  assert.is(res.status, 202);
  return res.json as Invoice;
}

async function invoiceWhen(s: TwoWay, id: string, check: (i: Invoice) => boolean) {
  return eventually(
    async () => (await call(s, 'GET', `/invoices/${id}`)).json as Invoice,
    check,
    30_000,
    100,
  );
}

async function issued(s: TwoWay, name: string): Promise<{ invoice: Invoice; stripeId: string }> {
  const { id } = await s.api.create({ name });
  const stripeId = await linked(s, id);
  const invoice = await invoiceWhen(s, (await requested(s, id)).id, (i) => i.status === 'open');
  return { invoice, stripeId };
}

async function letters(s: TwoWay): Promise<unknown[]> {
  return ((await call(s, 'GET', '/dlq')).json as { data: unknown[] }).data;
}

test('an open invoice is voided in Stripe under its key, and shows void with its history', async ({
  s,
}) => {
  const { invoice } = await issued(s, 'Void Open');
  const key = { 'idempotency-key': `void-${invoice.id}` };
  const asked = await call(s, 'POST', `/invoices/${invoice.id}/void`, undefined, key);
  assert.is(asked.status, 202);
  const retried = await call(s, 'POST', `/invoices/${invoice.id}/void`, undefined, key);
  assert.equal([retried.status, retried.replayed, retried.json], [202, 'true', asked.json]);
  const answer = asked.json as Invoice;
  assert.is(answer.status, 'open', 'void once Stripe has it');
  assert.equal(answer.history.at(-1), {
    ...answer.history.at(-1)!,
    origin: 'api',
    note: 'void requested',
  });
  const done = await invoiceWhen(s, invoice.id, (i) => i.status === 'void');
  const stripeInvoice = await s.stripe.invoices.retrieve(invoice.stripe_invoice_id!);
  assert.is(stripeInvoice.status, 'void');
  const events = await s.stripe.events.list({ type: 'invoice.voided', limit: 100 });
  const mine = events.data.filter((e) => (e.data.object as { id: string }).id === stripeInvoice.id);
  assert.is(mine.length, 1, 'voided once');
  assert.is(mine[0]!.request?.idempotency_key, `rtws-inv-${invoice.id}-void`);
  // Stripe's invoice.voided coming back is the same news: no second entry, no letter.
  const again = await call(s, 'POST', `/invoices/${invoice.id}/void`);
  assert.is(again.status, 202);
  await quiet(s);
  const after = await invoiceWhen(s, invoice.id, () => true);
  assert.is(after.status, 'void');
  assert.is(
    after.history.filter((h) => h.status === 'void').length,
    1,
    JSON.stringify(after.history),
  );
  assert.is(after.history.filter((h) => h.note === 'void requested').length, 1);
  assert.is(after.last_error, null);
  assert.equal(
    after.history.map((h) => h.status),
    done.history.map((h) => h.status),
  );
  assert.equal(await letters(s), []);
});

test('a pending invoice is cancelled before it is issued, and never created in Stripe', async ({
  s,
}) => {
  assert.is((await call(s, 'POST', '/targets/stripe/pause', { reason: 'test' })).status, 200);
  await new Promise((r) => setTimeout(r, 1_300));
  const { id: customerId } = await s.api.create({ name: 'Void Pending' });
  const invoice = await requested(s, customerId);
  assert.is((await call(s, 'POST', `/invoices/${invoice.id}/void`)).status, 202);
  const cancelled = await invoiceWhen(s, invoice.id, (i) => i.status === 'void');
  assert.is(cancelled.stripe_invoice_id, null);
  assert.equal(cancelled.history.at(-1), {
    ...cancelled.history.at(-1)!,
    status: 'void',
    origin: 'rtws',
    note: 'cancelled before it was issued: never created in Stripe',
  });
  // Stripe comes back and the customer is created there; the invoice never is.
  assert.is((await call(s, 'POST', '/targets/stripe/resume')).status, 200);
  const stripeCustomer = await linked(s, customerId, 20_000);
  await quiet(s);
  assert.equal((await s.stripe.invoices.list({ customer: stripeCustomer })).data, []);
  assert.is((await invoiceWhen(s, invoice.id, () => true)).status, 'void');
});

test('a failed invoice whose draft is in Stripe: the void deletes the draft, and it shows void', async ({
  s,
}) => {
  const { id: customerId } = await s.api.create({ name: 'Void Failed' });
  const stripeCustomer = await linked(s, customerId);
  s.emu.failNext({
    method: 'POST',
    path: '/v1/invoiceitems',
    status: 400,
    count: 1,
    error: { type: 'invalid_request_error', message: 'refused for the test' },
  });
  const invoice = await requested(s, customerId);
  const failed = await invoiceWhen(s, invoice.id, (i) => i.status === 'failed');
  const [draft] = (await s.stripe.invoices.list({ customer: stripeCustomer })).data;
  assert.is(draft?.status, 'draft');
  assert.is(failed.stripe_invoice_id, draft!.id);
  assert.is((await call(s, 'POST', `/invoices/${invoice.id}/void`)).status, 202);
  const cancelled = await invoiceWhen(s, invoice.id, (i) => i.status === 'void');
  // The actor's report and Stripe's invoice.deleted race; whichever lands first says it.
  assert.match(
    cancelled.history.at(-1)!.note ?? '',
    /cancelled before it was issued|was deleted in Stripe/,
  );
  assert.is(cancelled.history.filter((h) => h.status === 'void').length, 1);
  assert.is(cancelled.last_error, null);
  const gone = await s.stripe.invoices.retrieve(draft!.id).catch((e: { statusCode?: number }) => e);
  assert.is((gone as { statusCode?: number }).statusCode, 404, 'the draft is deleted, not voided');
  await quiet(s);
  const after = await invoiceWhen(s, invoice.id, () => true);
  assert.is(after.status, 'void');
  assert.is(after.history.filter((h) => h.status === 'void').length, 1, 'the other adds nothing');
  assert.equal((await s.stripe.invoices.list({ customer: stripeCustomer })).data, []);
});

/** The catalogue's id of an invoice created in Stripe directly, once it is recorded. */
async function recordedFromStripe(s: TwoWay, customerId: string, stripeInvoiceId: string) {
  return eventually(
    async () =>
      (
        (await call(s, 'GET', `/customers/${customerId}/invoices`)).json as { data: Invoice[] }
      ).data.find((i) => i.stripe_invoice_id === stripeInvoiceId),
    (i) => i !== undefined && i.status !== 'draft',
    30_000,
    100,
  );
}

test('an open invoice created in Stripe directly is voided by rtws; a draft made there is 409', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Void From Stripe' });
  const customer = await linked(s, id);
  const make = async () => {
    const draft = await s.stripe.invoices.create({
      customer,
      collection_method: 'send_invoice',
      days_until_due: 7,
    });
    await s.stripe.invoiceItems.create({
      customer,
      invoice: draft.id,
      currency: 'usd',
      amount: 1_500,
      description: 'Made in the dashboard',
    });
    return draft;
  };
  const open = await s.stripe.invoices.finalizeInvoice((await make()).id);
  const recorded = await recordedFromStripe(s, id, open.id);
  assert.is(recorded!.origin, 'stripe');
  assert.is(recorded!.status, 'open');
  assert.is((await call(s, 'POST', `/invoices/${recorded!.id}/void`)).status, 202);
  await invoiceWhen(s, recorded!.id, (i) => i.status === 'void');
  assert.is((await s.stripe.invoices.retrieve(open.id)).status, 'void');
  const events = await s.stripe.events.list({ type: 'invoice.voided', limit: 100 });
  const mine = events.data.filter((e) => (e.data.object as { id: string }).id === open.id);
  assert.is(mine.length, 1, 'voided once');
  assert.is(mine[0]!.request?.idempotency_key, `rtws-inv-${recorded!.id}-void`);

  // A draft made in Stripe is someone's work in progress there: refused, nothing written.
  const draft = await make();
  const drafted = await eventually(
    async () =>
      ((await call(s, 'GET', `/customers/${id}/invoices`)).json as { data: Invoice[] }).data.find(
        (i) => i.stripe_invoice_id === draft.id,
      ),
    (i) => i !== undefined,
    30_000,
    100,
  );
  const refused = await call(s, 'POST', `/invoices/${drafted!.id}/void`);
  assert.is(refused.status, 409);
  assert.match(JSON.stringify(refused.json), /created in Stripe directly/);
  assert.is((await s.stripe.invoices.retrieve(draft.id)).status, 'draft');
  const mentions = JSON.stringify(await letters(s));
  assert.not.match(mentions, recorded!.id);
  assert.not.match(mentions, drafted!.id);
});

test('bad cases: a malformed id is 400, an unknown one 404, a paid one 409; nothing is written', async ({
  s,
}) => {
  const malformed = await call(s, 'POST', '/invoices/not-a-uuid/void');
  assert.is(malformed.status, 400);
  assert.match(malformed.type ?? '', /application\/problem\+json/);
  const unknown = await call(s, 'POST', '/invoices/00000000-0000-4000-8000-000000000000/void');
  assert.is(unknown.status, 404);
  assert.match(unknown.type ?? '', /application\/problem\+json/);

  const { invoice } = await issued(s, 'Void Paid');
  await s.stripe.invoices.pay(invoice.stripe_invoice_id!, { paid_out_of_band: true });
  const paid = await invoiceWhen(s, invoice.id, (i) => i.status === 'paid');
  const state = async () =>
    s.o.sql`
      SELECT i.version, i.updated_at, i.void_requested_at,
        (SELECT count(*)::int FROM invoice_history h WHERE h.invoice_id = i.id) AS history,
        (SELECT count(*)::int FROM outbox o WHERE o.aggregate_id = i.id) AS outbox
      FROM invoices i WHERE i.id = ${invoice.id}`;
  const before = await state();
  const refused = await call(s, 'POST', `/invoices/${invoice.id}/void`);
  assert.is(refused.status, 409);
  assert.match(refused.type ?? '', /application\/problem\+json/);
  assert.match(JSON.stringify(refused.json), /paid/);
  assert.equal(await state(), before);
  assert.is(before[0]!.void_requested_at, null);
  assert.equal((await call(s, 'GET', `/invoices/${invoice.id}`)).json, paid);
  assert.is((await s.stripe.invoices.retrieve(invoice.stripe_invoice_id!)).status, 'paid');
});

test.run();
