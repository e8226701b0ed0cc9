// A worker's first reach of Salesforce checks the field map against the object's describe: a map
// the object refuses stops the start naming the field; a Salesforce that cannot be reached pauses
// its target and the check is retried, as for the organization; a map refused by a retry leaves
// the target paused, said in the log.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { checkBindings, type Bindings } from '../../deploy/wiring/binding/check-bindings.ts';
import { freePort } from '../harness/private-servers.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { recordingLogger } from '../webhooks/signing.ts';

const test = suite<{
  t: TestEnvironment;
  o: Observer;
  dir: string;
  emulator?: SalesforceEmulator;
  bindings?: Bindings;
}>('Salesforce field map checked at start');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.dir = mkdtempSync(join(tmpdir(), 'rtws-map-'));
});
test.after.each(async (ctx) => {
  ctx.bindings?.stop();
  ctx.bindings = undefined;
  await ctx.emulator?.close();
  ctx.emulator = undefined;
  // Each test meets an emulator of its own, and so another organization.
  await ctx.o.sql`DELETE FROM target_bindings`;
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

const ACCOUNT_WITH_EMAIL = { object: 'Account', fields: { Name: 'name', Email: 'email' } };

function mapFile(dir: string, name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

/** A worker's configuration against a Salesforce at `loginUrl`, with the emulator's credentials. */
function workerConfig(t: TestEnvironment, loginUrl: string, map?: string) {
  return t.config({
    RTWS_ROLES: 'worker',
    SALESFORCE_LOGIN_URL: loginUrl,
    SALESFORCE_CLIENT_ID: 'rtws-emulator',
    SALESFORCE_CLIENT_SECRET: 'start-check-secret',
    RTWS_CALL_TIMEOUT_MS: '1000',
    ...(map ? { SALESFORCE_FIELD_MAP: map } : {}),
  });
}

const emulatorAt = (port = 0) =>
  startSalesforceEmulator({ port, clientId: 'rtws-emulator', clientSecret: 'start-check-secret' });

test('a map the object refuses stops the start, naming the field', async (ctx) => {
  const emulator = (ctx.emulator = await emulatorAt());
  const map = mapFile(ctx.dir, 'account-email.json', ACCOUNT_WITH_EMAIL);
  const log = recordingLogger();
  const err = await checkBindings(workerConfig(ctx.t, emulator.loginUrl, map), {
    sql: ctx.o.sql,
    stripe: undefined,
    log,
  }).then(
    (b) => {
      ctx.bindings = b;
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.instance(err, ConfigError);
  assert.is((err as ConfigError).variable, 'SALESFORCE_FIELD_MAP');
  assert.match((err as Error).message, `${map}: Account.Email does not exist`);
});

test('a Salesforce that cannot be reached pauses its target; the check is retried', async (ctx) => {
  const port = await freePort();
  const log = recordingLogger();
  const bindings = (ctx.bindings = await checkBindings(
    workerConfig(ctx.t, `http://127.0.0.1:${port}`),
    { sql: ctx.o.sql, stripe: undefined, log, salesforceRetryMs: 100 },
  ));
  assert.not.ok(bindings.ready('salesforce'), 'paused while unreachable');
  assert.ok(
    log.lines.some((l) => l.level === 'warn' && /Salesforce target waits/.test(l.msg ?? '')),
    JSON.stringify(log.lines),
  );
  ctx.emulator = await emulatorAt(port);
  const ready = await eventually(
    () => Promise.resolve(bindings.ready('salesforce')),
    (r) => r,
    10_000,
  );
  assert.ok(ready, 'runs once Salesforce answers and the default map fits Account');
});

test('a map refused by a later check leaves the target paused, with an error logged', async (ctx) => {
  const port = await freePort();
  const map = mapFile(ctx.dir, 'account-email-late.json', ACCOUNT_WITH_EMAIL);
  const log = recordingLogger();
  const bindings = (ctx.bindings = await checkBindings(
    workerConfig(ctx.t, `http://127.0.0.1:${port}`, map),
    { sql: ctx.o.sql, stripe: undefined, log, salesforceRetryMs: 100 },
  ));
  ctx.emulator = await emulatorAt(port);
  const refused = await eventually(
    () => Promise.resolve(log.lines.find((l) => l.level === 'error')),
    (l) => l !== undefined,
    10_000,
  );
  assert.match(refused?.msg ?? '', 'Salesforce refused; the Salesforce target stays paused');
  assert.match(JSON.stringify(refused?.obj), 'Account.Email does not exist');
  assert.not.ok(bindings.ready('salesforce'));
});

test.run();
