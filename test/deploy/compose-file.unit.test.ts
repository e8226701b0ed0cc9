// deploy/compose.yaml, checked without a Docker engine: every service is health-checked and
// waited for, rtws's containers set only variables rtws reads and a configuration it accepts,
// their health checks ask paths rtws serves, and the three NATS nodes route to one another.
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../core/config.ts';
import {
  interpolate,
  interpolated,
  KNOWN_VARIABLES,
  NOT_RTWS_VARIABLES,
  readDeploy,
  readEnvFile,
  readYaml,
  repoPath,
  serverKind,
  serves,
} from './deploy-files.ts';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string; required?: boolean }>;
  profiles?: string[];
  volumes?: string[];
}

const compose = readYaml<{ services: Record<string, Service>; volumes: Record<string, unknown> }>(
  'compose.yaml',
);
const services = Object.entries(compose.services);
const rtwsServices = services.filter(([, s]) => s.environment?.RTWS_ROLES !== undefined);
const natsServices = services.filter(([name]) => /^nats-\d$/.test(name));
const emulators = readEnvFile('emulators.env');

test('every service has a health check', () => {
  assert.ok(
    services.length >= 9,
    'postgres, three NATS nodes, three rtws processes, two emulators',
  );
  for (const [name, s] of services) {
    const check = s.healthcheck?.test ?? [];
    assert.ok(check.length > 1 && check[0] !== 'NONE', `${name} has a health check`);
  }
});

test('a service waits for every dependency to be healthy; one in a profile is optional', () => {
  for (const [name, s] of rtwsServices) {
    const deps = s.depends_on ?? {};
    for (const needed of ['postgres', 'nats-1', 'nats-2', 'nats-3'])
      assert.ok(deps[needed], `${name} depends on ${needed}`);
    for (const [dep, how] of Object.entries(deps)) {
      const target = compose.services[dep];
      assert.ok(target, `${name} depends on ${dep}, a service of the file`);
      assert.is(how.condition, 'service_healthy', `${name} waits for ${dep} to be healthy`);
      // Without its profile the service is absent: a required dependency would stop compose.
      if (target.profiles?.length) assert.is(how.required, false, `${name} → ${dep}`);
    }
  }
});

test('one api,publisher process and two workers, on a three-node cluster', () => {
  const roles = rtwsServices.map(([, s]) => s.environment!.RTWS_ROLES);
  assert.equal(roles.sort(), ['api,publisher', 'worker', 'worker']);
  const workerIds = rtwsServices.map(([, s]) => s.environment!.RTWS_WORKER_ID).filter(Boolean);
  assert.is(new Set(workerIds).size, 2, 'each worker has its own RTWS_WORKER_ID');
  for (const [name, s] of rtwsServices) {
    assert.is(s.environment!.RTWS_REPLICAS, '3', name);
    const seeds = s.environment!.NATS_URL!.split(',').map((u) => new URL(u).hostname);
    assert.equal(seeds, ['nats-1', 'nats-2', 'nats-3'], `${name} is given every seed`);
  }
});

test('rtws containers set only variables rtws reads', () => {
  for (const [name, s] of rtwsServices)
    for (const variable of Object.keys(s.environment!))
      assert.ok(
        KNOWN_VARIABLES.has(variable) || NOT_RTWS_VARIABLES.has(variable),
        `${name} sets ${variable}, which core/config-schema.ts does not know`,
      );
  for (const variable of Object.keys(emulators))
    assert.ok(
      KNOWN_VARIABLES.has(variable) || variable.startsWith('COMPOSE_'),
      `emulators.env sets ${variable}`,
    );
});

test('with deploy/emulators.env, every rtws container starts with the emulators', () => {
  const stripe = compose.services['stripe-emulator']!;
  const salesforce = compose.services['salesforce-emulator']!;
  assert.equal(stripe.profiles, ['emulators']);
  assert.equal(salesforce.profiles, ['emulators']);
  assert.is(emulators.COMPOSE_PROFILES, 'emulators');
  const option = (s: Service, flag: string) =>
    interpolate(s.command!.find((a) => a.startsWith(`--${flag}=`))!.split('=')[1]!, emulators);
  for (const [name, s] of rtwsServices) {
    const env = Object.fromEntries(
      Object.entries(s.environment!).map(([k, v]) => [k, interpolate(String(v), emulators)]),
    );
    const config = loadConfig(env);
    assert.is(config.sandbox, false, `${name} is not an in-process sandbox`);
    assert.is(config.replicas, 3);
    assert.is(config.stripe.apiBase, `http://stripe-emulator:${option(stripe, 'port')}`);
    assert.is(
      config.salesforce.loginUrl,
      `http://${option(salesforce, 'host')}:${option(salesforce, 'port')}`,
    );
    assert.is(config.salesforce.clientId, option(salesforce, 'client-id'));
    assert.is(config.salesforce.clientSecret, option(salesforce, 'client-secret'));
    assert.equal(config.stripe.webhookSecrets, [option(stripe, 'webhook-secret')]);
  }
  const webhooks = new URL(option(stripe, 'webhook-url'));
  const api = rtwsServices.find(([, s]) => s.environment!.RTWS_ROLES!.includes('api'))!;
  assert.is(webhooks.hostname, api[0], 'the Stripe emulator delivers to the api process');
  assert.is(webhooks.pathname, '/webhooks/stripe');
  for (const s of [stripe, salesforce]) {
    const cli = s.command![1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts');
    assert.ok(existsSync(repoPath(cli)), `${cli} exists`);
  }
});

test('without a Stripe key compose refuses to start rtws, and says what to set', () => {
  const env = rtwsServices[0]![1].environment!;
  assert.throws(() => interpolate(env.STRIPE_SECRET_KEY!, {}), /STRIPE_SECRET_KEY.*emulators\.env/);
});

test('the variables compose fills in are rtws settings or compose options', () => {
  for (const name of interpolated(readDeploy('compose.yaml')))
    assert.ok(KNOWN_VARIABLES.has(name), `compose.yaml interpolates ${name}`);
});

test("rtws's health checks ask paths its servers serve", async () => {
  for (const [name, s] of rtwsServices) {
    const check = s.healthcheck!.test!;
    assert.equal(check.slice(0, 3), ['CMD', 'node', 'dist/deploy/healthcheck.js'], name);
    assert.ok(existsSync(repoPath('deploy/healthcheck.ts')));
    const path = check[3]!;
    const kind = serverKind(s.environment!.RTWS_ROLES!);
    assert.ok(await serves(kind, path), `${name}: the ${kind} server serves ${path}`);
  }
});

/** The compose nodes' config, as mounted into each NATS container. */
function natsConfig(s: Service): string {
  const mount = s.volumes!.find((v) => v.endsWith(':/etc/nats/rtws.conf:ro'))!;
  return readDeploy(mount.split(':')[0]!.replace(/^\.\//, ''));
}

test('the three NATS nodes route to one another, each with its own name and store', () => {
  assert.equal(
    natsServices.map(([n]) => n),
    ['nats-1', 'nats-2', 'nats-3'],
  );
  const stores = new Set<string>();
  for (const [name, s] of natsServices) {
    const text = natsConfig(s);
    const clusterPort = /cluster \{[^}]*?\n\s*port: (\d+)/.exec(text)![1];
    const routes = [...text.matchAll(/nats-route:\/\/([\w-]+):(\d+)/g)];
    for (const [other] of natsServices.filter(([n]) => n !== name))
      assert.ok(
        routes.some((r) => r[1] === other && r[2] === clusterPort),
        `${name} routes to ${other}:${clusterPort}`,
      );
    assert.match(text, /server_name: \$SERVER_NAME/);
    assert.is(s.environment!.SERVER_NAME, name);
    const store = /store_dir: "([^"]+)"/.exec(text)![1]!;
    const volume = s.volumes!.find((v) => v.endsWith(`:${store}`))!.split(':')[0]!;
    assert.ok(compose.volumes[volume] !== undefined, `${name} keeps its store in volume ${volume}`);
    stores.add(volume);
    const httpPort = /^http_port: (\d+)$/m.exec(text)![1];
    assert.match(s.healthcheck!.test!.join(' '), `:${httpPort}/healthz?js-server-only=true`);
  }
  assert.is(stores.size, 3, 'no two nodes share a store');
});

test('the compose nodes keep the limits of deploy/nats', () => {
  const template = readDeploy('nats/node.conf.template');
  const compose = natsConfig(natsServices[0]![1]);
  for (const setting of ['max_payload', 'max_memory_store', 'max_file_store', 'name']) {
    const value = (text: string) => new RegExp(`^\\s*${setting}: (.+)$`, 'm').exec(text)?.[1];
    assert.ok(value(template), setting);
    assert.is(value(compose), value(template), setting);
  }
});

test.run();
