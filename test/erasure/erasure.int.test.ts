// Erasure: a customer with a history (edits, a Stripe dashboard edit, a conflict, a refused change
// in the DLQ, an invoice) is erased, then every store is read in full: every Postgres table, every
// message of every stream and KV bucket of the namespace, and both emulators' customers. Its name,
// email and phone are nowhere (Stripe's finalized invoice and its own events keep theirs, as the
// README says). A later Stripe event about it brings nothing back, and an erasure cut off midway
// (the worker killed after the streams were purged) is finished by the next worker.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import Stripe from 'stripe';
import { askErasure, call, erased } from './api.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { linked, quiet, row, twoWay, type TwoWay } from '../inbound/stack.ts';
import { openSnapshotStore } from '../../adapters/jetstream/kv-snapshot-store.ts';
import { eraseFromStreams } from '../../adapters/jetstream/erase.ts';
import { readStream } from '../../adapters/jetstream/read-stream.ts';
import { recordDiscard } from '../../adapters/postgres/dlq-discards.ts';
import { recordTargetConflict } from '../../adapters/postgres/conflicts.ts';
import { erasedActor, isErasedActor } from '../../actors/runtime/erased.ts';
import { beginErasure } from '../../adapters/postgres/erasures.ts';
import { customerHistory } from '../../adapters/jetstream/customer-history.ts';
import { encodeRecordedEvent } from '../../actors/customer/outcome-message.ts';

const test = suite<{ s: TwoWay }>('erasure');

test.before(async (ctx) => {
  ctx.s = await twoWay({
    salesforce: true,
    workerProcess: true,
    env: { RTWS_SALESFORCE_POLL_S: '1' },
  });
});

test.after(async (ctx) => {
  await ctx.s?.close();
});

/** Every Postgres table's rows, as text. */
async function postgresText(s: TwoWay): Promise<string> {
  const tables = await s.o.sql<{ table_name: string }[]>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
  let out = '';
  for (const { table_name } of tables)
    for (const r of await s.o.sql<{ t: string }[]>`
      SELECT to_jsonb(x)::text AS t FROM ${s.o.sql(table_name)} x`)
      out += `${table_name}: ${r.t}\n`;
  return out;
}

/** Every message of every stream of the namespace (KV buckets included), DLQ letters decoded. */
async function streamsText(s: TwoWay): Promise<string> {
  const jsm = await jetstreamManager(s.o.nats);
  const ns = s.t.names.namespace;
  let out = '';
  for await (const info of jsm.streams.list()) {
    const name = info.config.name;
    if (!name.includes(ns) || info.state.messages === 0) continue;
    for (const subjects of info.config.subjects ?? [])
      await readStream(s.o.nats, name, subjects, (m) => {
        const text = m.string();
        out += `${name} ${m.subject}: ${text.replace(/\s*\n\s*/g, ' ')}\n`;
        const base64 = /"data_base64":"([^"]*)"/.exec(text)?.[1];
        if (base64) out += `${name} letter: ${Buffer.from(base64, 'base64').toString()}\n`;
      });
  }
  return out;
}

function leaks(text: string, values: readonly string[]): string[] {
  return text
    .split('\n')
    .filter((line) => values.some((v) => line.includes(v)))
    .map((line) => line.slice(0, 300));
}

test('an erased customer is gone from every store, and a later event brings it back nowhere', async ({
  s,
}) => {
  const person = {
    name: 'Ottoline Forgetmenot',
    email: 'ottoline.forget@example.com',
    phone: '+1 555 0142',
  };
  const { id } = await s.api.create(person);
  const stripeId = await linked(s, id);
  await waitFor(
    async () => s.sf!.records('Account').find((r) => r.Rtws_Id__c === id),
    (a) => a !== undefined,
    20_000,
    200,
  );
  // Edits; a dashboard edit that flows back; a concurrent edit on both sides (a conflict).
  await s.api.patch(id, { phone: '+1 555 0143' });
  await s.stripe.customers.update(stripeId, { name: 'Ottoline Forgetmenot-Dash' });
  await waitFor(
    async () => row(s, id),
    (r) => r?.name === 'Ottoline Forgetmenot-Dash',
    20_000,
    200,
  );
  await quiet(s);
  await s.stripe.customers.update(stripeId, { phone: '+1 555 0144' });
  await s.api.patch(id, { phone: '+1 555 0145' });
  const conflicts = await eventually(
    async () => s.o.sql`SELECT 1 FROM conflicts WHERE customer_id = ${id}`,
    (rows) => rows.length > 0,
    20_000,
    200,
  );
  // Whether the two edits overlap depends on timing; on a loaded machine they may not. Then the
  // conflict is recorded as a reconciliation records one, so that the erasure has one to remove.
  if (conflicts.length === 0)
    await recordTargetConflict(s.o.sql, {
      customerId: id,
      target: 'salesforce',
      field: 'phone',
      postgres: '+1 555 0145',
      held: '+1 555 0144',
      reason: 'salesforce is a target: the catalogue wins',
      foundBy: 'reconcile:1:erasure',
    });
  await quiet(s);
  // A change Stripe refuses, quoting the values: a DLQ letter.
  s.emu.failNext({
    method: 'POST',
    path: `/v1/customers/${stripeId}`,
    status: 400,
    count: 1,
    error: {
      type: 'invalid_request_error',
      message: `Invalid phone for ${person.email}`,
      param: 'phone',
    },
  });
  await s.api.patch(id, { phone: '+1 555 0146' });
  const dlq = async () =>
    JSON.stringify((await call<{ data: unknown[] }>(s, 'GET', '/dlq?limit=100')).body.data);
  await waitFor(dlq, (d) => d.includes(id) || d.includes(stripeId), 20_000, 200);
  // An invoice, issued in Stripe.
  const invoice = await call<{ id: string }>(s, 'POST', `/customers/${id}/invoices`, {
    currency: 'usd',
    items: [{ description: 'Consulting', amount: 5000, quantity: 1 }],
  });
  assert.is(invoice.status, 202, JSON.stringify(invoice.body));
  await waitFor(
    async () => (await call<{ status: string }>(s, 'GET', `/invoices/${invoice.body.id}`)).body,
    (i) => i.status === 'open',
    30_000,
    200,
  );
  // Letters about it and its invoice an operator discarded: the records keep the letters' reasons.
  await recordDiscard(s.o.sql, {
    letterId: 1,
    source: 'customers',
    subject: s.t.names.customerSubject(id),
    letterReason: `stripe: HTTP 400: Invalid phone for ${person.email}`,
    reason: 'a bad number, fixed by hand',
    discardedBy: 'default',
  });
  await recordDiscard(s.o.sql, {
    letterId: 2,
    source: 'invoices',
    subject: s.t.names.invoiceSubject(invoice.body.id, id),
    letterReason: `AddStripeInvoiceItem: HTTP 400: no such customer ${person.name}`,
    reason: 'issued by hand',
    discardedBy: 'default',
  });
  const values = [person.name, person.email, person.phone, '+1 555 0143', '+1 555 0146'];
  assert.ok(leaks(await postgresText(s), values).length > 0, 'the history is in Postgres first');
  assert.ok(leaks(await streamsText(s), values).length > 0, 'and in the streams');

  const asked = await askErasure(s, id);
  assert.is(asked.status, 202, JSON.stringify(asked.body));
  assert.is(asked.body.remote, true);
  const again = await askErasure(s, id);
  assert.is(again.body.id, asked.body.id, 'a second request answers with the first erasure');
  assert.is((await call(s, 'GET', `/customers/${id}`)).status, 404, 'deleted at once');
  const done = await erased(s, asked.body.id);
  assert.is(done.removed.targets?.stripe, 'deleted', JSON.stringify(done.removed));
  assert.is(done.removed.targets?.salesforce, 'deleted', JSON.stringify(done.removed));
  for (const stream of ['changes', 'invoices', 'inbound', 'dlq'])
    assert.ok(
      Number(done.removed.streams?.[stream]) > 0,
      `${stream}: ${JSON.stringify(done.removed)}`,
    );
  assert.is(done.removed.postgres?.customer, 1, JSON.stringify(done.removed));
  assert.ok(Number(done.removed.postgres?.conflicts) > 0, JSON.stringify(done.removed));

  // Stripe's echo of our delete (and any late event) arrives after: give it time to be handled.
  await quiet(s, 3_000);
  assert.equal(leaks(await postgresText(s), values), [], 'Postgres');
  const discards = await s.o.sql<{ letter_reason: string; reason: string }[]>`
    SELECT letter_reason, reason FROM dlq_discards ORDER BY letter_id`;
  assert.equal(
    discards.map((d) => ({ ...d })),
    [
      { letter_reason: '(erased with its customer)', reason: 'a bad number, fixed by hand' },
      { letter_reason: '(erased with its customer)', reason: 'issued by hand' },
    ],
  );
  assert.equal(leaks(await streamsText(s), values), [], 'streams and KV');
  const cus = (await s.stripe.customers.retrieve(stripeId)) as { deleted?: boolean };
  assert.is(cus.deleted, true, 'deleted in Stripe');
  const sfLeft = s.sf!.records('Account').filter((r) => JSON.stringify(r).includes(person.email));
  assert.equal(sfLeft, [], 'deleted in Salesforce');

  // Its invoice paid in Stripe afterwards: the accounting record takes the status, and the event
  // (which quotes the customer) is not kept.
  const issuedInvoice = (
    await call<{ stripe_invoice_id: string }>(s, 'GET', `/invoices/${invoice.body.id}`)
  ).body;
  await s.stripe.invoices.pay(issuedInvoice.stripe_invoice_id, { paid_out_of_band: true });
  await waitFor(
    async () => (await call<{ status: string }>(s, 'GET', `/invoices/${invoice.body.id}`)).body,
    (i) => i.status === 'paid',
    30_000,
    200,
  );

  // A Stripe event about it, delivered late: dropped, and nothing comes back.
  const customers = Number((await s.o.sql`SELECT count(*)::int AS n FROM customers`)[0]!.n);
  const payload = JSON.stringify({
    id: 'evt_after_erasure',
    object: 'event',
    api_version: '2024-06-20',
    created: Math.floor(Date.now() / 1000),
    livemode: true,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'customer.updated',
    data: {
      object: { id: stripeId, object: 'customer', ...person, metadata: {} },
      previous_attributes: { name: 'Someone' },
    },
  });
  const res = await fetch(`${s.rtws.url}/webhooks/stripe`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: s.secret }),
    },
    body: payload,
  });
  assert.is(res.status, 200);
  await quiet(s, 3_000);
  const after = Number((await s.o.sql`SELECT count(*)::int AS n FROM customers`)[0]!.n);
  assert.is(after, customers, 'no customer was made of it');
  assert.equal(leaks(await streamsText(s), values), [], 'and it is not kept in INBOUND');
  assert.equal(leaks(await postgresText(s), values), [], 'nor in Postgres');
});

test('an erasure cut off after the streams were purged is finished by the next worker', async ({
  s,
}) => {
  const person = { name: 'Barnaby Halfway', email: 'barnaby.halfway@example.com' };
  const { id } = await s.api.create(person);
  await linked(s, id);
  await quiet(s);
  await s.killWorker();
  const asked = await askErasure(s, id);
  assert.is(asked.status, 202);
  // What a worker killed midway leaves: the erasure begun (the links gone, the ids kept on the
  // record), the streams purged and the snapshot a tombstone; the catalogue not yet cleared.
  const jsm = await jetstreamManager(s.o.nats);
  const [erasure] = await s.o.sql<{ id: string; customer_id: string }[]>`
    SELECT id, customer_id FROM erasures WHERE id = ${asked.body.id}`;
  const begun = await beginErasure(
    s.o.sql,
    { id: erasure!.id, customerId: erasure!.customer_id },
    { stripe: 'left at the target: the worker was down' },
  );
  assert.ok(begun.externalIds.stripe?.length === 1, 'the Stripe id is kept while it runs');
  await eraseFromStreams(s.o.nats, jsm, s.t.names, {
    customerId: id,
    externalIds: Object.values(begun.externalIds).flat(),
    invoiceIds: begun.invoiceIds,
  });
  const store = await openSnapshotStore(jetstream(s.o.nats), s.t.names.bucket('ACTORS'));
  const stored = await store.load(id);
  await store.save(id, erasedActor(asked.body.id, new Date()), stored?.revision);
  assert.ok(
    leaks(await postgresText(s), [person.email]).length > 0,
    'the catalogue is not cleared yet',
  );
  s.spawnWorker();
  const done = await erased(s, asked.body.id, 60_000);
  assert.is(done.status, 'erased');
  assert.is(
    done.removed.targets?.stripe,
    'left at the target: the worker was down',
    'what was recorded when it began',
  );
  const [kept] = await s.o.sql`SELECT external_ids FROM erasures WHERE id = ${asked.body.id}`;
  assert.is(kept?.external_ids, null, 'the ids are dropped when it finishes');
  assert.equal(leaks(await postgresText(s), [person.name, person.email]), []);
  assert.equal(leaks(await streamsText(s), [person.name, person.email]), []);

  // A message reaching the erased actor afterwards (a call's late outcome, say) is dropped, and
  // removed from the stream.
  const late = encodeRecordedEvent(id, {
    type: 'RetryRequested',
    data: { target: 'stripe' },
    at: 0,
  });
  await jetstream(s.o.nats).publish(s.t.names.customerSubject(id), JSON.stringify(late));
  const history = await eventually(
    () => customerHistory(s.o.nats, s.t.names, id),
    (h) => h.length === 0,
    20_000,
    200,
  );
  assert.equal(history, []);
  assert.ok(isErasedActor((await store.load(id))?.value), 'the tombstone stays');
});

test.run();
