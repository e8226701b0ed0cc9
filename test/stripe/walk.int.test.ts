// The walks of an import and a reconciliation against the Stripe emulator, through the official
// SDK: a cursor whose object was deleted since is refused by Stripe as `starting_after`, and the
// walk goes on from the cursor's creation second, for customers and for invoices alike.
import Stripe from 'stripe';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { customersAfter, pageAfter, walkCursor } from '../../deploy/wiring/backfill/stripe-walk.ts';

const test = suite<{ emu: StripeEmulator; stripe: Stripe }>('Stripe walks');
test.before(async (ctx) => {
  ctx.emu = await startStripeEmulator({ port: 0 });
  const base = new URL(ctx.emu.url);
  ctx.stripe = new Stripe('sk_test_walk', {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
});
test.after(async (ctx) => {
  await ctx.emu?.close();
});

test('a deleted cursor customer: refused as it is, gone on from its second', async ({ stripe }) => {
  for (let i = 0; i < 5; i++) await stripe.customers.create({ name: `Walked ${i}` });
  const all = (await customersAfter(stripe, null)).data;
  const at = all[2]!;
  await stripe.customers.del(at.id);
  const code = (err: { code?: string }) => err.code;
  assert.is(await customersAfter(stripe, at.id).then(() => 'listed', code), 'resource_missing');
  const next = await customersAfter(stripe, walkCursor(at));
  const ids = next.data.map((c) => c.id);
  for (const older of all.slice(3)) assert.ok(ids.includes(older.id), older.id);
  assert.not.ok(ids.includes(at.id));
});

test('a deleted cursor invoice (a draft deleted): gone on from its second', async ({ stripe }) => {
  const customer = await stripe.customers.create({ name: 'Billed' });
  for (let i = 0; i < 4; i++)
    await stripe.invoices.create({ customer: customer.id, auto_advance: false });
  const list = (params: Stripe.InvoiceListParams) => stripe.invoices.list(params);
  const all = (await pageAfter(list, null)).data;
  const at = all[1]!;
  await stripe.invoices.del(at.id);
  const next = await pageAfter(list, walkCursor(at));
  const ids = next.data.map((i) => i.id);
  for (const older of all.slice(2)) assert.ok(ids.includes(older.id), older.id);
  assert.not.ok(ids.includes(at.id));
});

test.run();
