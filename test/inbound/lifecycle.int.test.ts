// Customers born in Stripe, deleted in Stripe, and webhooks duplicated, delayed and reordered.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type Stripe from 'stripe';
import { stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { sign } from '../webhooks/signing.ts';
import { jetstream } from '@nats-io/jetstream';
import { deadLetterQueue } from '../../adapters/jetstream/dlq.ts';
import { linked, quiet, row, rowWhen, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('Stripe-born customers, deletes, duplicates and reorders');
test.before(async (ctx) => {
  ctx.s = await twoWay();
});
test.after.each(({ s }) => {
  s.emu.configureWebhooks({ duplicate: false, delayMs: 0, reorderWindow: 0 });
  s.emu.clearFaults();
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

const retrieve = async (s: TwoWay, id: string) =>
  (await s.stripe.customers.retrieve(id)) as Stripe.Customer;

test('a customer created in Stripe is inserted once, then linked with rtws_id', async ({ s }) => {
  s.emu.configureWebhooks({ duplicate: true });
  const c = await s.stripe.customers.create({ email: 'born@example.com', phone: '+1 555 0100' });
  const id = stripeBornId(c.id);
  const r = await rowWhen(s, id, () => true);
  assert.is(r?.name, 'born@example.com', 'no name: the email stands in');
  assert.is(r?.origin, 'stripe');
  assert.is(await linked(s, id), c.id);
  const tagged = await eventually(
    () => retrieve(s, c.id),
    (x) => x.metadata.rtws_id === id,
    10_000,
  );
  assert.is(tagged.metadata.rtws_id, id);
  // The same created event again, past JetStream's dedupe (another message id): still one row.
  const created = (await s.stripe.events.list({ limit: 20, type: 'customer.created' })).data.find(
    (e) => (e.data.object as { id?: string }).id === c.id,
  )!;
  await jetstream(s.o.nats).publish(
    s.t.names.inboundSubject('stripe', 'customer.created', c.id),
    JSON.stringify(created),
    { msgID: `${created.id}-again` },
  );
  await quiet(s);
  const [{ count }] = await s.o.sql<[{ count: number }]>`
    SELECT count(*)::int AS count FROM customers WHERE email = 'born@example.com'`;
  assert.is(count, 1);
  // rtws_id goes back on if someone removes it.
  await s.stripe.customers.update(c.id, { metadata: { rtws_id: '' } });
  const restored = await eventually(
    () => retrieve(s, c.id),
    (x) => x.metadata.rtws_id === id,
    10_000,
  );
  assert.is(restored.metadata.rtws_id, id);
});

test('an update that arrives before its created inserts the customer', async ({ s }) => {
  s.emu.pauseWebhooks();
  const c = await s.stripe.customers.create({ name: 'Early Bird' });
  await s.stripe.customers.update(c.id, { name: 'Early Bird II' });
  // The update is delivered first; the created event (and the emulator's own deliveries) later.
  const events = await s.stripe.events.list({ limit: 10 });
  const ofIt = events.data.filter((e) => (e.data.object as { id?: string }).id === c.id);
  const updated = ofIt.find((e) => e.type === 'customer.updated')!;
  const created = ofIt.find((e) => e.type === 'customer.created')!;
  for (const e of [updated, created]) {
    const body = JSON.stringify(e);
    const res = await fetch(`${s.rtws.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': sign(body, s.secret) },
      body,
    });
    assert.is(res.status, 200);
  }
  s.emu.resumeWebhooks();
  const id = stripeBornId(c.id);
  const r = await rowWhen(s, id, (x) => x.name === 'Early Bird II');
  assert.is(r?.name, 'Early Bird II');
  await quiet(s);
  assert.is((await row(s, id))?.name, 'Early Bird II');
  const [{ count }] = await s.o.sql<[{ count: number }]>`
    SELECT count(*)::int AS count FROM customers WHERE name LIKE 'Early Bird%'`;
  assert.is(count, 1);
});

test('a deletion in Stripe soft-deletes the customer; a late update does not resurrect it', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Doomed', email: 'doomed@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  s.emu.pauseWebhooks();
  await s.stripe.customers.update(stripeId, { name: 'Doomed Late' });
  await s.stripe.customers.del(stripeId);
  s.emu.configureWebhooks({ reorderWindow: 2 });
  s.emu.resumeWebhooks();
  const r = await rowWhen(s, id, (x) => x.deleted_at !== null);
  assert.ok(r?.deleted_at, 'deleted');
  assert.is(r?.origin, 'stripe');
  // The update delivered once more, after the deletion is known.
  const update = (await s.stripe.events.list({ limit: 20, type: 'customer.updated' })).data.find(
    (e) => (e.data.object as { id?: string }).id === stripeId,
  )!;
  const body = JSON.stringify(update);
  const res = await fetch(`${s.rtws.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': sign(body, s.secret) },
    body,
  });
  assert.is(res.status, 200);
  await quiet(s);
  const after = await row(s, id);
  assert.ok(after?.deleted_at, 'still deleted');
  assert.is(after?.name, 'Doomed', 'the late update changed nothing');
});

test('our own delete is not echoed into anything', async ({ s }) => {
  const { id } = await s.api.create({ name: 'Ours to delete' });
  const stripeId = await linked(s, id);
  const res = await fetch(`${s.rtws.url}/customers/${id}`, {
    method: 'DELETE',
    headers: { authorization: 'Bearer test-token-0123456789abcdef' },
  });
  assert.is(res.status, 204);
  await waitFor(
    () => retrieve(s, stripeId),
    (c) => (c as { deleted?: boolean }).deleted === true,
    10_000,
  );
  await quiet(s);
  const r = await row(s, id);
  assert.is(r?.origin, 'api', 'no write with origin stripe');
});

test("with duplicated, delayed and reordered webhooks, Postgres ends on Stripe's latest content", async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Shuffled', email: 'shuffled@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  s.emu.configureWebhooks({ duplicate: true, delayMs: 50, reorderWindow: 4 });
  for (let i = 1; i <= 6; i++) {
    await s.stripe.customers.update(stripeId, {
      name: `Shuffled ${i}`,
      metadata: { step: String(i) },
    });
  }
  const r = await rowWhen(s, id, (x) => x.name === 'Shuffled 6' && x.metadata.step === '6');
  assert.is(r?.name, 'Shuffled 6');
  await quiet(s);
  const final = await row(s, id);
  assert.is(final?.name, 'Shuffled 6');
  assert.is(final?.metadata.step, '6');
  assert.is((await retrieve(s, stripeId)).name, 'Shuffled 6');
});

test('a malformed inbound event goes to the DLQ with its reason, and the next one flows', async ({
  s,
}) => {
  // No customer to place it by: partition 0, as the webhook route would.
  const subject = s.t.names.inboundSubject('stripe', 'customer.updated', undefined);
  await jetstream(s.o.nats).publish(subject, '{"id":"evt_poison","type":"customer.updated"}', {
    msgID: 'evt_poison',
  });
  const dlq = await deadLetterQueue(s.o.nats, s.t.names);
  const letters = await eventually(
    async () => (await dlq.list(100)).data.filter((l) => l.source === 'stripe-customers'),
    (l) => l.length > 0,
    10_000,
  );
  assert.match(letters[0]!.reason, /evt_poison: data.object is not a customer/);
  // Recorded once the DLQ has stored it: a moment after it is listed.
  const id = `dlq:${letters[0]!.stream}:${letters[0]!.stream_seq}`;
  const recorded = await eventually(
    async () =>
      (
        await s.o.sql<{ subject: string }[]>`
      SELECT subject FROM letter_ledger WHERE id = ${id}`
      ).map((r) => r.subject),
    (subjects) => subjects.length > 0,
    5_000,
  );
  assert.equal(recorded, [subject], 'the letter is in the ledger, for after the dedupe window');
  const c = await s.stripe.customers.create({ name: 'After the poison' });
  const r = await rowWhen(s, stripeBornId(c.id), () => true);
  assert.is(r?.name, 'After the poison');
});

test('a change Postgres refuses is dead-lettered with its reason, cannot be redriven, and the next one flows', async ({
  s,
}) => {
  await s.o.sql`ALTER TABLE customers ADD CONSTRAINT no_refused_names CHECK (name <> 'Refused')`;
  try {
    const { id } = await s.api.create({ name: 'Refusable' });
    const stripeId = await linked(s, id);
    await quiet(s, 300);
    await s.stripe.customers.update(stripeId, { name: 'Refused' });
    const dlq = await deadLetterQueue(s.o.nats, s.t.names);
    const letters = await eventually(
      async () => (await dlq.list(100)).data.filter((l) => l.source === 'inbound'),
      (l) => l.length > 0,
      10_000,
    );
    assert.match(letters[0]!.reason, /postgres refused the change from Stripe .*23514/);
    // Its id names the customer and the write: a resume refuses writes from sequence 0.
    const { stream, stream_seq: seq, subject } = letters[0]!;
    const recorded = await eventually(
      async () =>
        (
          await s.o.sql<{ id: string }[]>`
        SELECT id FROM letter_ledger WHERE subject = ${subject}`
        ).map((r) => r.id),
      (ids) => ids.length > 0,
      5_000,
    );
    assert.is(recorded.length, 1, "the worker's letter is in the ledger");
    assert.match(recorded[0]!, new RegExp(`^dlq:${stream}:${seq}:${id}/catalogue-\\d+@\\d+$`));
    const res = await fetch(`${s.rtws.url}/dlq/${letters[0]!.id}/retry`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-token-0123456789abcdef' },
    });
    assert.is(res.status, 409);
    await s.stripe.customers.update(stripeId, { name: 'Accepted' });
    const r = await rowWhen(s, id, (x) => x.name === 'Accepted');
    assert.is(r?.name, 'Accepted');
  } finally {
    await s.o.sql`ALTER TABLE customers DROP CONSTRAINT no_refused_names`;
  }
});

test.run();
