// Catch-up against lost deliveries: webhooks Stripe gave up on, an endpoint disabled for a while,
// and rtws down while its deliveries run out of retries. Every change made in Stripe meanwhile (a
// dashboard edit, a customer born in Stripe, a deletion) still reaches Postgres and Salesforce,
// from the events API, once, with no duplicate customer.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Connection } from 'jsforce';
import { stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { accountsOf, linked, quiet, rowWhen, salesforceOf, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay; conn: Connection }>('catch-up after lost deliveries');
test.before(async (ctx) => {
  ctx.s = await twoWay({
    salesforce: true,
    env: { RTWS_CATCHUP_INTERVAL_S: '1', RTWS_CATCHUP_MARGIN_S: '5' },
  });
  ctx.conn = await salesforceOf(ctx.s);
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

/** Two customers made through the API, in Stripe and Salesforce, and settled. */
async function pair(s: TwoWay, conn: Connection, tag: string) {
  const edited = await s.api.create({ name: `${tag} edited`, email: `${tag}-e@example.com` });
  const deleted = await s.api.create({ name: `${tag} deleted`, email: `${tag}-d@example.com` });
  const editedStripe = await linked(s, edited.id);
  const deletedStripe = await linked(s, deleted.id);
  for (const id of [edited.id, deleted.id])
    await waitFor(
      () => accountsOf(conn, id),
      (a) => a.length === 1,
      10_000,
    );
  await quiet(s, 300);
  return { edited: edited.id, editedStripe, deleted: deleted.id, deletedStripe };
}

/** The three changes made in Stripe, as a person would; returns the Stripe-born customer's id. */
async function changesInStripe(s: TwoWay, p: Awaited<ReturnType<typeof pair>>, tag: string) {
  await s.stripe.customers.update(p.editedStripe, { name: `${tag} edited in Stripe` });
  const born = await s.stripe.customers.create({
    name: `${tag} born`,
    email: `${tag}-b@example.com`,
  });
  await s.stripe.customers.del(p.deletedStripe);
  return born.id;
}

/** The ids of the three changes' events, which no webhook must have brought. */
async function changeEvents(
  s: TwoWay,
  p: Awaited<ReturnType<typeof pair>>,
  born: string,
  tag: string,
): Promise<string[]> {
  const events = await s.stripe.events.list({ type: 'customer.*', limit: 100 });
  const ids = events.data
    .filter((e) => {
      const object = e.data.object as { id: string; name?: string | null };
      if (e.type === 'customer.created') return object.id === born;
      if (e.type === 'customer.deleted') return object.id === p.deletedStripe;
      return object.id === p.editedStripe && object.name === `${tag} edited in Stripe`;
    })
    .map((e) => e.id);
  assert.is(ids.length, 3, 'one event per change');
  return ids;
}

/** Of these events, those a webhook delivered. */
function delivered(s: TwoWay, eventIds: string[]): string[] {
  const ids = new Set(eventIds);
  return s.emu
    .webhookAttempts()
    .filter((a) => a.ok && ids.has(a.eventId))
    .map((a) => a.eventId);
}

/** Every change arrived: in Postgres, once, and in Salesforce. */
async function arrived(
  s: TwoWay,
  conn: Connection,
  p: Awaited<ReturnType<typeof pair>>,
  bornStripe: string,
  tag: string,
): Promise<void> {
  const edited = await rowWhen(s, p.edited, (r) => r.name === `${tag} edited in Stripe`, 20_000);
  assert.is(edited?.name, `${tag} edited in Stripe`);
  assert.is(edited?.origin, 'stripe');
  const bornId = stripeBornId(bornStripe);
  const born = await rowWhen(s, bornId, () => true, 20_000);
  assert.is(born?.name, `${tag} born`);
  const deleted = await rowWhen(s, p.deleted, (r) => r.deleted_at !== null, 20_000);
  assert.ok(deleted?.deleted_at, 'the deletion reached Postgres');

  const sameEmail = await s.o.sql<{ id: string }[]>`
    SELECT id FROM customers WHERE lower(email) = ${`${tag}-b@example.com`}`;
  assert.equal(
    sameEmail.map((r) => r.id),
    [bornId],
    'one catalogue customer for the Stripe-born one',
  );
  const links = await s.o.sql<{ customer_id: string }[]>`
    SELECT customer_id FROM customer_links WHERE target = 'stripe' AND external_id = ${bornStripe}`;
  assert.equal(
    links.map((l) => l.customer_id),
    [bornId],
  );

  const sfEdited = await eventually(
    () => accountsOf(conn, p.edited),
    (a) => a[0]?.Name === `${tag} edited in Stripe`,
    15_000,
  );
  assert.equal(sfEdited, [
    { Name: `${tag} edited in Stripe`, Rtws_Email__c: `${tag}-e@example.com` },
  ]);
  const sfBorn = await eventually(
    () => accountsOf(conn, bornId),
    (a) => a.length === 1,
    15_000,
  );
  assert.equal(sfBorn, [{ Name: `${tag} born`, Rtws_Email__c: `${tag}-b@example.com` }]);
  const sfDeleted = await eventually(
    () => accountsOf(conn, p.deleted),
    (a) => a.length === 0,
    15_000,
  );
  assert.equal(sfDeleted, []);
}

test('lost deliveries: dropped webhooks of an edit, a birth and a deletion', async ({
  s,
  conn,
}) => {
  const p = await pair(s, conn, 'drop');
  s.emu.pauseWebhooks();
  let born: string;
  try {
    born = await changesInStripe(s, p, 'drop');
    assert.ok(s.emu.dropWebhooks() >= 3, 'the three deliveries were pending, and are dropped');
  } finally {
    s.emu.resumeWebhooks();
  }
  const lost = await changeEvents(s, p, born, 'drop');
  await arrived(s, conn, p, born, 'drop');
  assert.equal(delivered(s, lost), [], 'no webhook brought any of them');
});

test('lost deliveries: an endpoint disabled while the changes are made', async ({ s, conn }) => {
  const p = await pair(s, conn, 'off');
  const [endpoint] = (await s.stripe.webhookEndpoints.list()).data;
  await s.stripe.webhookEndpoints.update(endpoint!.id, { disabled: true });
  let born: string;
  try {
    born = await changesInStripe(s, p, 'off');
    await s.emu.flushWebhooks();
  } finally {
    await s.stripe.webhookEndpoints.update(endpoint!.id, { disabled: false });
  }
  const lost = await changeEvents(s, p, born, 'off');
  await arrived(s, conn, p, born, 'off');
  // Re-enabled, the endpoint gets new events, never those made while it was disabled.
  assert.equal(delivered(s, lost), [], 'no webhook brought any of them');
});

test('a long outage: rtws down while its deliveries exhaust their retries', async ({ s, conn }) => {
  const p = await pair(s, conn, 'down');
  await s.stopRtws();
  let born: string;
  try {
    const before = s.emu.stats().webhooksFailed;
    born = await changesInStripe(s, p, 'down');
    // Every attempt, retries included, meets a closed port until Stripe gives up.
    const flushed = await s.emu.flushWebhooks();
    assert.is(flushed.pending, 0);
    assert.ok(flushed.failed - before >= 3, 'the deliveries failed for good');
  } finally {
    await s.startRtws();
  }
  const lost = await changeEvents(s, p, born, 'down');
  await arrived(s, conn, p, born, 'down');
  assert.equal(delivered(s, lost), [], 'no webhook brought any of them');
});

test.run();
