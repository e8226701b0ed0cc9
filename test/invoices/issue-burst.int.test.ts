// Invoices issued in Stripe exactly once, through the whole of rtws (API, outbox, JetStream, the
// customer actors that link the customers, the invoice actors that issue), against the emulator.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { checkInvoiceMessage, replayInvoice } from '../../actors/invoice/index.ts';
import { invoiceKind } from '../../actors/invoice/kind.ts';
import { streamHistory } from '../../adapters/jetstream/customer-history.ts';
import { authHeaders } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import {
  awaitIssued,
  createCustomers,
  issuingStack,
  requestInvoices,
  stripeReport,
  type IssuingStack,
  type Requested,
} from './issue-stack.ts';

const CUSTOMERS = 50;
const PER_CUSTOMER = 4;

const test = suite<{ stack?: IssuingStack; requested?: Requested[] }>('issuing invoices');

test.before(async (ctx) => {
  ctx.stack = await issuingStack();
});
test.after(async (ctx) => {
  await ctx.stack?.close();
});

test('200 invoices across 50 customers, requested before the customers are linked: each once', async (ctx) => {
  const { side, rtws } = ctx.stack!;
  const started = Date.now();
  const customers = await createCustomers(rtws.url!, CUSTOMERS, 'Billed');
  const requested = await requestInvoices(rtws.url!, customers, PER_CUSTOMER);
  const open = await awaitIssued(rtws.sql, requested.length, 60_000);
  assert.is(open, requested.length, 'every invoice is open in Postgres');
  const report = await stripeReport(side.stripe, rtws.sql, requested);
  assert.equal(report.problems, []);
  assert.is(report.invoices, CUSTOMERS * PER_CUSTOMER);
  console.log(`  ${report.invoices} invoices, ${report.items} items in ${Date.now() - started} ms`);
  ctx.requested = requested;
});

test('a rebuild from each invoice’s recorded messages equals its snapshot in KV', async (ctx) => {
  const { t, rtws } = ctx.stack!;
  const kv = await new Kvm(jetstream(rtws.nats)).open(t.names.bucket('INVOICE_ACTORS'));
  const kind = invoiceKind();
  for (const r of ctx.requested!.slice(0, 20)) {
    const history = await streamHistory(
      rtws.nats,
      t.names.streams.invoices,
      t.names.invoiceSubject(r.id, r.customerId),
    );
    const events = history.flatMap((h) => {
      const parsed = checkInvoiceMessage(h.message, r.id, h.at, h.correlation);
      return parsed.ok ? [parsed.event] : [];
    });
    const stored = await kv.get(r.id);
    const rebuilt = kind.encode(replayInvoice(r.id, events));
    assert.equal(JSON.parse(JSON.stringify(rebuilt)), stored!.json(), `rebuild of ${r.id}`);
    assert.is(replayInvoice(r.id, events).context.status, 'issued');
  }
});

test('an invoice waits for its customer’s link, looking it up again and again, never failing', async (ctx) => {
  const { side, rtws } = ctx.stack!;
  // Stripe rate-limits the customer's create for a while: the customer actor waits and resends.
  side.emulator.clearRequests();
  side.emulator.failNext({ method: 'POST', path: '/v1/customers', status: 429, count: 4 });
  const [customer] = await createCustomers(rtws.url!, 1, 'Late');
  const [invoice] = await requestInvoices(rtws.url!, [customer!], 1);
  const open = await eventually(
    async () =>
      (
        await rtws.sql<{ status: string }[]>`SELECT status FROM invoices WHERE id = ${invoice!.id}`
      )[0]!.status,
    (status) => status === 'open',
    30_000,
  );
  assert.is(open, 'open');
  const [row] = await rtws.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM customer_links WHERE customer_id = ${customer!} AND target = 'stripe'`;
  assert.is(row!.n, 1, 'linked by the customer actor, never by the invoice actor');
  const created = side.emulator
    .requests({ method: 'POST' })
    .filter((r) => r.path === '/v1/customers');
  assert.is(created.filter((r) => r.status === 200).length, 1, 'one Stripe customer');
  const history = await streamHistory(
    rtws.nats,
    ctx.stack!.t.names.streams.invoices,
    ctx.stack!.t.names.invoiceSubject(invoice!.id, customer!),
  );
  const misses = history.filter(
    (h) => (h.message as { type?: string }).type === 'StripeLinkMissing',
  );
  assert.ok(misses.length >= 2, `looked up ${misses.length + 1} times`);
});

test('post-commit 500s on an item and on finalize, replayed under their keys, double nothing', async (ctx) => {
  const { side, rtws } = ctx.stack!;
  const [customer] = await createCustomers(rtws.url!, 1, 'Faulted');
  await new Promise((r) => setTimeout(r, 1_000)); // let the customer be linked first
  side.emulator.failNext({ method: 'POST', path: '/v1/invoiceitems', status: 500, phase: 'after' });
  side.emulator.failNext({
    method: 'POST',
    path: '/v1/invoices/*/finalize',
    status: 500,
    phase: 'after',
  });
  side.emulator.clearRequests();
  const requested = await requestInvoices(rtws.url!, [customer!], 1);
  const [invoice] = requested;
  const deadline = Date.now() + 30_000;
  let status = '';
  while (status !== 'open' && Date.now() < deadline) {
    const [row] = await rtws.sql<{ status: string }[]>`
      SELECT status FROM invoices WHERE id = ${invoice!.id}`;
    status = row!.status;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.is(status, 'open');
  const found = [];
  for await (const inv of side.stripe.invoices.list({ customer: undefined, limit: 100 }))
    if (inv.metadata?.rtws_invoice_id === invoice!.id) found.push(inv);
  assert.is(found.length, 1, 'one Stripe invoice');
  const items = [];
  for await (const item of side.stripe.invoiceItems.list({ invoice: found[0]!.id, limit: 100 }))
    items.push(item);
  assert.is(items.length, invoice!.items.length, 'each item once');
  assert.is(found[0]!.total, invoice!.total);
  const calls = side.emulator.requests({ method: 'POST' }).map((r) => r.path);
  const finalizes = calls.filter((p) => p.endsWith('/finalize'));
  assert.is(finalizes.length, 1, `finalized once, the 500 settled by a lookup: ${calls.join(' ')}`);
  const itemPosts = calls.filter((p) => p === '/v1/invoiceitems');
  assert.is(
    itemPosts.length,
    invoice!.items.length,
    'the item that answered 500 was not sent again',
  );
  const lookups = side.emulator
    .requests({ method: 'GET' })
    .filter((r) => r.path.startsWith('/v1/invoice'));
  assert.ok(lookups.length >= 2, 'each 500 was followed by a lookup');
  const [row] = await rtws.sql<
    { number: string }[]
  >`SELECT number FROM invoices WHERE id = ${invoice!.id}`;
  assert.is(row!.number, found[0]!.number);
});

test('a request Stripe refuses fails the invoice with Stripe’s message, into the DLQ', async (ctx) => {
  const { side, rtws } = ctx.stack!;
  const [customer] = await createCustomers(rtws.url!, 1, 'Refused');
  side.emulator.failNext({
    method: 'POST',
    path: '/v1/invoices/*/finalize',
    status: 400,
    error: { type: 'invalid_request_error', message: 'This account cannot finalize invoices.' },
  });
  const [invoice] = await requestInvoices(rtws.url!, [customer!], 1);
  const row = await eventually(
    async () =>
      (
        await rtws.sql<{ status: string; last_error: string | null }[]>`
          SELECT status, last_error FROM invoices WHERE id = ${invoice!.id}`
      )[0]!,
    (r) => r.status === 'failed',
    30_000,
  );
  assert.is(row.status, 'failed');
  assert.match(row.last_error ?? '', 'This account cannot finalize invoices.');
  const res = await fetch(`${rtws.url!}/dlq?limit=100`, { headers: authHeaders() });
  const letters = (await res.json()) as {
    data: { source: string; subject: string; reason: string }[];
  };
  const letter = letters.data.find((l) => l.subject.endsWith(`.${invoice!.id}`));
  assert.is(letter?.source, 'invoices');
  assert.match(letter?.reason ?? '', 'FinalizeStripeInvoice: HTTP 400');
});

test.run();
