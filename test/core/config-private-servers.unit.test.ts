// When rtws may start its own Postgres and NATS: only in the sandbox on its own, always where
// RTWS_EMBEDDED names one, never with `off`; and the contradictions are refused by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, type Env } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';

const LIVE = { STRIPE_SECRET_KEY: 'sk_live_x', STRIPE_WEBHOOK_SECRET: 'whsec_x' };
const TEST_KEY = { STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x' };

const plans = (env: Env) => loadConfig(env).privateServers;

test('the sandbox with no URLs starts each server that does not answer', () => {
  assert.equal(plans({}), { postgres: { start: 'if_absent' }, nats: { start: 'if_absent' } });
  assert.equal(plans({ DATABASE_URL: '', NATS_URL: '' }), plans({}), 'empty is unset');
});

test('a set URL is only connected to', () => {
  assert.equal(plans({ DATABASE_URL: 'postgres://db.internal/rtws' }), {
    postgres: { start: 'never', because: 'url_set' },
    nats: { start: 'if_absent' },
  });
  assert.equal(plans({ NATS_URL: 'nats://n1:4222' }).nats, { start: 'never', because: 'url_set' });
});

test('with a Stripe key rtws never starts one on its own', () => {
  for (const key of [LIVE, TEST_KEY])
    assert.equal(plans(key), {
      postgres: { start: 'never', because: 'stripe_key' },
      nats: { start: 'never', because: 'stripe_key' },
    });
});

test('RTWS_EMBEDDED forces the servers it names, and leaves the other automatic', () => {
  assert.equal(plans({ RTWS_EMBEDDED: 'postgres' }), {
    postgres: { start: 'always' },
    nats: { start: 'if_absent' },
  });
  assert.equal(plans({ RTWS_EMBEDDED: 'postgres, nats' }), {
    postgres: { start: 'always' },
    nats: { start: 'always' },
  });
  assert.equal(plans({ ...TEST_KEY, RTWS_EMBEDDED: 'nats' }), {
    postgres: { start: 'never', because: 'stripe_key' },
    nats: { start: 'always' },
  });
});

test('RTWS_EMBEDDED=off never starts one', () => {
  assert.equal(plans({ RTWS_EMBEDDED: 'off' }), {
    postgres: { start: 'never', because: 'off' },
    nats: { start: 'never', because: 'off' },
  });
});

test('the private ports are 5432 and 4222 unless set', () => {
  assert.equal(loadConfig({}).embedded, { servers: [], postgresPort: 5432, natsPort: 4222 });
  const set = loadConfig({
    RTWS_EMBEDDED_POSTGRES_PORT: '55432',
    RTWS_EMBEDDED_NATS_PORT: '44222',
  }).embedded;
  assert.equal([set.postgresPort, set.natsPort], [55432, 44222]);
});

const refused: [Env, string, string][] = [
  [{ RTWS_EMBEDDED: 'mysql' }, 'RTWS_EMBEDDED', 'RTWS_EMBEDDED'],
  [{ RTWS_EMBEDDED: 'off,nats' }, 'RTWS_EMBEDDED', 'cannot be combined'],
  [
    { RTWS_EMBEDDED: 'postgres', DATABASE_URL: 'postgres://db/rtws' },
    'RTWS_EMBEDDED',
    'DATABASE_URL is set',
  ],
  [{ RTWS_EMBEDDED: 'nats', NATS_URL: 'nats://n:4222' }, 'RTWS_EMBEDDED', 'NATS_URL is set'],
  [{ ...LIVE, RTWS_EMBEDDED: 'postgres' }, 'RTWS_EMBEDDED', 'live key'],
  [{ RTWS_EMBEDDED_POSTGRES_PORT: '0' }, 'RTWS_EMBEDDED_POSTGRES_PORT', 'RTWS_EMBEDDED_POSTGRES'],
  [{ RTWS_EMBEDDED_NATS_PORT: 'nats' }, 'RTWS_EMBEDDED_NATS_PORT', 'RTWS_EMBEDDED_NATS_PORT'],
];

for (const [env, variable, says] of refused) {
  test(`${JSON.stringify(env)} is refused, naming ${variable}`, () => {
    try {
      loadConfig(env);
      assert.unreachable('loadConfig accepted it');
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.is((err as ConfigError).variable, variable);
      assert.match((err as Error).message, says);
    }
  });
}

test.run();
