// Correlation ids, end to end. An API write's request id (the client's `X-Request-Id`) is on its
// outbox row, on its stream message (header), on the outcome of its Stripe call, and on the log
// line of that call beside Stripe's own `Request-Id`, and on the API's log lines of the request. A
// Stripe dashboard edit's event id correlates the change it makes in Postgres. Two processes: the
// API alone first, so the outbox row is read before a publisher deletes it, then the publisher and
// the worker.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Stripe from 'stripe';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import {
  customerHistory,
  streamHistory,
  type RecordedMessage,
} from '../../adapters/jetstream/customer-history.ts';
import { apiUrlOf, spawnCli, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import {
  TEST_TOKEN,
  authHeaders,
  observe,
  testEnvironment,
  type Observer,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';

const SECRET = 'whsec_correlation_test';

const test = suite<{
  t?: TestEnvironment;
  o?: Observer;
  stripe?: StripeEmulator;
  api?: RtwsProcess;
  worker?: RtwsProcess;
}>('correlation ids');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.stripe = await startStripeEmulator({ port: 0, searchLagMs: 0 });
});

test.after(async (ctx) => {
  await ctx.worker?.kill('SIGKILL');
  await ctx.api?.kill('SIGKILL');
  await ctx.stripe?.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

/** The JSON log lines of a process's output (the banner and other text are left out). */
function logLines(p: RtwsProcess): Record<string, unknown>[] {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const byType = (history: RecordedMessage[], type: string) =>
  history.filter((r) => (r.message as { type?: string } | null)?.type === type);

/** The catalogue's changes made from Stripe (an export at the worker's start is one of `api`'s). */
const fromStripe = (history: RecordedMessage[]) =>
  byType(history, 'CustomerUpdated').filter(
    (r) => (r.message as { metadata: { origin: string } }).metadata.origin === 'stripe',
  );

test('a change is found by its id in the outbox, the stream, the calls and the logs', async (ctx) => {
  const { t, o, stripe } = ctx;
  const env = {
    ...t!.env,
    LOG_LEVEL: 'info',
    STRIPE_SECRET_KEY: 'sk_test_correlation',
    STRIPE_API_BASE: stripe!.url,
    STRIPE_WEBHOOK_SECRET: SECRET,
  };
  const api = (ctx.api = spawnRtws({ ...env, RTWS_ROLES: 'api' }));
  const url = await apiUrlOf(api);
  stripe!.registerWebhookEndpoint(`${url}/webhooks/stripe`, SECRET);

  // A client's id is taken when it is a plain token, and answered back.
  const requestId = `corr-${randomUUID()}`;
  const created = await fetch(`${url}/customers`, {
    method: 'POST',
    headers: { ...authHeaders(), 'x-request-id': requestId },
    body: JSON.stringify({ name: 'Ada Correlated', email: 'ada.correlated@example.com' }),
  });
  assert.is(created.status, 201);
  assert.is(created.headers.get('x-request-id'), requestId);
  const id = ((await created.json()) as { id: string }).id;

  // One that is not is replaced by an id of rtws's own, and the answer says which.
  const odd = await fetch(`${url}/customers/${id}`, {
    headers: { ...authHeaders(), 'x-request-id': 'two words; "quoted"' },
  });
  assert.is(odd.status, 200);
  assert.match(odd.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

  // The invoice flow uses the outbox too.
  const invoiceRequestId = `inv-${randomUUID()}`;
  const requested = await fetch(`${url}/customers/${id}/invoices`, {
    method: 'POST',
    headers: { ...authHeaders(), 'x-request-id': invoiceRequestId },
    body: JSON.stringify({ currency: 'eur', items: [{ description: 'Tea', amount: 450 }] }),
  });
  assert.is(requested.status, 202);
  const invoiceId = ((await requested.json()) as { id: string }).id;

  // No publisher runs yet: the rows wait in the outbox, with their requests' ids.
  const rows = await o!.sql<{ aggregate: string; correlation_id: string | null }[]>`
    SELECT aggregate, correlation_id FROM outbox WHERE customer_id = ${id} ORDER BY id`;
  assert.equal(
    rows.map((r) => ({ ...r })),
    [
      { aggregate: 'customer', correlation_id: requestId },
      { aggregate: 'invoice', correlation_id: invoiceRequestId },
    ],
  );

  const worker = (ctx.worker = spawnRtws({ ...env, RTWS_ROLES: 'publisher,worker' }));
  const linked = await eventually(
    () => customerHistory(o!.nats, t!.names, id),
    (h) => byType(h, 'StripeCustomerCreated').length > 0,
    30_000,
    200,
  );
  // The captured change and the outcome of the call it caused carry the id in their header.
  assert.equal(
    byType(linked, 'CustomerCreated').map((r) => r.correlation),
    [requestId],
  );
  assert.equal(
    byType(linked, 'StripeCustomerCreated').map((r) => r.correlation),
    [requestId],
  );

  // The invoice's request and every outcome of its issuing carry the invoice request's id.
  const invoiceHistory = await eventually(
    () => streamHistory(o!.nats, t!.names.streams.invoices, t!.names.invoiceSubject(invoiceId, id)),
    (h) => byType(h, 'StripeInvoiceFinalized').length > 0,
    30_000,
    200,
  );
  assert.equal(
    [...new Set(invoiceHistory.map((r) => r.correlation))],
    [invoiceRequestId],
    JSON.stringify(
      invoiceHistory.map((r) => [(r.message as { type: string }).type, r.correlation]),
    ),
  );

  // A dashboard edit: its event's id is the correlation of the change it makes in Postgres.
  const stripeId = (
    byType(linked, 'StripeCustomerCreated')[0]!.message as { data: { externalId: string } }
  ).data.externalId;
  const base = new URL(stripe!.url);
  const dashboard = new Stripe('sk_test_correlation', {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  await dashboard.customers.update(stripeId, { name: 'Ada Edited' });
  const edited = await eventually(
    () => customerHistory(o!.nats, t!.names, id),
    (h) => fromStripe(h).length > 0,
    30_000,
    200,
  );
  const [observed] = byType(edited, 'StripeCustomerObserved').filter(
    (r) => (r.message as { data: { eventType: string } }).data.eventType === 'customer.updated',
  );
  const eventId = (observed!.message as { data: { eventId: string } }).data.eventId;
  assert.match(eventId, /^evt_/);
  assert.is(observed!.correlation, eventId);
  assert.equal(
    fromStripe(edited).map((r) => r.correlation),
    [eventId],
  );

  // The timeline shows the ids.
  const timeline = (await (
    await fetch(`${url}/customers/${id}/timeline`, { headers: authHeaders() })
  ).json()) as { entries: { type: string; correlation_id?: string }[] };
  const shown = (type: string) =>
    timeline.entries.filter((e) => e.type === type).map((e) => e.correlation_id);
  assert.equal(shown('CustomerCreated'), [requestId]);
  assert.ok(shown('customer.updated').includes(eventId), JSON.stringify(timeline.entries));
  // And so does the CLI's view of the customer.
  const cli = spawnCli(['customer', id], { RTWS_URL: url, RTWS_API_TOKEN: TEST_TOKEN });
  assert.is(await cli.exited, 0, cli.output());
  assert.match(cli.output(), requestId);
  assert.match(cli.output(), eventId);

  // A pending intent names the change it serves: with Stripe paused, an edit's push waits.
  const pause = await fetch(`${url}/targets/stripe/pause`, {
    method: 'POST',
    headers: authHeaders(),
    body: JSON.stringify({ reason: 'correlation test' }),
  });
  assert.is(pause.status, 200);
  // The worker reads pauses every second: the edit waits for it to have read this one.
  const noticed = await eventually(
    async () => logLines(worker).some((l) => String(l.msg).startsWith('target paused')),
    (seen) => seen,
    10_000,
    100,
  );
  assert.ok(noticed, 'the worker saw the pause');
  const editId = `edit-${randomUUID()}`;
  const edit = await fetch(`${url}/customers/${id}`, {
    method: 'PATCH',
    headers: { ...authHeaders(), 'x-request-id': editId },
    body: JSON.stringify({ name: 'Ada Waiting' }),
  });
  assert.is(edit.status, 200);
  const waiting = await eventually(
    async () =>
      (await (await fetch(`${url}/customers/${id}/sync`, { headers: authHeaders() })).json()) as {
        targets: { stripe: { pending: { correlation_id?: string }[] } };
      },
    (v) => v.targets.stripe.pending.length > 0,
    30_000,
    200,
  );
  assert.equal(
    waiting.targets.stripe.pending.map((p) => p.correlation_id),
    [editId],
  );

  await worker.kill('SIGTERM');
  await api.kill('SIGTERM');
  // The Stripe call, with Stripe's own Request-Id beside the change's id.
  const calls = logLines(worker).filter(
    (l) => l.msg === 'stripe call' && l.correlation_id === requestId,
  );
  // Before the create, a lookup by email (match before create): a call of the change's too.
  const create = calls.find((l) => l.method === 'POST' && l.path === '/v1/customers');
  assert.ok(create, JSON.stringify(calls));
  assert.match(String(create.stripe_request_id), /^req_/);
  assert.is(create.status, 200);
  assert.is(create.customer_id, id);
  // Stripe's Request-Id of that very request: the emulator answered the create with it.
  const answered = stripe!
    .requests({ method: 'POST', path: '/v1/customers' })
    .filter((r) => r.path === '/v1/customers' && r.status === 200);
  assert.equal(
    answered.map((r) => r.requestId),
    [create.stripe_request_id],
  );
  for (const call of calls) assert.match(String(call.stripe_request_id), /^req_/);
  // The calls that serve no one change are logged too, with no change's id: the worker's check of
  // the account it is bound to, at its start.
  const account = logLines(worker).filter(
    (l) => l.msg === 'stripe call' && l.path === '/v1/account',
  );
  assert.ok(account.length > 0, 'the binding check is logged');
  for (const call of account) {
    assert.match(String(call.stripe_request_id), /^req_/);
    assert.is(call.correlation_id, undefined);
  }
  // The API's lines about the request: received, answered, and the write audited.
  // The invoice's Stripe calls, likewise.
  const invoiceCalls = logLines(worker).filter(
    (l) => l.msg === 'stripe call' && l.correlation_id === invoiceRequestId,
  );
  assert.ok(
    invoiceCalls.some((l) => l.path === '/v1/invoices' && l.invoice_id === invoiceId),
    JSON.stringify(invoiceCalls),
  );
  for (const call of invoiceCalls) assert.match(String(call.stripe_request_id), /^req_/);
  const apiLines = logLines(api).filter((l) => l.correlation_id === requestId);
  assert.ok(apiLines.some((l) => l.msg === 'incoming request'));
  assert.ok(apiLines.some((l) => l.msg === 'request completed'));
  assert.ok(apiLines.some((l) => l.msg === 'API write'));
});

test.run();
