// What the error handler answers for errors that carry an HTTP status: Fastify's own client errors
// and the rate limit's pass through as 4xx; a service rtws called that refused rtws (a Stripe SDK
// error, here from the Stripe emulator over HTTP) is our failure, a 502 that repeats nothing of
// its message. And the validator: text Postgres cannot store is refused, a surrogate pair is not.
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
  const revoked = new Stripe('sk_live-revoked-key-1234', {
    host: '127.0.0.1',
    port: new URL(ctx.emu.url).port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  app.get('/stripe', async () => revoked.customers.list({ limit: 1 }));
  app.get('/limited', async () => {
    throw Object.assign(new Error('too many requests'), { statusCode: 429, code: RATE_LIMITED });
  });
  app.post(
    '/echo',
    { schema: { body: { type: 'object', additionalProperties: { type: 'string' } } } },
    async (request) => request.body,
  );
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
  const line = ctx.logged.find((l) => l.includes('a service rtws called refused it'));
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

test.run();
