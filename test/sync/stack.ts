// A Stripe emulator on a free port and the pieces that talk to it: an SDK client for listing, and
// the environment that points rtws at it.
import Stripe from 'stripe';
import type { Env } from '../../core/config.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';

export interface StripeSide {
  readonly emulator: StripeEmulator;
  readonly stripe: Stripe;
  /** What rtws needs to run its Stripe target against this emulator. */
  env(overrides?: Env): Env;
}

/**
 * A live-mode key: rtws paces test-mode keys to 20 calls/s (Stripe's test budget), which alone
 * would make a thousand creates and updates take over 100 s.
 */
export const LIVE_KEY = 'sk_live_rtws_sync_tests';

export async function stripeSide(): Promise<StripeSide> {
  const emulator = await startStripeEmulator({ port: 0, searchLagMs: 0 });
  const base = new URL(emulator.url);
  const stripe = new Stripe(LIVE_KEY, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  return {
    emulator,
    stripe,
    env: (overrides = {}) => ({
      STRIPE_SECRET_KEY: LIVE_KEY,
      STRIPE_API_BASE: emulator.url,
      STRIPE_WEBHOOK_SECRET: 'whsec_test',
      ...overrides,
    }),
  };
}

/** rtws with every role, against an emulator of its own, in its own database and namespace. */
export interface SyncStack {
  readonly t: TestEnvironment;
  readonly side: StripeSide;
  readonly rtws: Rtws;
  close(): Promise<void>;
}

export async function startSyncStack(): Promise<SyncStack> {
  const t = await testEnvironment();
  const side = await stripeSide().catch(async (err: unknown) => {
    await t.cleanup();
    throw err;
  });
  const close = async (rtws?: Rtws) => {
    await rtws?.close();
    await side.emulator.close();
    await t.cleanup();
  };
  const rtws = await startTestRtws(t, side.env({ RTWS_ROLES: 'api,publisher,worker' })).catch(
    async (err: unknown) => {
      await close();
      throw err;
    },
  );
  return { t, side, rtws, close: () => close(rtws) };
}

/** Every Stripe customer (deleted ones are not listed), grouped by `metadata.rtws_id`. */
export async function stripeCustomersByRtwsId(
  stripe: Stripe,
): Promise<Map<string, Stripe.Customer[]>> {
  const out = new Map<string, Stripe.Customer[]>();
  for await (const c of stripe.customers.list({ limit: 100 })) {
    const id = c.metadata.rtws_id ?? '';
    out.set(id, [...(out.get(id) ?? []), c]);
  }
  return out;
}
