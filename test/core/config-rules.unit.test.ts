// The rules between settings: a broken one names the variable to change and says why; and the
// lease rule holds for the lease bookkeeping the worker actually runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, type Env } from '../../core/config.ts';
import { CALL_SLACK_MS, maxCallTimeoutMs } from '../../core/config-rules.ts';
import { ConfigError } from '../../core/errors.ts';
import { LeaseBook, defaultMarginMs } from '../../actors/runtime/leases.ts';

function refusal(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.instance(err, ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig accepted it');
}

test('a call timeout too long for the lease names both variables and the largest that fits', () => {
  const err = refusal({ RTWS_CALL_TIMEOUT_MS: '8000' });
  assert.is(err.variable, 'RTWS_CALL_TIMEOUT_MS');
  assert.match(err.message, 'RTWS_LEASE_TTL_MS=20000');
  assert.match(err.message, 'at most 7000 ms');
  assert.match(err.message, 'raise RTWS_LEASE_TTL_MS to 22500');
});

test('a lease shortened below the default call timeout is refused too', () => {
  const err = refusal({ RTWS_LEASE_TTL_MS: '10000' });
  assert.is(err.variable, 'RTWS_CALL_TIMEOUT_MS');
  assert.match(err.message, 'at most 3000 ms');
});

test('an object other than Account needs its own field map: the default is an Account’s', () => {
  const err = refusal({ SALESFORCE_OBJECT: 'Contact' });
  assert.is(err.variable, 'SALESFORCE_FIELD_MAP');
  assert.match(err.message, 'it is Contact');
  const c = loadConfig({ SALESFORCE_OBJECT: 'Contact', SALESFORCE_FIELD_MAP: 'contact.json' });
  assert.is(c.salesforce.fieldMapFile, 'contact.json');
  assert.is(loadConfig({ SALESFORCE_OBJECT: 'account' }).salesforce.fieldMapFile, undefined);
});

test('a longer call timeout fits a longer lease', () => {
  assert.is(maxCallTimeoutMs(20_000), 7_000);
  const w = loadConfig({ RTWS_LEASE_TTL_MS: '22500', RTWS_CALL_TIMEOUT_MS: '8000' }).worker;
  assert.equal([w.leaseTtlMs, w.callTimeoutMs], [22_500, 8_000]);
});

test('the largest accepted timeout can start a call just before any renewal', () => {
  // The worker renews every fifth of the TTL (lease-keeper.ts) and starts a call only while the
  // lease outlives its timeout plus the slack (start-worker.ts).
  for (const ttlMs of [5_000, 20_000, 60_000]) {
    const book = new LeaseBook({ ttlMs, marginMs: defaultMarginMs(ttlMs) });
    book.hold(0, 1, 0);
    const beforeRenewal = book.remainingMs(0, Math.round(ttlMs / 5));
    assert.ok(beforeRenewal >= maxCallTimeoutMs(ttlMs) + CALL_SLACK_MS, `TTL ${ttlMs}`);
  }
});

test('Salesforce credentials come together; a Stripe key needs a webhook secret', () => {
  assert.is(refusal({ SALESFORCE_LOGIN_URL: 'https://x' }).variable, 'SALESFORCE_CLIENT_ID');
  assert.is(
    refusal({ SALESFORCE_CLIENT_ID: 'id', SALESFORCE_CLIENT_SECRET: 's' }).variable,
    'SALESFORCE_LOGIN_URL',
  );
  assert.is(refusal({ STRIPE_SECRET_KEY: 'sk_live_x' }).variable, 'STRIPE_WEBHOOK_SECRET');
});

test.run();
