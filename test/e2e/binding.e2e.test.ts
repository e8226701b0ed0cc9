// The Stripe account binding as an operator meets it: the first start binds the database to the
// key's account; a start with a key of another account exits 2, naming both accounts and the
// command that rebinds, and deletes nothing; `npm run rtws -- rebind stripe --confirm <acct>`
// archives the old links and lets rtws run against the new account, dropping what a process still
// running with the old key stores. A Stripe that cannot be
// reached at start pauses the Stripe target only, and its webhooks are answered 503 (not stored)
// until the account is verified. Salesforce is bound the same way, to the organization its
// credentials belong to.
import { createServer } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { setStripeStamp } from '../../adapters/jetstream/inbound.ts';
import { backlogOf } from '../../adapters/jetstream/consumer-progress.ts';
import { CUSTOMER_EVENTS, inboundDurables } from '../../adapters/jetstream/inbound-durables.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { apiUrlOf, spawnCli, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import {
  authHeaders,
  observe,
  testEnvironment,
  type Observer,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { apiClient } from '../sync/api-client.ts';
import { eventBody, sign } from '../webhooks/signing.ts';

const ACCOUNT_A = 'acct_BindingTestAaaaaaa';
const ACCOUNT_B = 'acct_BindingTestBbbbbbb';
const KEY = 'sk_test_binding';

const test = suite<{
  t: TestEnvironment;
  o: Observer;
  a: StripeEmulator;
  b: StripeEmulator;
  children: RtwsProcess[];
}>('Stripe account binding');

test.before(async (ctx) => {
  ctx.children = [];
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.a = await startStripeEmulator({ port: 0, accountId: ACCOUNT_A, searchLagMs: 0 });
  ctx.b = await startStripeEmulator({ port: 0, accountId: ACCOUNT_B, searchLagMs: 0 });
});
test.after(async (ctx) => {
  for (const c of ctx.children ?? []) await c.kill();
  await ctx.a?.close();
  await ctx.b?.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

const envFor = (t: TestEnvironment, apiBase: string) => ({
  ...t.env,
  STRIPE_SECRET_KEY: KEY,
  STRIPE_API_BASE: apiBase,
  STRIPE_WEBHOOK_SECRET: 'whsec_binding',
  LOG_LEVEL: 'warn',
});

async function stripeLink(o: Observer, id: string): Promise<string | undefined> {
  const [l] = await o.sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links WHERE customer_id = ${id} AND target = 'stripe'`;
  return l?.external_id;
}

test('a key of another account refuses to start, deletes nothing, and rebind moves on', async (ctx) => {
  const { t, o, a, b } = ctx;
  const first = spawnRtws(envFor(t, a.url));
  ctx.children.push(first);
  const api = apiClient(await apiUrlOf(first));
  const { id } = await api.create({ name: 'Bound', email: 'bound@example.com' });
  const inA = await eventually(
    () => stripeLink(o, id),
    (l) => l !== undefined,
  );
  assert.ok(inA, 'linked in the first account');
  const [binding] = await o.sql<{ account_id: string }[]>`SELECT account_id FROM target_bindings`;
  assert.is(binding?.account_id, ACCOUNT_A);
  assert.is(await first.kill('SIGTERM'), 0);

  const wrong = spawnRtws(envFor(t, b.url));
  ctx.children.push(wrong);
  assert.is(await wrong.exited, 2, wrong.output());
  assert.match(wrong.output(), new RegExp(ACCOUNT_A));
  assert.match(wrong.output(), new RegExp(`rebind stripe --confirm ${ACCOUNT_B}`));
  // Every process that calls Stripe checks, not only a worker: the API reads the account too.
  const wrongApi = spawnRtws({ ...envFor(t, b.url), RTWS_ROLES: 'api' });
  ctx.children.push(wrongApi);
  assert.is(await wrongApi.exited, 2, wrongApi.output());
  assert.match(wrongApi.output(), new RegExp(ACCOUNT_A));
  const [row] = await o.sql<{ deleted_at: Date | null }[]>`
    SELECT deleted_at FROM customers WHERE id = ${id}`;
  assert.is(row?.deleted_at, null, 'nothing was deleted');
  assert.is(await stripeLink(o, id), inA, 'the link is untouched');

  const mistaken = spawnCli(['rebind', 'stripe', '--confirm', ACCOUNT_A], envFor(t, b.url));
  assert.is(await mistaken.exited, 1, mistaken.output());
  assert.match(mistaken.output(), /belongs to/);

  // An invoice whose draft is in the old account cannot be finished in the new one: the rebind
  // waits for it. Recorded without its capture, as the old account's invoice actor left it.
  const invoice = (status: string, stripeId: string) =>
    o.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      const [r] = await tx<{ id: string }[]>`
        INSERT INTO invoices (customer_id, status, currency, due_days, total, stripe_invoice_id)
        VALUES (${id}, ${status}, 'usd', 30, 0, ${stripeId}) RETURNING id`;
      return r!.id;
    });
  const issued = await invoice('open', 'in_OldAccountIssued');
  const drafted = await invoice('draft', 'in_OldAccountDraft');
  const midIssue = spawnCli(['rebind', 'stripe', '--confirm', ACCOUNT_B], envFor(t, b.url));
  assert.is(await midIssue.exited, 1, midIssue.output());
  assert.match(
    midIssue.output(),
    new RegExp(`invoices are being issued in the old account \\(${drafted}\\)`),
  );
  await o.sql`UPDATE invoices SET status = 'open' WHERE id = ${drafted}`;

  // An event of the old account still waiting in INBOUND would be mapped under the new binding.
  await jetstream(o.nats).publish(
    t.names.inboundSubject('stripe', 'customer.updated', 'cus_OldAccount1'),
    JSON.stringify({ id: 'evt_OldAccount1', type: 'customer.updated' }),
    { msgID: 'evt_OldAccount1' },
  );
  // And one dead-lettered from INBOUND: a redrive would map it under the new binding too.
  await jetStreamDeadLetters(jetstream(o.nats), t.names).publish({
    source: 'stripe-customers',
    stream: t.names.streams.inbound,
    streamSeq: 1,
    subject: t.names.inboundSubject('stripe', 'customer.updated', 'cus_OldAccount2'),
    reason: 'postgres was away',
    deliveries: 5,
    data: new TextEncoder().encode('{"id":"evt_OldAccount2","type":"customer.updated"}'),
  });
  const undrained = spawnCli(['rebind', 'stripe', '--confirm', ACCOUNT_B], envFor(t, b.url));
  assert.is(await undrained.exited, 1, undrained.output());
  assert.match(undrained.output(), /1 Stripe events of the old account are not applied yet/);
  assert.match(undrained.output(), /1 Stripe events of the old account are dead letters/);
  const rebind = spawnCli(
    ['rebind', 'stripe', '--confirm', ACCOUNT_B, '--discard-inbound'],
    envFor(t, b.url),
  );
  assert.is(await rebind.exited, 0, rebind.output());
  assert.match(rebind.output(), /1 Stripe events of the old account discarded/);
  assert.match(rebind.output(), /1 dead letters of the old account's Stripe events discarded/);
  assert.match(rebind.output(), /1 links archived/);
  assert.match(rebind.output(), new RegExp(`2 invoices issued in ${ACCOUNT_A} marked as its own`));
  const former = await o.sql<{ id: string; former_stripe_account: string }[]>`
    SELECT id, former_stripe_account FROM invoices WHERE customer_id = ${id} ORDER BY stripe_invoice_id`;
  assert.equal(
    former.map((r) => [r.id, r.former_stripe_account]),
    [
      [drafted, ACCOUNT_A],
      [issued, ACCOUNT_A],
    ],
  );
  const archived = await o.sql<{ external_id: string; account_id: string }[]>`
    SELECT external_id, account_id FROM customer_links_archive WHERE customer_id = ${id}`;
  assert.equal(
    archived.map((r) => ({ ...r })),
    [{ external_id: inA, account_id: ACCOUNT_A }],
  );

  const second = spawnRtws(envFor(t, b.url));
  ctx.children.push(second);
  const url = await apiUrlOf(second);
  // The catalogue is offered to the new account, with no edit needed.
  const exported = spawnCli(['backfill', '--from', 'postgres'], {
    ...envFor(t, b.url),
    RTWS_URL: url,
  });
  assert.is(await exported.exited, 0, exported.output());
  assert.match(exported.output(), /"state":"done".*"counts":\{"offer":1\}/);
  const inB = await eventually(
    () => stripeLink(o, id),
    (l) => l !== undefined,
    30_000,
  );
  assert.ok(inB && inB !== inA, 'linked in the new account');
  const inAccountB = await stripeClient({ secretKey: KEY, apiBase: b.url }).customers.retrieve(inB);
  assert.is((inAccountB as { metadata: Record<string, string> }).metadata.rtws_id, id);

  // One customer, through the API: unknown and malformed ids change nothing.
  const resync = (who: string) =>
    fetch(`${url}/customers/${who}/resync`, {
      method: 'POST',
      headers: { authorization: authHeaders().authorization! },
    });
  assert.is((await resync(id)).status, 202);
  assert.is((await resync('7d0f6a3e-0000-4000-8000-000000000000')).status, 404);
  assert.is((await resync('not-a-customer')).status, 400);
  await new Promise((r) => setTimeout(r, 1_000));
  assert.is(await stripeLink(o, id), inB, 'a resync of a synced customer changes no link');

  // A process left running with the old key stamps what it receives with the old account: the
  // new binding's worker drops it, and maps what the new account's sends.
  const received = async (account: string, stripeId: string, email: string) => {
    const h = setStripeStamp(headers(), { account, livemode: false });
    const body = eventBody({
      type: 'customer.created',
      data: { object: { id: stripeId, object: 'customer', name: 'Born', email, metadata: {} } },
    });
    await jetstream(o.nats).publish(
      t.names.inboundSubject('stripe', 'customer.created', stripeId),
      body,
      { msgID: `stamped:${stripeId}`, headers: h },
    );
  };
  const bornWith = async (email: string) =>
    (await o.sql`SELECT 1 FROM customers WHERE email = ${email}`).length;
  await received(ACCOUNT_A, 'cus_OldAccountLate', 'late.old@example.com');
  await received(ACCOUNT_B, 'cus_NewAccountBorn', 'born.new@example.com');
  assert.is(
    await waitFor(
      () => bornWith('born.new@example.com'),
      (n) => n === 1,
      30_000,
    ),
    1,
    "the new account's event is applied",
  );
  // Both handled: nothing left for the customer events' consumers.
  const jsm = await jetstreamManager(o.nats);
  const backlog = async () => {
    let n = 0;
    for (const d of inboundDurables(t.names, CUSTOMER_EVENTS))
      n += (await backlogOf(jsm, t.names.streams.inbound, d.name)) ?? 0;
    return n;
  };
  assert.is(await eventually(backlog, (n) => n === 0, 30_000), 0);
  assert.is(await bornWith('late.old@example.com'), 0, "the old account's event is dropped");
});

test('after a rebind, an import links the customers the new account has, and export the rest', async (ctx) => {
  const t = await testEnvironment();
  const o = await observe(t);
  const oldAccount = await startStripeEmulator({ port: 0, searchLagMs: 0 });
  const next = await startStripeEmulator({ port: 0, searchLagMs: 0 });
  const inNext = stripeClient({ secretKey: KEY, apiBase: next.url });
  try {
    const dana = await inNext.customers.create({
      name: 'Dana in the new account',
      email: 'Dana@Example.com',
      phone: '+1 555 0101',
    });
    await inNext.customers.create({ name: 'Only there', email: 'only@example.com' });
    // Catch-up after a rebind starts from now less its margin: these came before, as an account
    // in use has them, and are the import's to place (with a margin they would be Stripe-born).
    const env = { ...envFor(t, next.url), RTWS_CATCHUP_MARGIN_S: '0' };
    await new Promise((r) => setTimeout(r, 1_100));
    const first = spawnRtws(envFor(t, oldAccount.url));
    ctx.children.push(first);
    const api = apiClient(await apiUrlOf(first));
    const { id: danaId } = await api.create({ name: 'Dana', email: 'dana@example.com' });
    const { id: eveId } = await api.create({ name: 'Eve', email: 'eve@example.com' });
    for (const id of [danaId, eveId])
      await waitFor(
        () => stripeLink(o, id),
        (l) => l !== undefined,
      );
    assert.is(await first.kill('SIGTERM'), 0);
    const rebind = spawnCli(['rebind', 'stripe', '--confirm', next.accountId], env);
    assert.is(await rebind.exited, 0, rebind.output());
    const second = spawnRtws(env);
    ctx.children.push(second);
    // The CLI starts backfills through the API of the running rtws.
    const cli = { ...env, RTWS_URL: await apiUrlOf(second) };

    const imported = spawnCli(['backfill', '--from', 'stripe'], cli);
    assert.is(await imported.exited, 0, imported.output());
    assert.match(imported.output(), /"match":1/, imported.output());
    assert.match(imported.output(), /"insert":1/);
    const linked = await eventually(
      () => stripeLink(o, danaId),
      (l) => l !== undefined,
      30_000,
    );
    assert.is(linked, dana.id, 'Dana is linked to the customer the account had');
    // The existing Stripe customer keeps the values it has; the catalogue takes them.
    const [row] = await o.sql<{ name: string; phone: string | null }[]>`
      SELECT name, phone FROM customers WHERE id = ${danaId}`;
    const settled = await eventually(
      async () =>
        (await o.sql<{ name: string }[]>`SELECT name FROM customers WHERE id = ${danaId}`)[0],
      (r) => r?.name === 'Dana in the new account',
      15_000,
    );
    assert.is(settled?.name, 'Dana in the new account', JSON.stringify(row));
    const [conflict] = await o.sql<{ reason: string }[]>`
      SELECT reason FROM conflicts WHERE customer_id = ${danaId} AND field = 'name'`;
    assert.match(conflict?.reason ?? '', /^match/);

    const exported = spawnCli(['backfill', '--from', 'postgres'], cli);
    assert.is(await exported.exited, 0, exported.output());
    const eve = await eventually(
      () => stripeLink(o, eveId),
      (l) => l !== undefined,
      30_000,
    );
    assert.ok(eve, 'Eve, whom the account did not have, is created there');
    await new Promise((r) => setTimeout(r, 1_000));
    let customers = 0;
    for await (const _ of inNext.customers.list({ limit: 100 })) customers++;
    assert.is(customers, 3, 'Dana, the one only there, and Eve: no second Dana');
    const withId = (await inNext.customers.retrieve(dana.id)) as {
      metadata: Record<string, string>;
    };
    assert.is(withId.metadata.rtws_id, danaId);
  } finally {
    await oldAccount.close();
    await next.close();
    await o.close();
    await t.cleanup();
  }
});

test('a Stripe that cannot be reached at start pauses Stripe and its webhooks; it binds once it answers', async (ctx) => {
  const t = await testEnvironment();
  const port = await freePort();
  const p = spawnRtws(envFor(t, `http://127.0.0.1:${port}`));
  ctx.children.push(p);
  let late: StripeEmulator | undefined;
  try {
    const url = await apiUrlOf(p);
    const res = await fetch(`${url}/customers`, {
      method: 'POST',
      headers: authHeaders(),
      body: JSON.stringify({ name: 'Waiting' }),
    });
    assert.is(res.status, 201, 'the API runs meanwhile');
    const { id } = (await res.json()) as { id: string };
    // Signed with the configured secret, but from an account no one has verified yet.
    const payload = eventBody();
    const deliver = () =>
      fetch(`${url}/webhooks/stripe`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'stripe-signature': sign(payload, 'whsec_binding'),
        },
        body: payload,
      });
    const early = await deliver();
    assert.is(early.status, 503, 'no event is stored before the account is verified');
    assert.is(early.headers.get('retry-after'), '5');
    late = await startStripeEmulator({ port, accountId: ACCOUNT_A, searchLagMs: 0 });
    const o = await observe(t);
    try {
      const link = await eventually(
        () => stripeLink(o, id),
        (l) => l !== undefined,
        30_000,
      );
      assert.ok(link, 'pushed once the account is verified');
      const again = await deliver();
      assert.is(again.status, 200, "Stripe's retry is stored once it is");
    } finally {
      await o.close();
    }
  } finally {
    await p.kill();
    await late?.close();
    await t.cleanup();
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('Salesforce credentials of another organization refuse to start; rebind moves on', async (ctx) => {
  const t = await testEnvironment();
  const o = await observe(t);
  const stripe = await startStripeEmulator({ port: 0, searchLagMs: 0 });
  const sfA = await startSalesforceEmulator({ port: 0 });
  const sfB = await startSalesforceEmulator({ port: 0 });
  const env = (sf: typeof sfA) => ({
    ...envFor(t, stripe.url),
    SALESFORCE_LOGIN_URL: sf.loginUrl,
    SALESFORCE_CLIENT_ID: sf.clientId,
    SALESFORCE_CLIENT_SECRET: sf.clientSecret,
  });
  try {
    assert.is.not(sfA.orgId, sfB.orgId);
    const first = spawnRtws(env(sfA));
    ctx.children.push(first);
    const { id } = await apiClient(await apiUrlOf(first)).create({ name: 'In org A' });
    const link = () =>
      o.sql<{ external_id: string }[]>`
        SELECT external_id FROM customer_links WHERE customer_id = ${id} AND target = 'salesforce'`;
    assert.ok((await eventually(link, (rows) => rows.length === 1))[0], 'linked in org A');
    const [bound] = await o.sql<{ account_id: string }[]>`
      SELECT account_id FROM target_bindings WHERE target = 'salesforce'`;
    assert.is(bound?.account_id, sfA.orgId);
    assert.is(await first.kill('SIGTERM'), 0);

    const wrong = spawnRtws(env(sfB));
    ctx.children.push(wrong);
    assert.is(await wrong.exited, 2, wrong.output());
    assert.match(wrong.output(), new RegExp(`rebind salesforce --confirm ${sfB.orgId}`));
    assert.is((await link()).length, 1, 'the link is untouched');

    const rebind = spawnCli(['rebind', 'salesforce', '--confirm', sfB.orgId], env(sfB));
    assert.is(await rebind.exited, 0, rebind.output());
    assert.match(rebind.output(), /1 links archived/);
    const second = spawnRtws(env(sfB));
    ctx.children.push(second);
    const url = await apiUrlOf(second);
    // The switch on is not new (Salesforce was on before): the export is the operator's.
    const exported = spawnCli(['backfill', '--from', 'postgres'], { ...env(sfB), RTWS_URL: url });
    assert.is(await exported.exited, 0, exported.output());
    const inB = await eventually(link, (rows) => rows.length === 1, 30_000);
    assert.is(inB.length, 1, 'linked in org B');
  } finally {
    await stripe.close();
    await sfA.close();
    await sfB.close();
    await o.close();
    await t.cleanup();
  }
});

test.run();
