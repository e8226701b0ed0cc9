// The whole loop in one process, as `npm start` runs it in the sandbox: a customer written through
// the API reaches the Stripe and Salesforce emulators, its links and sync status come back, and an
// update and a delete follow it there.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Stripe from 'stripe';
import { spawnSandbox, type RtwsProcess } from '../harness/process.ts';
import { authHeaders, observe, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { jetstream } from '@nats-io/jetstream';
import { openSnapshotStore } from '../../adapters/jetstream/kv-snapshot-store.ts';
import { customerHistory } from '../../adapters/jetstream/customer-history.ts';
import { rebuild } from '../../actors/runtime/rebuild.ts';
import { customerKind } from '../../actors/customer/kind.ts';
import { decodeActor } from '../../actors/customer/snapshot-codec.ts';
import { createCustomerMachine, DEFAULT_POLICIES } from '../../actors/customer/index.ts';
import { eventually } from '../harness/stream.ts';
import { connectSalesforce } from '../../adapters/salesforce/client.ts';

const test = suite<{ t: TestEnvironment; p?: RtwsProcess }>('sync end to end');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
});
test.after(async (ctx) => {
  await ctx.p?.kill();
  await ctx.t?.cleanup();
});

test('create, update and delete through the API reach Stripe and Salesforce', async (ctx) => {
  const { process: p, banner } = await spawnSandbox({ ...ctx.t.env, LOG_LEVEL: 'warn' });
  ctx.p = p;
  const api = banner.api;
  const base = new URL(banner.stripe.url);
  const stripe = new Stripe(banner.stripe.key, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const sfConn = await connectSalesforce(banner.salesforce);

  const created = await fetch(`${api}/customers`, {
    method: 'POST',
    headers: authHeaders(),
    body: JSON.stringify({
      name: 'Grace Hopper',
      email: 'grace@example.com',
      metadata: { team: 'cobol' },
    }),
  });
  assert.is(created.status, 201);
  const id = ((await created.json()) as { id: string }).id;

  const inStripe = async () => {
    const all: Stripe.Customer[] = [];
    for await (const c of stripe.customers.list({ limit: 100 }))
      if (c.metadata.rtws_id === id) all.push(c);
    return all;
  };
  const linked = await eventually(inStripe, (cs) => cs.length > 0, 15_000, 100);
  assert.is(linked.length, 1, 'exactly one Stripe customer');
  assert.is(linked[0]!.email, 'grace@example.com');
  assert.equal(linked[0]!.metadata, { team: 'cobol', rtws_id: id });

  const account = await eventually(
    async () =>
      (
        await sfConn.query<{ Id: string; Name: string; Rtws_Email__c: string }>(
          `SELECT Id, Name, Rtws_Email__c FROM Account WHERE Rtws_Id__c = '${id}'`,
        )
      ).records,
    (r) => r.length > 0,
    15_000,
    100,
  );
  if (account.length !== 1) {
    const status = await (
      await fetch(`${api}/customers/${id}/sync`, { headers: authHeaders() })
    ).text();
    assert.unreachable(`expected one Salesforce account, found ${account.length}; sync: ${status}`);
  }
  assert.is(account[0]!.Rtws_Email__c, 'grace@example.com');

  const sync = await eventually(
    async () =>
      (await (
        await fetch(`${api}/customers/${id}/sync`, { headers: authHeaders() })
      ).json()) as Record<string, any>,
    (s) =>
      s.targets?.stripe?.status === 'synced' &&
      s.targets?.salesforce?.status === 'synced' &&
      s.links?.stripe &&
      s.links?.salesforce,
    15_000,
    100,
  );
  assert.is(sync.targets.stripe.external_id, linked[0]!.id);
  assert.is(sync.links.stripe, linked[0]!.id);
  assert.is(sync.links.salesforce, account[0]!.Id);

  const metrics = await (await fetch(`${api}/metrics`, { headers: authHeaders() })).text();
  assert.match(
    metrics,
    /rtws_intents_executed_total\{target="stripe",outcome="StripeCustomerCreated"\} [1-9]/,
  );
  assert.match(
    metrics,
    /rtws_intents_executed_total\{target="salesforce",outcome="SalesforceAccountCreated"\} [1-9]/,
  );
  assert.match(metrics, /rtws_executor_call_seconds_count\{target="stripe"\} [1-9]/);
  assert.match(metrics, /rtws_facts_consumed_total [1-9]/);
  assert.match(metrics, /rtws_consumer_lag \d+/);

  const patched = await fetch(`${api}/customers/${id}`, {
    method: 'PATCH',
    headers: authHeaders(),
    body: JSON.stringify({ name: 'Rear Admiral Hopper' }),
  });
  assert.is(patched.status, 200);
  const renamed = await eventually(
    inStripe,
    (cs) => cs[0]?.name === 'Rear Admiral Hopper',
    15_000,
    100,
  );
  assert.is(renamed[0]!.email, 'grace@example.com', 'only the changed field was pushed');

  const { 'content-type': _, ...auth } = authHeaders();
  assert.is(
    (await fetch(`${api}/customers/${id}`, { method: 'DELETE', headers: auth })).status,
    204,
  );
  const gone = await eventually(
    async () =>
      (await stripe.customers.retrieve(linked[0]!.id)) as Stripe.Customer | Stripe.DeletedCustomer,
    (c) => 'deleted' in c && c.deleted === true,
    15_000,
    100,
  );
  assert.ok('deleted' in gone && gone.deleted);

  // The recorded history (changes and outcomes, in stream order) rebuilds the stored snapshot.
  const o = await observe(ctx.t);
  try {
    const machine = createCustomerMachine(DEFAULT_POLICIES, { targets: ['stripe', 'salesforce'] });
    const store = await openSnapshotStore(jetstream(o.nats), ctx.t.names.bucket('ACTORS'));
    const same = await eventually(
      async () => {
        const stored = await store.load(id);
        const rebuilt = rebuild(
          customerKind(machine),
          id,
          await customerHistory(o.nats, ctx.t.names, id),
        );
        return (
          stored !== undefined &&
          JSON.stringify(decodeActor(id, stored.value, machine).context) ===
            JSON.stringify(rebuilt.context)
        );
      },
      (v) => v,
      10_000,
      200,
    );
    assert.ok(same, 'rebuild from the stream equals the snapshot in KV');
  } finally {
    await o.close();
  }
  assert.is(await p.kill('SIGTERM'), 0);
});

test.run();
