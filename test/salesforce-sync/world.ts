// One rtws in process with its own database and namespace, pointed at a Stripe and a Salesforce
// emulator on free ports, plus the API calls and read-backs the Salesforce sync suites share.
import { jetstream } from '@nats-io/jetstream';
import type { Connection } from 'jsforce';
import type { Env } from '../../core/config.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
  type SalesforceEmulatorOptions,
} from '../../adapters/emulators/salesforce/index.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { connectSalesforce } from '../../adapters/salesforce/client.ts';
import { encodeRecordedEvent } from '../../actors/customer/outcome-message.ts';
import { SyncApi } from './api.ts';
import { stops } from '../harness/stops.ts';

export interface World {
  readonly t: TestEnvironment;
  readonly stripe: StripeEmulator;
  readonly sf: SalesforceEmulator;
  readonly rtws: Rtws;
  readonly api: SyncApi;
  /** An operator's view of Salesforce, through jsforce. */
  readonly conn: Connection;
  /** Asks the customer's actor to retry a target now, as a DLQ redrive does. */
  requestRetry(customerId: string, target: 'salesforce' | 'stripe'): Promise<void>;
  close(): Promise<void>;
}

/** What points rtws at both emulators. */
export function emulatorEnv(stripe: StripeEmulator, sf: SalesforceEmulator): Env {
  return {
    STRIPE_SECRET_KEY: 'sk_test_x',
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRET: 'whsec_test',
    SALESFORCE_LOGIN_URL: sf.loginUrl,
    SALESFORCE_CLIENT_ID: sf.clientId,
    SALESFORCE_CLIENT_SECRET: sf.clientSecret,
  };
}

/**
 * Starts everything, rtws with `env` over the suite's settings and the Salesforce emulator with
 * `salesforce`; whatever did start is stopped again if a later part fails.
 */
export async function startWorld(
  env: Env = {},
  salesforce: SalesforceEmulatorOptions = {},
): Promise<World> {
  const started = stops();
  const close = () => started.close();
  try {
    const t = await testEnvironment();
    started.push(() => t.cleanup());
    const stripe = await startStripeEmulator({ port: 0, searchLagMs: 0 });
    started.push(() => stripe.close());
    const sf = await startSalesforceEmulator({ port: 0, ...salesforce });
    started.push(() => sf.close());
    const rtws = await startTestRtws(t, {
      ...emulatorEnv(stripe, sf),
      RTWS_ROLES: 'api,publisher,worker',
      ...env,
    });
    started.push(() => rtws.close());
    const conn = await connectSalesforce({
      loginUrl: sf.loginUrl,
      clientId: sf.clientId,
      clientSecret: sf.clientSecret,
    });
    const js = jetstream(rtws.nats);
    let retries = 0;
    return {
      t,
      stripe,
      sf,
      rtws,
      api: new SyncApi(rtws.url!, rtws.apiToken!),
      conn,
      async requestRetry(customerId, target) {
        const event = encodeRecordedEvent(customerId, {
          type: 'RetryRequested',
          data: { target },
          at: 0,
        });
        await js.publish(t.names.customerSubject(customerId), JSON.stringify(event), {
          msgID: `test-retry:${customerId}:${target}:${++retries}`,
        });
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await work(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
