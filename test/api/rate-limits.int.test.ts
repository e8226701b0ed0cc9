// Request limits: per token for the API (a second token has its own count), per address for the
// webhooks unless the address is allowed; the probes never. A request over the limit gets 429 as
// problem+json with Retry-After, and writes nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Rtws } from '../../deploy/rtws.ts';
import { startRtws } from '../../deploy/rtws.ts';
import { silentLogger } from '../../core/ports.ts';
import { testEnvironment, type TestEnvironment } from '../harness/rtws.ts';

const A = 'token-a-0123456789abcdef';
const B = 'token-b-0123456789abcdef';

const test = suite<{ t?: TestEnvironment; rtws?: Rtws[] }>('request limits');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.rtws = [];
});

test.after(async (ctx) => {
  for (const r of ctx.rtws ?? []) await r.close();
  await ctx.t?.cleanup();
});

async function start(ctx: { t?: TestEnvironment; rtws?: Rtws[] }, env: Record<string, string>) {
  const rtws = await startRtws(
    ctx.t!.config({
      RTWS_API_TOKEN: '',
      RTWS_API_TOKENS: `a:admin:${A},b:admin:${B}`,
      RTWS_ROLES: 'api',
      STRIPE_WEBHOOK_SECRET: 'whsec_limits',
      RTWS_API_RATE_LIMIT: '5',
      RTWS_WEBHOOK_RATE_LIMIT: '3',
      ...env,
    }),
    silentLogger,
  );
  ctx.rtws!.push(rtws);
  return rtws.url!;
}

const get = (url: string, token: string) =>
  fetch(`${url}/customers`, { headers: { authorization: `Bearer ${token}` } });

test('each token has its own count; past it, 429 with Retry-After, and nothing is written', async (ctx) => {
  const url = await start(ctx, {});
  for (let i = 0; i < 5; i++) assert.is((await get(url, A)).status, 200);
  const over = await get(url, A);
  assert.is(over.status, 429);
  assert.match(over.headers.get('content-type') ?? '', 'application/problem+json');
  const retry = Number(over.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 60, `Retry-After: ${retry}`);
  const problem = (await over.json()) as { status: number; detail: string };
  assert.is(problem.status, 429);
  assert.match(problem.detail, /5 a minute are allowed/);
  const write = await fetch(`${url}/customers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${A}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Over The Limit' }),
  });
  assert.is(write.status, 429);
  const [row] = await ctx.rtws![0]!.sql<{ n: string }[]>`SELECT count(*) AS n FROM customers`;
  assert.is(Number(row!.n), 0, 'nothing written');
  assert.is((await get(url, B)).status, 200, 'another token counts apart');
  for (let i = 0; i < 10; i++)
    assert.is((await fetch(`${url}/healthz`)).status, 200, 'probes are never limited');
  // A missing token is refused before it counts.
  assert.is((await fetch(`${url}/customers`)).status, 401);
});

const deliver = (url: string) =>
  fetch(`${url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
    body: '{}',
  });

test('webhooks are limited per address, unless the address is allowed', async (ctx) => {
  const url = await start(ctx, {});
  for (let i = 0; i < 3; i++) assert.is((await deliver(url)).status, 400, 'a bad signature');
  const over = await deliver(url);
  assert.is(over.status, 429);
  assert.ok(Number(over.headers.get('retry-after')) > 0);
  const allowed = await start(ctx, { RTWS_WEBHOOK_ALLOW_IPS: '127.0.0.1' });
  for (let i = 0; i < 6; i++) assert.is((await deliver(allowed)).status, 400, 'never limited');
});

test.run();
