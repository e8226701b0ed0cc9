// A Stripe key that Stripe refuses outright (401) is no outage to wait out: the start refuses
// (exit 2 from the command line), saying so without quoting the key, rather than running with
// Stripe paused for good and every webhook answered 503.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t?: TestEnvironment; stripe?: StripeEmulator }>('a refused Stripe key');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.stripe = await startStripeEmulator({ port: 0, searchLagMs: 0 });
});
test.after(async (ctx) => {
  await ctx.stripe?.close();
  await ctx.t?.cleanup();
});

test('refuses the start, naming the status, not the key', async (ctx) => {
  const key = 'sk_test_not-a-real-key-0123456789';
  const err = await startTestRtws(ctx.t!, {
    RTWS_ROLES: 'api',
    STRIPE_SECRET_KEY: key,
    STRIPE_API_BASE: ctx.stripe!.url,
    STRIPE_WEBHOOK_SECRET: 'whsec_refused',
  }).then(
    async (r) => void (await r.close()),
    (e: unknown) => e,
  );
  assert.instance(err, ConfigError);
  const message = (err as Error).message;
  assert.match(message, /STRIPE_SECRET_KEY: Stripe refused the key \(401/);
  assert.not.match(message, key.slice(-8));
});

test.run();
