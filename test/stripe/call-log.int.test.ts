// The Stripe call log against the emulator, through the official SDK: works running at once each
// get their own client, and every response is logged with the scope of the work that made it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { stripeClients } from '../../adapters/stripe/client.ts';
import { logStripeCalls, scopedStripe, type CallScope } from '../../adapters/stripe/call-log.ts';
import type { Logger } from '../../core/ports.ts';

interface Line extends CallScope {
  readonly msg: string | undefined;
  readonly method?: string;
  readonly path?: string;
  readonly status?: number;
  readonly stripe_request_id?: string;
}

function capture(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log: Logger = {
    debug: () => {},
    info: (obj, msg) => void lines.push({ ...obj, msg }),
    warn: () => {},
    error: () => {},
    child: () => log,
  };
  return { log, lines };
}

const test = suite<{ emulator: StripeEmulator }>('Stripe call log');

test.before(async (ctx) => {
  ctx.emulator = await startStripeEmulator({ port: 0 });
});
test.after(async (ctx) => {
  await ctx.emulator?.close();
});

/** Makes the clients, and counts them. */
function clients(ctx: { emulator: StripeEmulator }) {
  const make = stripeClients({
    secretKey: 'sk_test_call_log',
    apiBase: ctx.emulator.url,
    timeoutMs: 5_000,
  });
  const counted = { made: 0, make: () => (counted.made++, make()) };
  return counted;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('works running at once each log their own calls, with their own scope', async (ctx) => {
  const { log, lines } = capture();
  const pool = clients(ctx);
  const stripe = scopedStripe(pool.make, log);
  const works = 12;
  const byStripeId = new Map<string, string>();
  await Promise.all(
    Array.from({ length: works }, (_, i) =>
      stripe.run({ intent_id: `intent-${i}`, customer_id: `c-${i}` }, async (client) => {
        const c = await client.customers.create({ name: `n${i}` }, { idempotencyKey: `k-${i}` });
        byStripeId.set(c.id, `intent-${i}`);
        // The works' calls interleave: each waits a different time before its next.
        await pause((i * 7) % 30);
        await client.customers.retrieve(c.id);
        await client.customers.update(c.id, { name: `m${i}` });
      }),
    ),
  );
  const calls = lines.filter((l) => l.msg === 'stripe call');
  assert.is(calls.length, works * 3);
  for (const l of calls) {
    assert.match(String(l.stripe_request_id), /^req_/);
    assert.is(l.status, 200);
    assert.is(l.customer_id, `c-${l.intent_id!.slice('intent-'.length)}`);
  }
  // A retrieve and an update name their customer in the path: it is the one the same work made.
  const byPath = calls.filter((l) => l.path !== '/v1/customers');
  assert.is(byPath.length, works * 2);
  for (const l of byPath)
    assert.is(byStripeId.get(l.path!.split('/').at(-1)!), l.intent_id, l.path);
  for (let i = 0; i < works; i++)
    assert.is(calls.filter((l) => l.intent_id === `intent-${i}`).length, 3, `intent-${i}`);
  // One client per work running at once; the next works borrow them again.
  assert.is(pool.made, works);
  await Promise.all(
    Array.from({ length: works }, (_, i) =>
      stripe.run({ intent_id: `again-${i}` }, (client) => client.customers.list({ limit: 1 })),
    ),
  );
  assert.is(pool.made, works);
});

test('a call a work leaves running is logged with its scope, and its client is not lent again', async (ctx) => {
  const { log, lines } = capture();
  const pool = clients(ctx);
  const stripe = scopedStripe(pool.make, log);
  ctx.emulator.delayRequests({ method: 'GET', path: '/v1/customers*', ms: 400, count: 1 });
  let left: Promise<unknown> | undefined;
  await stripe.run({ intent_id: 'left' }, async (client) => {
    left = client.customers.list({ limit: 1 });
    // Sent, not answered, when the work settles.
    await pause(100);
  });
  await stripe.run({ intent_id: 'next' }, (client) => client.customers.list({ limit: 2 }));
  assert.is(pool.made, 2, 'the next work got a client of its own');
  await left;
  assert.equal(lines.map((l) => l.intent_id).sort(), ['left', 'next']);
});

test('a client goes back when its work fails, and is lent again with the next scope', async (ctx) => {
  const { log, lines } = capture();
  const pool = clients(ctx);
  const stripe = scopedStripe(pool.make, log);
  const failed = await stripe
    .run({ intent_id: 'missing' }, (client) => client.customers.retrieve('cus_none'))
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  assert.ok(failed instanceof Error, 'a 404 rejects the work');
  await stripe.run({ intent_id: 'next' }, (client) => client.customers.list({ limit: 1 }));
  await stripe.run({ intent_id: 'then' }, (client) => client.customers.list({ limit: 1 }));
  assert.is(pool.made, 1);
  assert.equal(
    lines.map((l) => [l.intent_id, l.status]),
    [
      ['missing', 404],
      ['next', 200],
      ['then', 200],
    ],
  );
  // The path is logged without its query.
  assert.is(lines[1]!.path, '/v1/customers');
});

test('without a log, the works share one client and get their answers', async (ctx) => {
  const stripe = scopedStripe(clients(ctx).make);
  const seen = new Set<unknown>();
  const answers = await Promise.all(
    [1, 2, 3].map((i) =>
      stripe.run({ intent_id: `i${i}` }, (client) => {
        seen.add(client);
        return client.customers.list({ limit: i });
      }),
    ),
  );
  assert.is(seen.size, 1);
  assert.equal(
    answers.map((a) => a.object),
    ['list', 'list', 'list'],
  );
});

test('the client of no one intent logs each call, without a scope and without the query', async (ctx) => {
  const { log, lines } = capture();
  const stripe = logStripeCalls(clients(ctx).make(), log);
  await stripe.customers.list({ email: 'someone@example.com', limit: 3 });
  const missing = await stripe.customers.retrieve('cus_none').catch((err: unknown) => err);
  assert.ok(missing instanceof Error, 'a 404 rejects the call');
  assert.equal(
    lines.map((l) => [l.msg, l.method, l.path, l.status]),
    [
      ['stripe call', 'GET', '/v1/customers', 200],
      ['stripe call', 'GET', '/v1/customers/cus_none', 404],
    ],
  );
  for (const l of lines) {
    assert.match(String(l.stripe_request_id), /^req_/);
    assert.is(l.intent_id, undefined);
    assert.not.match(JSON.stringify(l), 'someone@example.com');
  }
});

test.run();
