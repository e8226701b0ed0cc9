// With a dataDir, objects, events, deletions and idempotency keys survive a restart.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sdk, start } from './support.ts';

let dir: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stripe-emulator-'));
});
test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('state and saved answers survive a restart', async () => {
  const first = await start({ dataDir: dir, persistDebounceMs: 20 });
  let kept: Stripe.Customer;
  let gone: Stripe.Customer;
  let invoice: Stripe.Invoice;
  try {
    const stripe = sdk(first);
    kept = await stripe.customers.create(
      { email: 'kept@example.com', metadata: { a: '1' } },
      { idempotencyKey: 'persist-1' },
    );
    gone = await stripe.customers.create({ name: 'gone' });
    await stripe.customers.del(gone.id);
    invoice = await stripe.invoices.create({ customer: kept.id });
  } finally {
    await first.close();
  }
  const saved = JSON.parse(await readFile(join(dir, 'stripe-emulator.json'), 'utf8')) as {
    version: number;
  };
  assert.is(saved.version, 1);
  const second = await start({ dataDir: dir });
  try {
    const stripe = sdk(second);
    assert.equal(((await stripe.customers.retrieve(kept.id)) as Stripe.Customer).metadata, {
      a: '1',
    });
    assert.is((await stripe.customers.retrieve(gone.id)).deleted, true);
    assert.is((await stripe.invoices.retrieve(invoice.id)).status, 'draft');
    assert.is((await stripe.events.list({ limit: 100 })).data.length, 4);
    const replay = await stripe.customers.create(
      { email: 'kept@example.com', metadata: { a: '1' } },
      { idempotencyKey: 'persist-1' },
    );
    assert.is(replay.id, kept.id);
    assert.is(
      (await stripe.customers.search({ query: "email:'kept@example.com'" })).data.length,
      1,
    );
    await stripe.customers.create({ name: 'after restart' });
  } finally {
    await second.close();
  }
  const third = await start({ dataDir: dir });
  try {
    assert.is(third.stats().customers, 2);
  } finally {
    await third.close();
  }
});

test.run();
