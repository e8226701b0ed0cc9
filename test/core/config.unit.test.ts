import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';

test('defaults fill every field, and the result is frozen', () => {
  const c = loadConfig({});
  assert.is(c.databaseUrl, 'postgres://postgres@127.0.0.1:5432/rtws');
  assert.equal(c.natsServers, ['nats://127.0.0.1:4222']);
  assert.is(c.port, 8080);
  assert.equal(c.roles, ['api', 'publisher', 'worker']);
  assert.is(c.apiToken, undefined);
  assert.is(c.sandbox, true);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.publisher) && Object.isFrozen(c.roles));
});

test('values are parsed and checked', () => {
  const c = loadConfig({
    PORT: '9000',
    RTWS_ROLES: 'worker, api',
    STRIPE_WEBHOOK_SECRET: 'whsec_a,whsec_b',
    STRIPE_SECRET_KEY: 'sk_test_x',
  });
  assert.is(c.port, 9000);
  assert.equal(c.roles, ['worker', 'api']);
  assert.equal(c.stripe.webhookSecrets, ['whsec_a', 'whsec_b']);
  assert.is(c.sandbox, false);
});

test("Salesforce's quota pause is 5 min unless set", () => {
  assert.is(loadConfig({}).salesforce.quotaPauseMs, 300_000);
  assert.is(
    loadConfig({ RTWS_SALESFORCE_QUOTA_PAUSE_MS: '60000' }).salesforce.quotaPauseMs,
    60_000,
  );
});

test("Stripe's pace follows the key's mode unless set", () => {
  const d = loadConfig({}).stripe;
  assert.equal([d.rate, d.concurrency], [undefined, 8]);
  const set = loadConfig({ RTWS_STRIPE_RATE: '90', RTWS_STRIPE_CONCURRENCY: '16' }).stripe;
  assert.equal([set.rate, set.concurrency], [90, 16]);
});

const bad: [Record<string, string>, string][] = [
  [{ PORT: 'eighty' }, 'PORT'],
  [{ PORT: '70000' }, 'PORT'],
  [{ RTWS_ROLES: 'api,cook' }, 'RTWS_ROLES'],
  [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
  [{ RTWS_NAMESPACE: 'has.dots' }, 'RTWS_NAMESPACE'],
  [{ RTWS_API_TOKEN: 'short' }, 'RTWS_API_TOKEN'],
  [{ STRIPE_SECRET_KEY: 'sk_test_x' }, 'STRIPE_WEBHOOK_SECRET'],
  [{ SALESFORCE_CLIENT_ID: 'id' }, 'SALESFORCE_LOGIN_URL'],
  [{ RTWS_SALESFORCE_QUOTA_PAUSE_MS: '10' }, 'RTWS_SALESFORCE_QUOTA_PAUSE_MS'],
  [{ RTWS_STRIPE_RATE: '0' }, 'RTWS_STRIPE_RATE'],
  [{ RTWS_STRIPE_CONCURRENCY: 'many' }, 'RTWS_STRIPE_CONCURRENCY'],
];

for (const [env, variable] of bad) {
  test(`a bad ${variable} stops startup with a message naming it`, () => {
    try {
      loadConfig(env);
      assert.unreachable('loadConfig accepted it');
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.is((err as ConfigError).variable, variable);
      assert.match((err as Error).message, variable);
    }
  });
}

test('a secret never appears in a config error', () => {
  try {
    loadConfig({ RTWS_API_TOKEN: 'tiny-secret' });
    assert.unreachable();
  } catch (err) {
    assert.not.match((err as Error).message, 'tiny-secret');
  }
});

test.run();
