// Each error status maps to the SDK error class a real Stripe answer would produce.
import Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, raw, sdk, suiteEmulator } from './support.ts';

const { emu, stripe } = await suiteEmulator(test);

test('400 unknown parameter is StripeInvalidRequestError with parameter_unknown and param', async () => {
  const err = await errorOf(
    stripe.customers.create({ nickname: 'x' } as Stripe.CustomerCreateParams),
  );
  assert.instance(err, Stripe.errors.StripeInvalidRequestError);
  assert.is(err.statusCode, 400);
  assert.is(err.code, 'parameter_unknown');
  assert.is(err.param, 'nickname');
  assert.match(err.requestId ?? '', /^req_/);
});

test('nested unknown parameter is named with brackets', async () => {
  const err = await errorOf(
    stripe.customers.create({ address: { city: 'X', planet: 'Mars' } } as never),
  );
  assert.is(err.param, 'address[planet]');
});

test('bad email is 400 email_invalid', async () => {
  const err = await errorOf(stripe.customers.create({ email: 'not-an-email' }));
  assert.instance(err, Stripe.errors.StripeInvalidRequestError);
  assert.is(err.code, 'email_invalid');
  assert.is(err.param, 'email');
});

test('401 without or with a malformed key is StripeAuthenticationError', async () => {
  const err = await errorOf(sdk(emu, {}, 'pk_test_wrong').customers.list());
  assert.instance(err, Stripe.errors.StripeAuthenticationError);
  assert.is(err.statusCode, 401);
  const none = await raw(emu, 'GET', '/v1/customers', undefined, { Authorization: '' });
  assert.is(none.status, 401);
  assert.is(none.json.error.type, 'invalid_request_error');
  assert.ok(none.headers.get('request-id')?.startsWith('req_'));
});

test('Basic auth with the key as user name is accepted; live keys make livemode objects', async () => {
  const basic = `Basic ${Buffer.from('sk_test_basic:').toString('base64')}`;
  const res = await raw(emu, 'POST', '/v1/customers', 'name=B', { Authorization: basic });
  assert.is(res.status, 200);
  assert.is(res.json.livemode, false);
  const live = await sdk(emu, {}, 'sk_live_abc').customers.create({ name: 'L' });
  assert.is(live.livemode, true);
});

test('404 for a missing object is resource_missing with param id', async () => {
  const err = await errorOf(stripe.customers.retrieve('cus_missing'));
  assert.instance(err, Stripe.errors.StripeInvalidRequestError);
  assert.is(err.statusCode, 404);
  assert.is(err.code, 'resource_missing');
  assert.is(err.param, 'id');
});

test('404 for an unknown route says Unrecognized request URL', async () => {
  const res = await raw(emu, 'GET', '/v1/foo');
  assert.is(res.status, 404);
  assert.match(res.json.error.message, 'Unrecognized request URL (GET: /v1/foo)');
  assert.is(res.headers.get('content-type'), 'application/json');
});

test('409 is retried by the SDK, then raised as StripeAPIError', async () => {
  emu.failNext({ method: 'POST', path: '/v1/customers', status: 409, count: 2 });
  const err = await errorOf(sdk(emu, { maxNetworkRetries: 1 }).customers.create({ name: 'c' }));
  assert.instance(err, Stripe.errors.StripeAPIError);
  assert.is(err.statusCode, 409);
  assert.is(emu.requests({ path: '/v1/customers' }).length, 2);
});

test('429 is StripeRateLimitError', async () => {
  emu.failNext({ path: '/v1/customers', status: 429 });
  const err = await errorOf(stripe.customers.list());
  assert.instance(err, Stripe.errors.StripeRateLimitError);
  assert.is(err.code, 'rate_limit');
});

test('500 is StripeAPIError', async () => {
  emu.failNext({ path: '/v1/customers', status: 500 });
  const err = await errorOf(stripe.customers.create({ name: 'x' }));
  assert.instance(err, Stripe.errors.StripeAPIError);
  assert.is(err.statusCode, 500);
  assert.is(err.type, 'StripeAPIError');
});

test('same idempotency key with other params is StripeIdempotencyError', async () => {
  await stripe.customers.create({ name: 'a' }, { idempotencyKey: 'k-1' });
  const err = await errorOf(stripe.customers.create({ name: 'b' }, { idempotencyKey: 'k-1' }));
  assert.instance(err, Stripe.errors.StripeIdempotencyError);
  assert.is(err.statusCode, 400);
});

test('limit out of range is 400 with param limit', async () => {
  const err = await errorOf(stripe.customers.list({ limit: 101 }));
  assert.is(err.statusCode, 400);
  assert.is(err.param, 'limit');
});

test('unknown expand is 400, a path named like a member of Object.prototype too', async () => {
  const { id } = await stripe.customers.create({});
  for (const path of ['sources2', 'toString', 'constructor']) {
    const err = await errorOf(stripe.customers.retrieve(id, { expand: [path] }));
    assert.is(err.statusCode, 400, path);
    assert.is(err.param, 'expand');
  }
});

test.run();
