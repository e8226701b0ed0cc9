// Erasure with RTWS_ERASE_REMOTE=false leaves the customer's Stripe object to the operator, and
// says so; RTWS_ERASE_DELETED_AFTER_DAYS erases customers deleted longer ago on its own.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { authHeaders } from '../harness/rtws.ts';
import { askErasure, call, erased } from './api.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { linked, quiet, twoWay, type TwoWay } from '../inbound/stack.ts';

const test = suite<{ s: TwoWay }>('erasure that keeps the targets, and old deletions');

test.before(async (ctx) => {
  ctx.s = await twoWay({
    salesforce: true,
    env: { RTWS_ERASE_REMOTE: 'false', RTWS_ERASE_DELETED_AFTER_DAYS: '30' },
  });
});

test.after(async (ctx) => {
  await ctx.s?.close();
});

const personal = (s: TwoWay, id: string) =>
  s.o.sql<{ name: string; email: string | null; erased_at: Date | null }[]>`
    SELECT name, email, erased_at FROM customers WHERE id = ${id}`;

test('the Stripe customer is left, the answer says so, and the catalogue is cleared', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Kept Remote', email: 'kept.remote@example.com' });
  const stripeId = await linked(s, id);
  const inSalesforce = () => s.sf!.records('Account').find((r) => r.Rtws_Id__c === id);
  await waitFor(
    async () => inSalesforce(),
    (r) => r !== undefined,
    15_000,
  );
  await quiet(s);
  // The targets are the configuration's to decide, not a body's: an option is refused, unheard.
  const optioned = await call<{ field: string }>(s, 'POST', `/customers/${id}/erase`, {
    remote: true,
  });
  assert.is(optioned.status, 400);
  assert.is(optioned.body.field, 'remote');
  const none = await s.o.sql`SELECT id FROM erasures WHERE customer_id = ${id}`;
  assert.is(none.length, 0, 'nothing asked');
  const asked = await askErasure(s, id);
  assert.is(asked.status, 202);
  assert.is(asked.body.remote, false);
  assert.match(asked.body.note ?? '', 'RTWS_ERASE_REMOTE=false');
  const done = await erased(s, asked.body.id);
  assert.match(String(done.removed.targets?.stripe), 'left at the target');
  const [row] = await personal(s, id);
  assert.equal([row?.name, row?.email], ['', null]);
  assert.ok(row?.erased_at);
  await quiet(s);
  const cus = (await s.stripe.customers.retrieve(stripeId)) as {
    deleted?: boolean;
    email?: string;
  };
  assert.is(cus.deleted, undefined, 'not deleted in Stripe');
  assert.is(cus.email, 'kept.remote@example.com');
  assert.ok(inSalesforce(), 'nor in Salesforce');

  // A reconciliation meets it, with the erased id in its metadata: it pairs the two nowhere.
  const started = await fetch(`${s.rtws.url}/reconciliations`, {
    method: 'POST',
    headers: { ...authHeaders(), 'content-type': 'application/json' },
    body: '{}',
  });
  assert.is(started.status, 202);
  const run = (await started.json()) as { id: number };
  const finished = await eventually(
    async () =>
      (await (
        await fetch(`${s.rtws.url}/reconciliations/${run.id}`, { headers: authHeaders() })
      ).json()) as { state: string; counts: Record<string, number> },
    (r) => r.state !== 'running',
    60_000,
  );
  assert.is(finished.state, 'done', JSON.stringify(finished));
  assert.is(
    finished.counts.erased,
    2,
    `Stripe's and Salesforce's: ${JSON.stringify(finished.counts)}`,
  );
  const differences = await s.o.sql<
    { target: string; kind: string; customer_id: string | null; detail: string }[]
  >`
    SELECT target, kind, customer_id, detail FROM reconcile_differences
    WHERE kind = 'erased' OR customer_id = ${id} ORDER BY target`;
  const left = {
    kind: 'erased',
    customer_id: null,
    detail: 'belongs to a customer since erased: left as it is',
  };
  assert.equal(
    differences.map((d) => ({ ...d })),
    [
      { target: 'salesforce', ...left },
      { target: 'stripe', ...left },
    ],
  );
  const decisions = await s.o.sql<{ decisions: unknown }[]>`
    SELECT decisions FROM backfills WHERE id = ${run.id}`;
  assert.not.match(JSON.stringify(decisions), id, "the erased customer's id is nowhere");
});

test('a client retrying a create with its Idempotency-Key after the erasure gets 410, and no customer', async ({
  s,
}) => {
  const key = `erase-retry-${Date.now()}`;
  const body = { name: 'Retried After Erasure', email: 'retried.after@example.com' };
  const post = (b: unknown) =>
    fetch(`${s.rtws.url}/customers`, {
      method: 'POST',
      headers: { ...authHeaders(), 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(b),
    });
  const first = await post(body);
  assert.is(first.status, 201);
  const { id } = (await first.json()) as { id: string };
  const replayed = await post(body);
  assert.is(replayed.headers.get('idempotent-replayed'), 'true', 'a retry before replays');
  await linked(s, id);
  // An invoice asked for and voided, each with a key of its own.
  const keyed = (path: string, k: string, b: unknown) =>
    fetch(`${s.rtws.url}${path}`, {
      method: 'POST',
      headers: { ...authHeaders(), 'content-type': 'application/json', 'idempotency-key': k },
      body: JSON.stringify(b),
    });
  const invoiceAsk = { currency: 'usd', items: [{ description: 'Plan', amount: 1200 }] };
  const invoiced = await keyed(`/customers/${id}/invoices`, `${key}-invoice`, invoiceAsk);
  assert.is(invoiced.status, 202);
  const invoice = (await invoiced.json()) as { id: string };
  const voiding = () => keyed(`/invoices/${invoice.id}/void`, `${key}-void`, {});
  const voided = await voiding();
  assert.is(voided.status, 202);
  await voided.json();
  const asked = await askErasure(s, id);
  const done = await erased(s, asked.body.id);
  assert.is(done.removed.postgres?.idempotency_keys, 3, JSON.stringify(done.removed));
  const reinvoiced = await keyed(`/customers/${id}/invoices`, `${key}-invoice`, invoiceAsk);
  assert.is(reinvoiced.status, 410, 'an invoice of the erased customer is not asked for again');
  await reinvoiced.json();
  // The invoice outlives the erasure: a void's retry is answered as a void, not refused.
  const revoided = await voiding();
  assert.is(revoided.status, 202, `the void again: ${revoided.status}`);
  await revoided.json();

  for (const retry of [body, { ...body, phone: '+15550100' }]) {
    const res = await post(retry);
    assert.is(res.status, 410, 'the same key, with its body or another');
    const problem = (await res.json()) as { code?: string; detail?: string };
    assert.is(problem.code, 'customer_erased');
    assert.not.match(JSON.stringify(problem), 'retried.after', 'the answer holds no one');
  }
  const made = await s.o.sql`SELECT id FROM customers WHERE email = ${body.email}`;
  assert.is(made.length, 0, 'the person was not made again');
  const [row] = await s.o.sql<{ request_hash: string; status: number | null; body: unknown }[]>`
    SELECT request_hash, status, body FROM idempotency_keys WHERE key = ${key}`;
  assert.equal({ ...row }, { request_hash: 'erased', status: null, body: null });
});

test('a customer deleted longer ago than RTWS_ERASE_DELETED_AFTER_DAYS is erased on its own', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Long Gone', email: 'long.gone@example.com' });
  const remove = (customerId: string) =>
    fetch(`${s.rtws.url}/customers/${customerId}`, {
      method: 'DELETE',
      headers: { authorization: authHeaders().authorization! },
    });
  assert.is((await remove(id)).status, 204);
  const { id: recent } = await s.api.create({ name: 'Just Gone', email: 'just.gone@example.com' });
  assert.is((await remove(recent)).status, 204);
  // Deleted 40 days ago, as far as the catalogue knows (the tombstone's triggers are bypassed).
  await s.o.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await tx`UPDATE customers SET deleted_at = now() - interval '40 days' WHERE id = ${id}`;
  });
  // The workers look for old deletions when they start, then hourly.
  await s.stopRtws();
  await s.startRtws();
  const erasure = await eventually(
    async () =>
      (
        await s.o.sql<{ requested_by: string; finished_at: Date | null }[]>`
      SELECT requested_by, finished_at FROM erasures WHERE customer_id = ${id}`
      )[0],
    (e) => e?.finished_at != null,
    30_000,
    200,
  );
  assert.is(erasure?.requested_by, 'schedule');
  assert.equal((await personal(s, id))[0]?.email, null);
  const [kept] = await personal(s, recent);
  assert.is(kept?.email, 'just.gone@example.com', 'a recent deletion keeps its data');
  assert.is((await s.o.sql`SELECT 1 FROM erasures WHERE customer_id = ${recent}`).length, 0);
});

test.run();
