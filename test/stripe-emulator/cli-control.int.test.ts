// The CLI process, and the /_emulator control endpoints driven over HTTP as another process would.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorOf, keepAlive, startReceiver } from './support.ts';
import type { Receiver } from './support.ts';

/** What the control endpoints answer, as far as these tests read it. */
interface ControlJson {
  data: { fault: boolean; requestId: string; path: string }[];
  gap?: boolean;
  pending: number;
  stats: { customers: number };
}

const entry = new URL('../../adapters/emulators/stripe/cli.ts', import.meta.url).pathname;
let child: ChildProcess;
let url: string;
let secret: string;
let receiver: Receiver;
let stripe: Stripe;

async function control(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: ControlJson }> {
  const res = await fetch(`${url}/_emulator/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as ControlJson };
}

test.before(async () => {
  receiver = await startReceiver();
  child = spawn(
    process.execPath,
    ['--import', 'tsx', entry, '--port', '0', '--webhook-url', receiver.url],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const listening = /listening on (\S+)/.exec(line);
    if (listening) url = listening[1]!;
    const hook = /secret (whsec_\S+)/.exec(line);
    if (hook) {
      secret = hook[1]!;
      break;
    }
  }
  const port = Number(new URL(url).port);
  stripe = new Stripe('sk_test_cli', {
    host: '127.0.0.1',
    port,
    protocol: 'http',
    maxNetworkRetries: 0,
    httpClient: Stripe.createNodeHttpClient(keepAlive),
  });
});
test.after(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await receiver.close();
});

test('prints its URL and the webhook secret', () => {
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(secret, /^whsec_/);
});

test('fault endpoint: a post-commit 500 with Stripe-Should-Retry false', async () => {
  const set = await control('POST', 'faults', {
    method: 'POST',
    path: '/v1/customers',
    status: 500,
    phase: 'after',
    shouldRetry: false,
  });
  assert.is(set.status, 200);
  const err = await errorOf(stripe.customers.create({ name: 'x' }));
  assert.instance(err, Stripe.errors.StripeAPIError);
  assert.is(err.headers?.['stripe-should-retry'], 'false');
  const requests = await control('GET', 'requests?path=/v1/customers');
  assert.is(requests.json.data.length, 1);
  assert.is(requests.json.data[0]!.fault, true);
  assert.is((await stripe.customers.list()).data.length, 1);
});

test('request log: a poller asks only for what came after the last request it saw', async () => {
  const first = await stripe.customers.create({ name: 'first' });
  const seen = await control('GET', 'requests?method=POST&path=/v1/customers');
  const last = seen.json.data.at(-1)!;
  assert.is(last.path, '/v1/customers');
  await stripe.customers.retrieve(first.id);
  await stripe.customers.update(first.id, { name: 'second' });
  const after = await control(
    'GET',
    `requests?method=POST&path=/v1/customers&after=${last.requestId}`,
  );
  assert.is(after.json.gap, false);
  assert.equal(
    after.json.data.map((r) => r.path),
    [`/v1/customers/${first.id}`],
  );
  const unknown = await control('GET', 'requests?after=req_unknown');
  assert.is(unknown.json.gap, true);
  assert.is(unknown.json.data.length, (await control('GET', 'requests')).json.data.length);
});

test('webhook controls: pause, flush, attempts, and the signature checks out', async () => {
  assert.is((await control('POST', 'webhooks/pause')).status, 200);
  await stripe.customers.create({ name: 'hooked' });
  const flushed = await control('POST', 'webhooks/flush', { timeoutMs: 5000 });
  assert.is(flushed.json.pending, 0);
  const attempts = await control('GET', 'webhooks/attempts');
  assert.ok(attempts.json.data.length >= 1);
  const last = receiver.deliveries.at(-1)!;
  assert.is(
    stripe.webhooks.constructEvent(last.body, last.signature, secret).type,
    'customer.created',
  );
  assert.is((await control('POST', 'webhooks/resume')).status, 200);
  assert.is(
    (await control('POST', 'webhooks/config', { duplicate: true, delayMs: 0, reorderWindow: 0 }))
      .status,
    200,
  );
});

test('rate limit, clock, search lag and reset; bad bodies are 400; unknown control is 404', async () => {
  assert.is((await control('POST', 'rate-limit', { rps: 1 })).status, 200);
  await stripe.customers.list().catch(() => undefined);
  const limited = await errorOf(
    Promise.all([stripe.customers.list(), stripe.customers.list(), stripe.customers.list()]),
  );
  assert.instance(limited, Stripe.errors.StripeRateLimitError);
  assert.is((await control('POST', 'rate-limit', { rps: null })).status, 200);
  assert.is((await control('POST', 'clock', { offsetMs: 1000 })).status, 200);
  assert.is((await control('POST', 'search-lag', { ms: 0 })).status, 200);
  assert.is((await control('POST', 'reset')).status, 200);
  const health = await control('GET', 'health');
  assert.is(health.json.stats.customers, 0);
  assert.is((await control('POST', 'faults', { path: '/v1/x', status: 200 })).status, 400);
  assert.is((await control('POST', 'faults', 'not json')).status, 400);
  assert.is((await control('GET', 'nothing')).status, 404);
});

test('SIGTERM stops it cleanly and frees the port', async () => {
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  child.kill('SIGTERM');
  assert.is(await exited, 0);
  const err = await errorOf<Error>(fetch(`${url}/_emulator/health`));
  assert.instance(err, Error);
});

test.run();
