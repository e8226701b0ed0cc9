// Idempotency as Stripe keeps it: replay of the first answer, conflicts, in-flight duplicates, expiry.
import Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, raw, sdk, sleep, suiteEmulator } from './support.ts';

const { emu, stripe } = await suiteEmulator(test, { emulator: { maxIdempotencyKeys: 5 } });

test('a post-commit 500 is saved and replayed; the customer exists exactly once', async () => {
  emu.failNext({ method: 'POST', path: '/v1/customers', status: 500, phase: 'after' });
  const err = await errorOf(
    sdk(emu, { maxNetworkRetries: 2 }).customers.create({ email: 'once@example.com' }),
  );
  assert.instance(err, Stripe.errors.StripeAPIError);
  const log = emu.requests({ path: '/v1/customers' });
  assert.is(log.length, 3);
  assert.equal(
    log.map((r) => r.replayed),
    [false, true, true],
  );
  assert.equal(
    log.map((r) => r.status),
    [500, 500, 500],
  );
  const list = await stripe.customers.list({ email: 'once@example.com' });
  assert.is(list.data.length, 1);
  const events = await stripe.events.list({ type: 'customer.created' });
  assert.is(events.data.length, 1);
});

test('a replayed success carries Idempotent-Replayed and the same body', async () => {
  const first = await raw(emu, 'POST', '/v1/customers', 'name=R', {
    'Idempotency-Key': 'replay-1',
  });
  const second = await raw(emu, 'POST', '/v1/customers', 'name=R', {
    'Idempotency-Key': 'replay-1',
  });
  assert.is(second.status, 200);
  assert.is(second.json.id, first.json.id);
  assert.is(second.headers.get('idempotent-replayed'), 'true');
  assert.is(second.headers.get('idempotency-key'), 'replay-1');
  assert.is(second.headers.get('original-request'), first.headers.get('request-id'));
  assert.is.not(second.headers.get('request-id'), first.headers.get('request-id'));
  assert.is(emu.stats().customers, 1);
});

test('same key, different params: idempotency_error', async () => {
  await stripe.customers.create({ name: 'a' }, { idempotencyKey: 'conflict' });
  const err = await errorOf(stripe.customers.create({ name: 'b' }, { idempotencyKey: 'conflict' }));
  assert.instance(err, Stripe.errors.StripeIdempotencyError);
});

test('a concurrent duplicate gets 409 while the first is in flight', async () => {
  emu.delayRequests({ method: 'POST', path: '/v1/customers', ms: 300, count: 1 });
  const first = raw(emu, 'POST', '/v1/customers', 'name=slow', { 'Idempotency-Key': 'inflight' });
  await sleep(50);
  const second = await raw(emu, 'POST', '/v1/customers', 'name=slow', {
    'Idempotency-Key': 'inflight',
  });
  assert.is(second.status, 409);
  assert.is((await first).status, 200);
  const third = await raw(emu, 'POST', '/v1/customers', 'name=slow', {
    'Idempotency-Key': 'inflight',
  });
  assert.is(third.headers.get('idempotent-replayed'), 'true');
});

test('a request failing validation saves nothing: the key can be reused with fixed params', async () => {
  const bad = await errorOf(stripe.customers.create({ email: 'bad' }, { idempotencyKey: 'v-1' }));
  assert.is(bad.code, 'email_invalid');
  const ok = await stripe.customers.create({ email: 'ok@example.com' }, { idempotencyKey: 'v-1' });
  assert.is(ok.email, 'ok@example.com');
});

test('a pre-commit fault saves nothing', async () => {
  emu.failNext({ method: 'POST', path: '/v1/customers', status: 500, phase: 'before' });
  const failed = await raw(emu, 'POST', '/v1/customers', 'name=x', { 'Idempotency-Key': 'pre' });
  assert.is(failed.status, 500);
  const retried = await raw(emu, 'POST', '/v1/customers', 'name=x', { 'Idempotency-Key': 'pre' });
  assert.is(retried.status, 200);
  assert.is(retried.headers.get('idempotent-replayed'), null);
});

test('keys expire after 24 h (clock offset) and are capped', async () => {
  const first = await stripe.customers.create({ name: 'e' }, { idempotencyKey: 'expiring' });
  emu.setClockOffset(24 * 3_600_000 + 1_000);
  const again = await stripe.customers.create({ name: 'e' }, { idempotencyKey: 'expiring' });
  assert.is.not(again.id, first.id);
  emu.setClockOffset(0);
  for (let i = 0; i < 7; i++) await stripe.customers.create({ name: `c${i}` });
  assert.ok(emu.stats().idempotencyKeys <= 5);
});

test('GET ignores idempotency keys', async () => {
  const a = await raw(emu, 'GET', '/v1/customers', undefined, { 'Idempotency-Key': 'get' });
  await stripe.customers.create({ name: 'n' });
  const b = await raw(emu, 'GET', '/v1/customers', undefined, { 'Idempotency-Key': 'get' });
  assert.is(a.json.data.length, 0);
  assert.is(b.json.data.length, 1);
});

test.run();
