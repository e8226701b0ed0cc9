// The Stripe SDK's call-site capture, as patched (deploy/patches/stripe+23.1.0.patch): a call that
// succeeds formats no stack trace (through tsx's source maps, formatting one was about 3% of rtws's
// CPU per synced change), and a call that fails still names the caller's frames in its error.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type Stripe from 'stripe';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { stripeClient } from '../../adapters/stripe/client.ts';

const test = suite<{ emulator: StripeEmulator; stripe: Stripe }>('the Stripe SDK call site');

test.before(async (ctx) => {
  ctx.emulator = await startStripeEmulator({ port: 0 });
  ctx.stripe = stripeClient({
    secretKey: 'sk_test_call_site',
    apiBase: ctx.emulator.url,
    timeoutMs: 2_000,
  });
});
test.after(async (ctx) => {
  await ctx.emulator?.close();
});

/** Counts the stack traces V8 formats while `work` runs, through Node's own formatter. */
async function formatted(work: () => Promise<unknown>): Promise<number> {
  const node = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
  const format = node?.value as typeof Error.prepareStackTrace;
  let count = 0;
  Error.prepareStackTrace = (err, frames) => {
    count++;
    return format ? format(err, frames) : `${String(err)}\n${frames.map(String).join('\n')}`;
  };
  try {
    await work();
  } finally {
    if (node) Object.defineProperty(Error, 'prepareStackTrace', node);
    else Reflect.deleteProperty(Error, 'prepareStackTrace');
  }
  return count;
}

test('a call that succeeds formats no stack trace', async ({ stripe }) => {
  const created = await stripe.customers.create({ name: 'Warm-up' });
  const count = await formatted(async () => {
    await stripe.customers.retrieve(created.id);
    await stripe.customers.update(created.id, { name: 'Quiet' });
  });
  assert.is(count, 0);
});

test("a call that fails names the caller's frames", async ({ stripe }) => {
  async function callerOfTheMissingCustomer() {
    return stripe.customers.update('cus_missing_call_site', { name: 'Nobody' });
  }
  let stack = '';
  try {
    await callerOfTheMissingCustomer();
    assert.unreachable('the customer is missing');
  } catch (err) {
    stack = String((err as Error).stack);
  }
  assert.match(stack, /callerOfTheMissingCustomer/);
});

test.run();
