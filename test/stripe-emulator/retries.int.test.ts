// The SDK's retry decisions follow the emulator's answers: Stripe-Should-Retry, 409, 5xx, 429.
import Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, sdk, suiteEmulator } from './support.ts';

const { emu, stripe } = await suiteEmulator(test, { sdk: { maxNetworkRetries: 1 } });

const attempts = (path: string) => emu.requests({ method: 'POST', path }).length;

test('500 with Stripe-Should-Retry: false is not retried', async () => {
  emu.failNext({ method: 'POST', path: '/v1/customers', status: 500, shouldRetry: false });
  const err = await errorOf(stripe.customers.create({ name: 'a' }));
  assert.instance(err, Stripe.errors.StripeAPIError);
  assert.is(attempts('/v1/customers'), 1);
});

test('429 with Stripe-Should-Retry: true is retried and then succeeds', async () => {
  emu.failNext({ method: 'POST', path: '/v1/customers', status: 429, shouldRetry: true });
  const customer = await stripe.customers.create({ name: 'a' });
  assert.match(customer.id, /^cus_/);
  assert.is(attempts('/v1/customers'), 2);
});

test('429 without the header is not retried', async () => {
  emu.failNext({ method: 'POST', path: '/v1/customers', status: 429 });
  const err = await errorOf(stripe.customers.create({ name: 'a' }));
  assert.instance(err, Stripe.errors.StripeRateLimitError);
  assert.is(attempts('/v1/customers'), 1);
});

test('a pre-commit 500 is retried with the same key and creates one customer', async () => {
  emu.failNext({ method: 'POST', path: '/v1/customers', status: 500, phase: 'before' });
  await stripe.customers.create({ name: 'once' });
  const log = emu.requests({ path: '/v1/customers' });
  assert.is(log.length, 2);
  assert.is(log[0]!.idempotencyKey, log[1]!.idempotencyKey);
  assert.is(log[0]!.status, 500);
  assert.is(log[1]!.status, 200);
  assert.is(emu.stats().customers, 1);
});

test('requests-per-second budget answers 429 rate_limit', async () => {
  emu.setRateLimit(2);
  const noRetry = sdk(emu);
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, () => noRetry.customers.list()),
  );
  const limited = results.filter((r) => r.status === 'rejected');
  assert.ok(limited.length >= 2, `expected some 429s, got ${limited.length}`);
  const reason = (limited[0] as PromiseRejectedResult).reason as Stripe.errors.StripeError;
  assert.instance(reason, Stripe.errors.StripeRateLimitError);
  assert.is(reason.code, 'rate_limit');
  emu.setRateLimit(null);
  await noRetry.customers.list();
});

test('a delay rule makes the SDK time out', async () => {
  emu.delayRequests({ method: 'GET', path: '/v1/customers', ms: 400, count: 1 });
  const err = await errorOf(sdk(emu, { timeout: 100 }).customers.list());
  assert.instance(err, Stripe.errors.StripeConnectionError);
  const list = await stripe.customers.list();
  assert.is(list.object, 'list');
});

test.run();
