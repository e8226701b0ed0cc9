// A bad Salesforce field map stops rtws at start with exit code 2 and a message naming the file
// and the field: a file that is not a valid map, and a map the object's describe refuses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import type { Env } from '../../core/config.ts';
import { spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { testEnvironment, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{
  t: TestEnvironment;
  stripe: StripeEmulator;
  sf: SalesforceEmulator;
  dir: string;
  children: RtwsProcess[];
}>('Salesforce field map: a bad one stops the start');

test.before(async (ctx) => {
  ctx.children = [];
  try {
    ctx.t = await testEnvironment();
    ctx.stripe = await startStripeEmulator({ port: 0, searchLagMs: 0 });
    ctx.sf = await startSalesforceEmulator({ port: 0 });
    ctx.dir = mkdtempSync(join(tmpdir(), 'rtws-map-'));
  } catch (err) {
    console.error('setup failed', err);
    throw err;
  }
});
test.after(async (ctx) => {
  for (const c of ctx.children ?? []) await c.kill();
  await ctx.sf?.close();
  await ctx.stripe?.close();
  await ctx.t?.cleanup();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

function envWith(
  ctx: { t: TestEnvironment; stripe: StripeEmulator; sf: SalesforceEmulator },
  map: string,
): Env {
  return {
    ...ctx.t.env,
    STRIPE_SECRET_KEY: 'sk_test_field_map',
    STRIPE_API_BASE: ctx.stripe.url,
    STRIPE_WEBHOOK_SECRET: 'whsec_field_map',
    SALESFORCE_LOGIN_URL: ctx.sf.loginUrl,
    SALESFORCE_CLIENT_ID: ctx.sf.clientId,
    SALESFORCE_CLIENT_SECRET: ctx.sf.clientSecret,
    SALESFORCE_FIELD_MAP: map,
  };
}

function mapFile(dir: string, name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

test('a file with a bad entry exits 2, naming the file and the field', async (ctx) => {
  const map = mapFile(ctx.dir, 'bad-direction.json', {
    object: 'Account',
    fields: { Name: 'name', Phone: { canonical: 'phone', direction: 'inbound' } },
  });
  const p = spawnRtws(envWith(ctx, map));
  ctx.children.push(p);
  assert.is(await p.exited, 2, p.output());
  assert.match(
    p.output(),
    `rtws: configuration error: SALESFORCE_FIELD_MAP: ${map}: field "Phone": "direction" must be one of both, to_salesforce, from_salesforce`,
  );
});

test("a map the object's describe refuses exits 2, naming each field", async (ctx) => {
  const map = mapFile(ctx.dir, 'account-with-email.json', {
    object: 'Account',
    fields: { Name: 'name', Email: 'email', CreatedDate: 'metadata.created' },
  });
  const p = spawnRtws(envWith(ctx, map));
  ctx.children.push(p);
  assert.is(await p.exited, 2, p.output());
  const out = p.output();
  assert.match(out, 'rtws: configuration error: SALESFORCE_FIELD_MAP:');
  assert.match(out, `${map}: Account.Email does not exist, or the integration user cannot see it`);
  assert.match(out, `${map}: Account.CreatedDate is of type datetime`);
});

test.run();
