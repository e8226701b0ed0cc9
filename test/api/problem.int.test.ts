// What the error handler answers for errors that carry an HTTP status: Fastify's own client errors
// (its plugins' too) and the rate limit's pass through as 4xx; Stripe refusing a call rtws made
// within the request (a Stripe SDK error, here from the Stripe emulator over HTTP) is our failure:
// a 502 that repeats nothing of Stripe's message, or a 503 to retry when Stripe limits rtws. And
// the validator: text Postgres cannot store is refused, a surrogate pair is not, at any depth.
import Fastify, { type FastifyInstance } from 'fastify';
import Stripe from 'stripe';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { errorHandler, RATE_LIMITED } from '../../adapters/http/problem.ts';
import { validatorCompiler } from '../../adapters/http/validation.ts';

const test = suite<{ app: FastifyInstance; emu: StripeEmulator; logged: string[] }>('problems');

test.before(async (ctx) => {
  ctx.emu = await startStripeEmulator({ port: 0 });
  ctx.logged = [];
  const stream = { write: (line: string) => ctx.logged.push(line) };
  const app = Fastify({ logger: { stream, level: 'info' } });
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  const stripeWith = (key: string) =>
    new Stripe(key, {
      host: '127.0.0.1',
      port: new URL(ctx.emu.url).port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
  // A key of a form the emulator, as Stripe, refuses.
  const revoked = stripeWith('sk_live-revoked-key-1234');
  app.get('/stripe', async () => revoked.customers.list({ limit: 1 }));
  app.get('/limited', async () => {
    throw Object.assign(new Error('too many requests'), { statusCode: 429, code: RATE_LIMITED });
  });
  // As @fastify/static answers a range it cannot serve: a client error with no code of Fastify's.
  app.get('/range', async () => {
    throw Object.assign(new Error('Range Not Satisfiable'), { statusCode: 416 });
  });
  const limitedStripe = stripeWith('sk_test_limited');
  app.get('/stripe-limited', async () => limitedStripe.customers.list({ limit: 1 }));
  app.post(
    '/echo',
    { schema: { body: { type: 'object', additionalProperties: { type: 'string' } } } },
    async (request) => request.body,
  );
  app.post('/any', { schema: { body: {} } }, async () => ({ ok: true }));
  ctx.app = app;
});
test.after(async (ctx) => {
  await ctx.app?.close();
  await ctx.emu?.close();
});

test('a refusal by a service rtws called is a 502 that names nothing of it', async (ctx) => {
  const res = await ctx.app.inject({ method: 'GET', url: '/stripe' });
  assert.is(res.statusCode, 502);
  assert.is(res.json().code, 'upstream_refused');
  assert.not.match(res.body, /sk_|API Key/);
  assert.match(res.json().detail, /^Stripe answered 401/);
  const line = ctx.logged.find((l) => l.includes('Stripe refused a call rtws made'));
  assert.ok(line, ctx.logged.join(''));
  assert.match(line, /"status":401/);
  assert.not.match(line, /sk_live/);
});

test("Fastify's client errors and the rate limit's stay 4xx", async (ctx) => {
  const bad = await ctx.app.inject({
    method: 'POST',
    url: '/echo',
    headers: { 'content-type': 'application/json' },
    payload: '{"a":',
  });
  assert.is(bad.statusCode, 400);
  assert.is(bad.json().code, 'FST_ERR_CTP_INVALID_JSON_BODY');
  const limited = await ctx.app.inject({ method: 'GET', url: '/limited' });
  assert.is(limited.statusCode, 429);
  assert.is(limited.json().title, 'Too Many Requests');
  assert.is((await ctx.app.inject({ method: 'GET', url: '/range' })).statusCode, 416);
});

test("Stripe limiting rtws within a request is a 503 to retry, not the caller's 429", async (ctx) => {
  ctx.emu.failNext({ method: 'GET', path: '/v1/customers', status: 429, count: 1 });
  const res = await ctx.app.inject({ method: 'GET', url: '/stripe-limited' });
  assert.is(res.statusCode, 503);
  assert.is(res.headers['retry-after'], '1');
  assert.is(res.json().code, 'unavailable');
});

test('text Postgres cannot store is refused by field; a surrogate pair and "/" keys are kept', async (ctx) => {
  const post = (payload: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload,
    });
  const kept = await post('{"emoji":"\\ud83d\\ude00","a/b":"c"}');
  assert.is(kept.statusCode, 200);
  assert.equal(kept.json(), { emoji: '😀', 'a/b': 'c' });
  const high = await post('{"a/b":"x\\ud83d"}');
  assert.is(high.statusCode, 400);
  assert.is(high.json().field, 'a~1b');
  const low = await post('{"k":"\\ude00x"}');
  assert.is(low.json().field, 'k');
  const nul = await post('{"k\\u0000":"v"}');
  assert.is(nul.statusCode, 400);
  assert.match(nul.json().detail, /has an invalid key: must not contain a NUL character/);
});

test('a body nested however deep is checked without a stack overflow', async (ctx) => {
  const deep = (inner: string) => `${'['.repeat(20_000)}${inner}${']'.repeat(20_000)}`;
  const post = (payload: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/any',
      headers: { 'content-type': 'application/json' },
      payload,
    });
  assert.is((await post(deep('"fine"'))).statusCode, 200);
  const nul = await post(deep('"a\\u0000b"'));
  assert.is(nul.statusCode, 400, nul.body);
  assert.match(nul.json().detail, /must not contain a NUL character/);
  const refused = await ctx.app.inject({
    method: 'POST',
    url: '/echo',
    headers: { 'content-type': 'application/json' },
    payload: `{"m":${deep('1')}}`,
  });
  assert.is(refused.statusCode, 400, 'the schema refuses it first');
});

test.run();
