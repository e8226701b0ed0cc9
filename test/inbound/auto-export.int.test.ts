// A target switched on for the first time gets the catalogue by itself: rtws ran with Stripe only,
// customers were made, and a restart that configures Salesforce exports them to it with no edit.
// RTWS_AUTO_EXPORT=false records the target and exports nothing: not even when the restart's
// catch-up brings the Stripe events of the customers' creates back. A customer's next
// change, or an export asked for, then pushes it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import type { Rtws } from '../../deploy/rtws.ts';
import { decodeActor } from '../../actors/customer/snapshot-codec.ts';
import { openSnapshotStore } from '../../adapters/jetstream/kv-snapshot-store.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { backfillsApi } from '../harness/import-stack.ts';
import {
  authHeaders,
  observe,
  startTestRtws,
  testEnvironment,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { apiClient } from '../sync/api-client.ts';

const CUSTOMERS = 6;

/** Stripe's echoes of rtws's writes that its mapping dropped (`/metrics`). */
async function echoesDropped(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`, { headers: authHeaders() })).text();
  return Number(/^rtws_inbound_echoes_dropped_total (\d+)/m.exec(metrics)?.[1] ?? 0);
}

async function scenario(autoExport: 'true' | 'false') {
  const stops: (() => Promise<void>)[] = [];
  try {
    const t: TestEnvironment = await testEnvironment();
    stops.push(() => t.cleanup());
    const o = await observe(t);
    stops.push(() => o.close());
    const stripe: StripeEmulator = await startStripeEmulator({ port: 0, searchLagMs: 0 });
    stops.push(() => stripe.close());
    const sf: SalesforceEmulator = await startSalesforceEmulator({ port: 0 });
    stops.push(() => sf.close());
    const stripeEnv = {
      STRIPE_SECRET_KEY: 'sk_test_x',
      STRIPE_API_BASE: stripe.url,
      STRIPE_WEBHOOK_SECRET: 'whsec_test',
      RTWS_AUTO_EXPORT: autoExport,
    };
    const links = async (target: string) =>
      (
        await o.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM customer_links WHERE target = ${target}`
      )[0]!.n;

    let rtws: Rtws = await startTestRtws(t, stripeEnv);
    const api = apiClient(rtws.url!);
    const ids: string[] = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const c = await api.create({ name: `Before ${i}`, email: `before${i}@example.com` });
      ids.push(c.id);
    }
    await waitFor(
      () => links('stripe'),
      (n) => n === CUSTOMERS,
      20_000,
    );
    await rtws.close();

    rtws = await startTestRtws(t, {
      ...stripeEnv,
      SALESFORCE_LOGIN_URL: sf.loginUrl,
      SALESFORCE_CLIENT_ID: sf.clientId,
      SALESFORCE_CLIENT_SECRET: sf.clientSecret,
    });
    stops.push(() => rtws.close());
    const exports = async () =>
      o.sql<{ state: string; counts: Record<string, number> }[]>`
        SELECT state, counts FROM backfills WHERE source = 'postgres'`;
    const actors = await openSnapshotStore(jetstream(o.nats), t.names.bucket('ACTORS'));
    const actor = async (id: string) => {
      const stored = await actors.load(id);
      return stored ? decodeActor(id, stored.value).context : undefined;
    };
    return {
      o,
      ids,
      stripe,
      url: rtws.url!,
      links,
      exports,
      actor,
      close: async () => {
        for (const stop of stops.reverse()) await stop().catch(() => {});
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw err;
  }
}

test('switching Salesforce on exports the catalogue to it, with no edit', async () => {
  const s = await scenario('true');
  try {
    const linked = await eventually(
      () => s.links('salesforce'),
      (n) => n === CUSTOMERS,
      30_000,
    );
    assert.is(linked, CUSTOMERS, 'every customer reached Salesforce');
    const [b] = await eventually(
      () => s.exports(),
      (rows) => rows[0]?.state === 'done',
      10_000,
    );
    assert.is(b?.state, 'done');
    const { offer = 0, skip = 0 } = b?.counts ?? {};
    assert.is(offer + skip, CUSTOMERS, JSON.stringify(b?.counts));
    assert.is(
      offer,
      CUSTOMERS,
      'the export offered every customer: none reached Salesforce before',
    );
    assert.is(await s.links('stripe'), CUSTOMERS, 'Stripe keeps one link each');
  } finally {
    await s.close();
  }
});

test('with RTWS_AUTO_EXPORT=false the target is recorded and nothing is exported', async () => {
  const s = await scenario('false');
  try {
    const [row] = await s.o.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM enabled_targets WHERE target = 'salesforce'`;
    assert.is(row!.n, 1);
    assert.is((await s.exports()).length, 0, 'no export was started');
    // The restart's catch-up lists Stripe's events for the creates (rtws's own writes): once every
    // actor has taken its one in, nothing was pushed to Salesforce, nor is anything on its way.
    const echoes = await createEchoes(s.stripe);
    assert.equal([...echoes.keys()].sort(), [...s.ids].sort(), 'one create event per customer');
    // Each one reaches its actor, or ends at mapping as the echo of our own create.
    const handled = async () => {
      let seen = 0;
      for (const [id, eventId] of echoes)
        if ((await s.actor(id))?.inbound.seen.includes(eventId)) seen++;
      return seen + (await echoesDropped(s.url));
    };
    assert.ok((await eventually(handled, (n) => n >= CUSTOMERS, 20_000)) >= CUSTOMERS);
    for (const id of s.ids) {
      const actor = await s.actor(id);
      assert.is(actor?.targets.salesforce.status, 'off', `${id}: nothing asked of Salesforce`);
      assert.is(actor?.targets.salesforce.pending, null);
    }
    assert.is(await s.links('salesforce'), 0, 'no customer reached Salesforce by itself');

    // The customer's next change pushes it, and only it.
    const [edited, ...others] = s.ids;
    await apiClient(s.url).patch(edited!, { phone: '+1 555 0100' });
    const sfLinks = () =>
      s.o.sql<{ customer_id: string }[]>`
        SELECT customer_id FROM customer_links WHERE target = 'salesforce'`;
    const afterEdit = await eventually(sfLinks, (rows) => rows.length > 0, 20_000);
    assert.equal(
      afterEdit.map((r) => r.customer_id),
      [edited],
    );

    // An export asked for pushes the rest.
    const backfills = backfillsApi(s.url);
    const started = await backfills.start({ source: 'postgres' });
    const done = await backfills.ended(started.id);
    assert.is(done.state, 'done');
    assert.equal(done.counts, { offer: others.length, skip: 1 });
    const linked = await eventually(
      () => s.links('salesforce'),
      (n) => n === CUSTOMERS,
      30_000,
    );
    assert.is(linked, CUSTOMERS, 'the export reached every customer');
  } finally {
    await s.close();
  }
});

/** Per customer, the id of Stripe's `customer.created` event for its create. */
async function createEchoes(stripe: StripeEmulator): Promise<Map<string, string>> {
  const client = stripeClient({ secretKey: 'sk_test_x', apiBase: stripe.url });
  const out = new Map<string, string>();
  for await (const e of client.events.list({ type: 'customer.created', limit: 100 })) {
    const id = (e.data.object as { metadata?: Record<string, string> }).metadata?.rtws_id;
    if (id) out.set(id, e.id);
  }
  return out;
}

test.run();
