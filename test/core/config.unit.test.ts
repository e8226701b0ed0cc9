import { apiTokensOf } from '../../core/api-tokens.ts';
import { fieldOwnersOf } from '../../core/policy/merge.ts';
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

test("Salesforce's daily budget is 50% of the org's allocation unless set, checked each minute", () => {
  const d = loadConfig({}).salesforce;
  assert.equal([d.dailyBudget, d.usageCheckMs], ['50%', 60_000]);
  const set = loadConfig({
    RTWS_SALESFORCE_DAILY_BUDGET: '12.5%',
    RTWS_SALESFORCE_USAGE_CHECK_MS: '5000',
  }).salesforce;
  assert.equal([set.dailyBudget, set.usageCheckMs], ['12.5%', 5_000]);
  assert.is(loadConfig({ RTWS_SALESFORCE_DAILY_BUDGET: '100%' }).salesforce.dailyBudget, '100%');
});

test('a daily budget is a percentage above 0 and at most 100, with its sign', () => {
  // `0.5` and `50` could each mean two things: only `50%` is taken.
  for (const bad of ['0.5', '50', '0%', '0.0%', '101%', '100.5%', '-5%', 'half', '50 %']) {
    try {
      loadConfig({ RTWS_SALESFORCE_DAILY_BUDGET: bad });
      assert.unreachable(`${bad} was accepted`);
    } catch (err) {
      assert.instance(err, ConfigError, bad);
      assert.is((err as ConfigError).variable, 'RTWS_SALESFORCE_DAILY_BUDGET');
      assert.match(
        (err as Error).message,
        `invalid value ${JSON.stringify(bad)}: a percentage of the org's daily API allocation, above 0% and at most 100%, such as 50%`,
      );
    }
  }
});

test('the usage check runs from every second to every hour', () => {
  for (const bad of ['999', '3600001', 'soon'])
    assert.throws(
      () => loadConfig({ RTWS_SALESFORCE_USAGE_CHECK_MS: bad }),
      (err: unknown) =>
        err instanceof ConfigError && err.variable === 'RTWS_SALESFORCE_USAGE_CHECK_MS',
    );
});

test("Stripe's pace follows the key's mode unless set", () => {
  const d = loadConfig({}).stripe;
  assert.equal([d.rate, d.concurrency], [undefined, 8]);
  const set = loadConfig({ RTWS_STRIPE_RATE: '90', RTWS_STRIPE_CONCURRENCY: '16' }).stripe;
  assert.equal([set.rate, set.concurrency], [90, 16]);
});

test('a worker is tuned from its variables, with the defaults it had', () => {
  assert.equal(loadConfig({}).worker, {
    leaseTtlMs: 20_000,
    callTimeoutMs: 5_000,
    concurrency: 64,
    maxActors: 10_000,
    idleMs: 60_000,
    snapshotEverySteps: 32,
    snapshotEveryMs: 1_000,
  });
  const set = loadConfig({
    RTWS_LEASE_TTL_MS: '30000',
    RTWS_CALL_TIMEOUT_MS: '10000',
    RTWS_WORKER_CONCURRENCY: '8',
    RTWS_MAX_ACTORS: '500',
    RTWS_ACTOR_IDLE_MS: '5000',
    RTWS_SNAPSHOT_EVERY_STEPS: '1',
    RTWS_SNAPSHOT_EVERY_MS: '250',
  }).worker;
  assert.equal(set, {
    leaseTtlMs: 30_000,
    callTimeoutMs: 10_000,
    concurrency: 8,
    maxActors: 500,
    idleMs: 5_000,
    snapshotEverySteps: 1,
    snapshotEveryMs: 250,
  });
});

test("snapshots are saved well within the streams' retention", () => {
  const tooLong = () => loadConfig({ RTWS_STREAM_MAX_AGE_S: '5', RTWS_SNAPSHOT_EVERY_MS: '1000' });
  assert.throws(tooLong, (err: Error) =>
    /RTWS_SNAPSHOT_EVERY_MS.*RTWS_STREAM_MAX_AGE_S=5.*raise RTWS_STREAM_MAX_AGE_S to 10/.test(
      err.message,
    ),
  );
  const fits = loadConfig({ RTWS_STREAM_MAX_AGE_S: '10', RTWS_SNAPSHOT_EVERY_MS: '1000' });
  assert.is(fits.worker.snapshotEveryMs, 1_000);
  assert.is(loadConfig({ RTWS_STREAM_MAX_AGE_S: '0' }).retention.maxAgeSeconds, 0);
});

test('RTWS_AUTO_EXPORT reads as a boolean', () => {
  assert.is(loadConfig({}).autoExport, true);
  assert.is(loadConfig({ RTWS_AUTO_EXPORT: 'false' }).autoExport, false);
});

test('an unset optional variable is undefined; an unset list is empty', () => {
  const c = loadConfig({});
  assert.equal([c.stripe.secretKey, c.stripe.rate, c.workerId], [undefined, undefined, undefined]);
  assert.equal(c.stripe.webhookSecrets, []);
});

test('NATS_URL gives every seed of a cluster, in order', () => {
  const c = loadConfig({
    NATS_URL: 'nats://127.0.0.1:4222, nats://127.0.0.1:4223,nats://127.0.0.1:4224',
  });
  assert.equal(c.natsServers, [
    'nats://127.0.0.1:4222',
    'nats://127.0.0.1:4223',
    'nats://127.0.0.1:4224',
  ]);
});

test('RTWS_REPLICAS is 1 unless set', () => {
  assert.is(loadConfig({}).replicas, 1);
  assert.is(loadConfig({ RTWS_REPLICAS: '3' }).replicas, 3);
});

const bad: [Record<string, string>, string][] = [
  [{ NATS_URL: 'nats://127.0.0.1:4222,http://127.0.0.1:4223' }, 'NATS_URL'],
  [{ RTWS_REPLICAS: '0' }, 'RTWS_REPLICAS'],
  [{ RTWS_REPLICAS: '6' }, 'RTWS_REPLICAS'],
  [{ RTWS_REPLICAS: 'three' }, 'RTWS_REPLICAS'],
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
  [{ RTWS_AUTO_EXPORT: 'yes' }, 'RTWS_AUTO_EXPORT'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  [{ RTWS_LEASE_TTL_MS: 'soon' }, 'RTWS_LEASE_TTL_MS'],
  [{ RTWS_CALL_TIMEOUT_MS: '0' }, 'RTWS_CALL_TIMEOUT_MS'],
  [{ RTWS_WORKER_CONCURRENCY: '0' }, 'RTWS_WORKER_CONCURRENCY'],
  [{ RTWS_MAX_ACTORS: '-5' }, 'RTWS_MAX_ACTORS'],
  [{ RTWS_ACTOR_IDLE_MS: '1.5' }, 'RTWS_ACTOR_IDLE_MS'],
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

test('RTWS_API_TOKENS names scoped tokens, each name and token once; none leaks in an error', () => {
  const a = 'aaaaaaaaaaaaaaaa1';
  const b = 'bbbbbbbbbbbbbbbb2';
  const c = loadConfig({ RTWS_API_TOKENS: `shop:write:${a}, oncall:operate:${b}` });
  assert.equal(apiTokensOf(c.apiTokens, c.apiToken), [
    { name: 'shop', scope: 'write', token: a },
    { name: 'oncall', scope: 'operate', token: b },
  ]);
  const both = loadConfig({ RTWS_API_TOKENS: `shop:read:${a}`, RTWS_API_TOKEN: b });
  assert.equal(
    apiTokensOf(both.apiTokens, both.apiToken).map((t) => [t.name, t.scope]),
    [
      ['shop', 'read'],
      ['default', 'admin'],
    ],
  );
  const refused = (env: Record<string, string>, message: RegExp, secret: string) => {
    try {
      loadConfig(env);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.match((err as Error).message, message);
      assert.not.match((err as Error).message, secret, 'the token is not shown');
    }
  };
  refused(
    { RTWS_API_TOKENS: `shop:root:${a}` },
    /RTWS_API_TOKENS: .*read, write, operate or admin/,
    a,
  );
  refused({ RTWS_API_TOKENS: 'shop:read:short-token' }, /RTWS_API_TOKENS/, 'short-token');
  refused({ RTWS_API_TOKENS: `shop:read:${a},shop:admin:${b}` }, /the name shop is used twice/, a);
  refused(
    { RTWS_API_TOKENS: `one:read:${a},two:admin:${a}` },
    /the token named two is also another's/,
    a,
  );
  refused(
    { RTWS_API_TOKENS: `default:read:${a}`, RTWS_API_TOKEN: b },
    /RTWS_API_TOKEN is named default/,
    b,
  );
});

test('RTWS_FIELD_OWNERS names a system of record per field, each field once', () => {
  assert.equal(loadConfig({}).fieldOwners, []);
  const owners = loadConfig({
    RTWS_FIELD_OWNERS: 'email=postgres, phone=salesforce,name=latest,metadata.plan=stripe',
  }).fieldOwners;
  assert.equal(fieldOwnersOf(owners), {
    email: 'postgres',
    phone: 'salesforce',
    'metadata.plan': 'stripe',
  });
  for (const bad of ['email=hubspot', 'fax=postgres', 'email', 'email=postgres,email=stripe']) {
    try {
      loadConfig({ RTWS_FIELD_OWNERS: bad });
      assert.unreachable(`${bad} was accepted`);
    } catch (err) {
      assert.instance(err, ConfigError, bad);
      assert.is((err as ConfigError).variable, 'RTWS_FIELD_OWNERS');
    }
  }
});

test.run();
