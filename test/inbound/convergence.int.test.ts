// The two-way property: any interleaving of API edits, Stripe (dashboard) edits, duplicated and
// reordered webhooks and worker restarts converges. Once quiet (every webhook delivered, and rtws
// holding nothing pending for the customer), Postgres equals Stripe on every synced field, there
// is one Stripe customer, and no write loop (Stripe's event count stays flat).
// RTWS_PROPERTY_RUNS raises the number of interleavings tried; fast-check prints the seed and
// path of a failure, and RTWS_PROPERTY_SEED with RTWS_PROPERTY_PATH replays one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type Stripe from 'stripe';
import { propertyOptions } from '../harness/property.ts';
import type { SyncTarget } from '../sync/api-client.ts';
import { linked, quiet, row, synced, twoWay, type Row, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('two-way convergence');
test.before(async (ctx) => {
  ctx.s = await twoWay({ separateWorker: true });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

type Action =
  | { kind: 'api'; name?: string; email?: string; phone?: string; tier?: string }
  | { kind: 'stripe'; name?: string; email?: string; phone?: string; tier?: string }
  | { kind: 'pause'; ms: number }
  | { kind: 'restart' };

// Few values, so that edits collide and revert.
const name = fc.constantFrom('Ann', 'Bob', 'Cy');
const email = fc.constantFrom('a@example.com', 'b@example.com', 'C@Example.com');
const tier = fc.constantFrom('gold', 'silver');
const phone = fc.constantFrom('+1 555 0100', '+1 555 0199');
const edit = fc.record({ name, email, phone, tier }, { requiredKeys: [] });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: edit.map((e) => ({ kind: 'api' as const, ...e })) },
  { weight: 4, arbitrary: edit.map((e) => ({ kind: 'stripe' as const, ...e })) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 400 }).map((ms) => ({ kind: 'pause' as const, ms })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);
const webhooks = fc.record({
  duplicate: fc.boolean(),
  reorderWindow: fc.constantFrom(0, 3),
  delayMs: fc.constantFrom(0, 30),
});

async function act(s: TwoWay, id: string, stripeId: string, a: Action): Promise<void> {
  switch (a.kind) {
    case 'api': {
      const body: Record<string, unknown> = {};
      if (a.name) body.name = a.name;
      if (a.email) body.email = a.email;
      if (a.phone) body.phone = a.phone;
      if (a.tier) body.metadata = { tier: a.tier };
      if (Object.keys(body).length > 0) await s.api.patch(id, body);
      return;
    }
    case 'stripe': {
      const body: Stripe.CustomerUpdateParams = {};
      if (a.name) body.name = a.name;
      if (a.email) body.email = a.email;
      if (a.phone) body.phone = a.phone;
      if (a.tier) body.metadata = { tier: a.tier };
      if (Object.keys(body).length > 0) await s.stripe.customers.update(stripeId, body);
      return;
    }
    case 'pause':
      await new Promise((r) => setTimeout(r, a.ms));
      return;
    case 'restart':
      await s.restartWorker();
      return;
  }
}

/** The customer's events, oldest first, as one line each: what a write loop's report shows. */
async function eventsOf(s: TwoWay, stripeId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of s.stripe.events.list({ limit: 100 })) {
    if ((e.data.object as { id?: string }).id !== stripeId) continue;
    const changed = JSON.stringify(e.data.previous_attributes ?? {});
    out.push(`${e.id} ${e.type} key=${e.request?.idempotency_key ?? '-'} was=${changed}`);
  }
  return out.reverse();
}

interface Reading {
  pg: Row;
  stripe: Stripe.Customer;
  view: SyncTarget | undefined;
  settled: boolean;
}

/**
 * Waits until the customer is quiet: no webhook left to deliver, rtws has pushed the row's version
 * and has nothing pending for Stripe, and Postgres equals Stripe. Equal values alone are not quiet:
 * a push decided before a dashboard edit's webhook reached rtws may still be on its way (it sends
 * `c@example.com` over the dashboard's `C@Example.com`, the same value once canonical), and its
 * event would count as a write loop. Returns the last reading, settled or not.
 */
async function settle(s: TwoWay, id: string, stripeId: string, tries = 40): Promise<Reading> {
  for (let i = 0; ; i++) {
    await s.emu.flushWebhooks();
    const pg = (await row(s, id))!;
    const stripe = (await s.stripe.customers.retrieve(stripeId)) as Stripe.Customer;
    const view = (await s.api.sync(id)).targets.stripe;
    const done =
      s.emu.stats().webhooksPending === 0 &&
      view?.status === 'synced' &&
      view.synced_version === pg.version &&
      JSON.stringify(synced(pg)) === JSON.stringify(synced(stripe));
    if (done || i >= tries) return { pg, stripe, view, settled: done };
    await quiet(s, 300);
  }
}

test('any interleaving converges, with one Stripe customer and no write loop', async ({ s }) => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      webhooks,
      fc.array(action, { minLength: 3, maxLength: 10 }),
      async (hooks, actions) => {
        const { id } = await s.api.create({ name: `Run ${++run}`, email: 'start@example.com' });
        const stripeId = await linked(s, id);
        s.emu.configureWebhooks(hooks);
        try {
          for (const a of actions) await act(s, id, stripeId, a);
        } finally {
          s.emu.configureWebhooks({ duplicate: false, reorderWindow: 0, delayMs: 0 });
        }
        const { pg, stripe, view, settled } = await settle(s, id, stripeId);
        const told = JSON.stringify(actions);
        assert.equal(synced(pg), synced(stripe), `Postgres and Stripe differ after ${told}`);
        assert.ok(settled, `rtws never settled after ${told}: ${JSON.stringify(view)}`);
        const before = await eventsOf(s, stripeId);
        await quiet(s, 1_500);
        const more = (await eventsOf(s, stripeId)).filter((e) => !before.includes(e));
        assert.is(
          more.length,
          0,
          `a write loop: Stripe events kept coming after ${told}:\n${more.join('\n')}\n(before them:\n${before.join('\n')})`,
        );
        let mine = 0;
        for await (const c of s.stripe.customers.list({ limit: 100 }))
          if (c.metadata.rtws_id === id) mine++;
        assert.is(mine, 1, 'one Stripe customer');
        const [{ rows }] = await s.o.sql<[{ rows: number }]>`
          SELECT count(*)::int AS rows FROM customers`;
        assert.is(rows, run, 'one Postgres row per run: nothing inserted as Stripe-born');
      },
    ),
    propertyOptions('RTWS_PROPERTY_RUNS', 4),
  );
});

test.run();
