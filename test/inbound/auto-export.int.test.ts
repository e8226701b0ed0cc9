// A target switched on for the first time gets the catalogue by itself: rtws ran with Stripe only,
// customers were made, and a restart that configures Salesforce exports them to it with no edit.
// RTWS_AUTO_EXPORT=false records the target and exports nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Rtws } from '../../deploy/rtws.ts';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { observe, startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { apiClient } from '../sync/api-client.ts';

const CUSTOMERS = 6;

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
    for (let i = 0; i < CUSTOMERS; i++)
      await api.create({ name: `Before ${i}`, email: `before${i}@example.com` });
    await eventually(
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
    return {
      o,
      links,
      exports,
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
    // A customer whose actor stepped since the restart (a late Stripe echo, say) may have reached
    // Salesforce already: it is skipped; every other one is offered.
    const { offer = 0, skip = 0 } = b?.counts ?? {};
    assert.is(offer + skip, CUSTOMERS, JSON.stringify(b?.counts));
    assert.ok(offer > 0, 'the export offered the customers not linked yet');
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
    assert.is(await s.links('salesforce'), 0);
  } finally {
    await s.close();
  }
});

test.run();
