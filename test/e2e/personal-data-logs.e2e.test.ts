// No personal data in logs: rtws, at debug level, with Stripe and Salesforce, takes a burst of
// customers with recognisable names, emails, phones and streets: creates, edits, a lookup by
// email, a refused body, and calls refused by Stripe and Salesforce with messages that quote the
// values. None of the values may appear anywhere in what the process writes.
// RTWS_PII_CUSTOMERS sets the burst's size (default 12).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import { apiUrlOf, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { authHeaders, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { testSize } from '../harness/services.ts';
import { waitFor } from '../harness/stream.ts';

const CUSTOMERS = testSize('RTWS_PII_CUSTOMERS', 12);

const test = suite<{
  t?: TestEnvironment;
  stripe?: StripeEmulator;
  sf?: SalesforceEmulator;
  rtws?: RtwsProcess;
}>('no personal data in logs');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.stripe = await startStripeEmulator({ port: 0, searchLagMs: 0 });
  ctx.sf = await startSalesforceEmulator({ port: 0 });
});

test.after(async (ctx) => {
  await ctx.rtws?.kill('SIGKILL');
  await ctx.sf?.close();
  await ctx.stripe?.close();
  await ctx.t?.cleanup();
});

/** Values no log line may hold: each customer's name, email, phone and street. */
const personOf = (i: number) => ({
  name: `Zephyrine Quillfeather${i}`,
  email: `zquill${i}.private@example.com`,
  phone: `+1 555 77${String(i).padStart(2, '0')}`,
  address: { line1: `${i} Marmalade Lane`, city: 'Quillton', country: 'GB' },
});

test('a burst with faults leaves no name, email, phone or street in the logs', async (ctx) => {
  const { t, stripe, sf } = ctx;
  const rtws = (ctx.rtws = spawnRtws({
    ...t!.env,
    LOG_LEVEL: 'debug',
    RTWS_ROLES: 'api,publisher,worker',
    STRIPE_SECRET_KEY: 'sk_live_pii_test',
    STRIPE_API_BASE: stripe!.url,
    STRIPE_WEBHOOK_SECRET: 'whsec_pii',
    SALESFORCE_LOGIN_URL: sf!.loginUrl,
    SALESFORCE_CLIENT_ID: sf!.clientId,
    SALESFORCE_CLIENT_SECRET: sf!.clientSecret,
    RTWS_SALESFORCE_POLL_S: '1',
  }));
  const url = await apiUrlOf(rtws);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: authHeaders(),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  // Refusals that quote the values: Stripe's first creates, and Salesforce's first writes.
  const quoted = personOf(0);
  stripe!.failNext({
    method: 'POST',
    path: '/v1/customers',
    status: 400,
    count: 2,
    error: {
      type: 'invalid_request_error',
      message: `Invalid email address: ${quoted.email} (${quoted.name}, ${quoted.phone})`,
      param: 'email',
    },
  });
  sf!.injectFault({
    path: 'sobjects',
    count: 2,
    status: 400,
    errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
    message: `Phone ${quoted.phone} is not valid for ${quoted.name} at ${quoted.address.line1}`,
  });
  const ids: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const created = await call('POST', '/customers', personOf(i));
    assert.is(created.status, 201, JSON.stringify(created.body));
    ids.push(created.body.id as string);
  }
  for (const [i, id] of ids.entries())
    await call('PATCH', `/customers/${id}`, { phone: `+1 555 88${String(i).padStart(2, '0')}` });
  assert.is(
    (await call('GET', `/customers?email=${encodeURIComponent(quoted.email)}`)).status,
    200,
  );
  const refused = await call('POST', '/customers', { ...quoted, email: 'zquill.not-an-email' });
  assert.is(refused.status, 400);
  await waitFor(
    async () => Promise.all(ids.map((id) => call('GET', `/customers/${id}/sync`))),
    (all) =>
      all.every((r) => {
        const targets = r.body.targets as Record<string, { status: string }> | undefined;
        return (
          ['synced', 'failed'].includes(targets?.stripe?.status ?? '') &&
          ['synced', 'failed'].includes(targets?.salesforce?.status ?? '')
        );
      }),
    60_000,
    250,
  );
  // The refusals happened, quoting the values, and are kept where an operator reads them: the DLQ.
  const letters = JSON.stringify((await call('GET', '/dlq?limit=100')).body.data);
  assert.match(letters, `Invalid email address: ${quoted.email}`);
  assert.match(letters, `Phone ${quoted.phone} is not valid`);
  assert.is(await rtws.kill('SIGTERM'), 0);
  const output = rtws.output();
  assert.ok(output.split('\n').length > 50, 'the process logged at debug level');
  const leaks: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const p = personOf(i);
    for (const value of [
      p.name,
      p.email,
      p.phone,
      p.address.line1,
      `+1 555 88${String(i).padStart(2, '0')}`,
    ])
      for (const line of output.split('\n'))
        if (line.includes(value) || line.includes(value.replace(/ /g, '')))
          leaks.push(`${value}: ${line.slice(0, 300)}`);
  }
  for (const word of ['Quillfeather', 'zquill', 'Marmalade', 'Quillton'])
    for (const line of output.split('\n'))
      if (line.includes(word)) leaks.push(`${word}: ${line.slice(0, 300)}`);
  assert.equal([...new Set(leaks)].slice(0, 20), [], `${leaks.length} leaks`);
});

test.run();
