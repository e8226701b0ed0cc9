// The three-way property: any interleaving of API edits, Stripe (dashboard) edits, a person's
// edits in Salesforce (name, email and phone of the Account, through the emulator's person
// controls), duplicated and reordered webhooks and worker restarts converges. Once quiet, Postgres
// equals Stripe on every synced field and Salesforce on every mapped one, there is one Stripe
// customer and one Account, and no write loop: neither Stripe's events nor Salesforce's API writes
// go on once quiet, across further reads of Salesforce.
//
// Quiet means: every webhook delivered; rtws holding nothing pending for either target, each synced
// at the row's version; and the reader of Salesforce's changes having finished a whole read that
// began after the Account's last change. The reader runs with Change Data Capture (the default),
// so that edits are read at once, while pushes are in flight, as in production; and with a poll of
// 1 s, so that an edit whose change event was lost (CDC sessions end with each worker restart, and
// a new one sees only new events) is read within a second, and quiet comes soon.
//
// RTWS_PROPERTY_RUNS raises the number of interleavings tried; fast-check prints the seed and
// path of a failure, and RTWS_PROPERTY_SEED with RTWS_PROPERTY_PATH replays one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type Stripe from 'stripe';
import { propertyOptions } from '../harness/property.ts';
import { eventually, readStream } from '../harness/stream.ts';
import type { SyncTarget } from '../sync/api-client.ts';
import {
  accountOfRow,
  accountsFor,
  changesOf,
  mappedOfAccount,
  salesforceLinked,
  salesforceReads,
  salesforceWrites,
  type AccountRecord,
} from './salesforce-side.ts';
import { act, action, fieldsOfRow, oneSided, webhooks, type Ids } from './three-sides.ts';
import { linked, quiet, row, synced, twoWay, type Row, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('three-way convergence');
test.before(async (ctx) => {
  ctx.s = await twoWay({
    separateWorker: true,
    salesforce: true,
    // Change events on (the default), and a read every second whatever the reader: a sweep as
    // often as the poll, so that quiet can count whole reads.
    env: { RTWS_SALESFORCE_POLL_S: '1', RTWS_SALESFORCE_SWEEP_S: '1' },
  });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

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

/**
 * Runs the checks; a failure's message then tells the customer's story, oldest first: every message
 * on its subjects (facts, observations, outcomes), Stripe's events about it, and the Account's
 * change events.
 */
async function withStory(s: TwoWay, ids: Ids, checks: () => void): Promise<void> {
  try {
    checks();
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    const stored = await readStream(
      s.o.nats,
      s.t.names.streams.changes,
      s.t.names.customerHistoryFilter(ids.id),
    );
    err.message = [
      err.message,
      'rtws:',
      ...stored.map((m) => `${m.seq} ${JSON.stringify(m.message).slice(0, 800)}`),
      'Stripe:',
      ...(await eventsOf(s, ids.stripeId)),
      'Salesforce:',
      ...changesOf(s, ids.accountId),
    ].join('\n');
    throw err;
  }
}

interface Reading {
  pg: Row;
  stripe: Stripe.Customer;
  account: AccountRecord | undefined;
  targets: Record<string, SyncTarget>;
  /** Reads of Salesforce finished since its latest change was seen. */
  readsSince: number;
  settled: boolean;
}

/** rtws is done with a target: it holds the row's version, and nothing waits to be sent. */
const holds = (view: SyncTarget | undefined, version: number) =>
  view?.status === 'synced' && view.synced_version === version && view.pending.length === 0;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Waits until the customer is quiet (see the header) and every side holds the row's values.
 * Equal values alone are not quiet: a push decided before a dashboard edit's webhook reached rtws
 * may still be on its way (it sends `c@example.com` over the dashboard's `C@Example.com`, the same
 * value once canonical), and its event would count as a write loop; and a person's edit that the
 * reader has yet to read can still win in Postgres. Returns the last reading, settled or not.
 */
async function settle(s: TwoWay, { id, stripeId }: Ids, timeoutMs = 30_000): Promise<Reading> {
  const until = Date.now() + timeoutMs;
  // The reads finished when the Account's latest change was first seen: two more, and one of
  // them began after it.
  let seen: { stamp: unknown; reads: number } = { stamp: undefined, reads: 0 };
  for (;;) {
    await s.emu.flushWebhooks();
    const pg = (await row(s, id))!;
    const stripe = (await s.stripe.customers.retrieve(stripeId)) as Stripe.Customer;
    const account = accountsFor(s, id)[0];
    const reads = salesforceReads(s);
    if (account?.SystemModstamp !== seen.stamp) seen = { stamp: account?.SystemModstamp, reads };
    const { targets } = await s.api.sync(id);
    const settled =
      s.emu.stats().webhooksPending === 0 &&
      holds(targets.stripe, pg.version) &&
      holds(targets.salesforce, pg.version) &&
      reads >= seen.reads + 2 &&
      same(synced(pg), synced(stripe)) &&
      account !== undefined &&
      same(accountOfRow(pg), mappedOfAccount(account));
    if (settled || Date.now() >= until)
      return { pg, stripe, account, targets, readsSince: reads - seen.reads, settled };
    await quiet(s, 300);
  }
}

/** What a loop would keep doing, as counted now: Stripe events, Salesforce writes, row versions. */
async function activity(s: TwoWay, { id, stripeId }: Ids) {
  return {
    events: await eventsOf(s, stripeId),
    writes: salesforceWrites(s),
    version: (await row(s, id))!.version,
  };
}

/**
 * Lets time and two reads of Salesforce pass, long enough for a loop through any side to show:
 * one of the reads began after the window did. Returns the reads that passed.
 */
async function stayQuiet(s: TwoWay): Promise<number> {
  const reads = salesforceReads(s);
  const [, after] = await Promise.all([
    quiet(s, 1_500),
    eventually(
      () => Promise.resolve(salesforceReads(s)),
      (n) => n >= reads + 2,
      10_000,
    ),
  ]);
  await s.emu.flushWebhooks();
  return after - reads;
}

test('any interleaving of three sides converges, once each, with no write loop', async ({ s }) => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      webhooks,
      fc.array(action, { minLength: 3, maxLength: 10 }),
      async (hooks, actions) => {
        const { id } = await s.api.create({ name: `Run ${++run}`, email: 'start@example.com' });
        const ids = { id, stripeId: await linked(s, id), accountId: await salesforceLinked(s, id) };
        s.emu.configureWebhooks(hooks);
        try {
          for (const a of actions) await act(s, ids, a);
        } finally {
          s.emu.configureWebhooks({ duplicate: false, reorderWindow: 0, delayMs: 0 });
        }
        const { pg, stripe, account, targets, readsSince, settled } = await settle(s, ids);
        const told = JSON.stringify(actions);
        await withStory(s, ids, () => {
          assert.equal(
            synced(pg),
            synced(stripe),
            `Postgres and Stripe differ after ${told}: ${JSON.stringify([synced(pg), synced(stripe)])}`,
          );
          assert.ok(account, `the Account is gone after ${told}`);
          assert.equal(
            mappedOfAccount(account),
            accountOfRow(pg),
            `Postgres and Salesforce differ after ${told} (${settled ? 'settled' : `not settled: ${JSON.stringify(targets)}`}): Postgres ${JSON.stringify(accountOfRow(pg))}, Salesforce ${JSON.stringify(mappedOfAccount(account))}`,
          );
          const alone = oneSided(actions);
          assert.equal(
            fieldsOfRow(pg, Object.keys(alone)),
            alone,
            `an edit made on one side only was lost after ${told}`,
          );
          assert.ok(
            settled,
            `rtws never settled after ${told}: ${JSON.stringify(targets)}, ${readsSince} reads of Salesforce since its last change`,
          );
        });

        const before = await activity(s, ids);
        const reads = await stayQuiet(s);
        const after = await activity(s, ids);
        assert.ok(reads >= 2, `the reader of Salesforce stopped reading (${reads} reads)`);
        const more = after.events.filter((e) => !before.events.includes(e));
        assert.is(
          more.length,
          0,
          `a write loop: Stripe events kept coming after ${told}:\n${more.join('\n')}\n(before them:\n${before.events.join('\n')})`,
        );
        assert.is(
          after.writes,
          before.writes,
          `a write loop: Salesforce writes kept coming after ${told}:\n${changesOf(s, ids.accountId).join('\n')}`,
        );
        assert.is(
          after.version,
          before.version,
          `a write loop: Postgres kept changing after ${told}`,
        );

        let mine = 0;
        for await (const c of s.stripe.customers.list({ limit: 100 }))
          if (c.metadata.rtws_id === id) mine++;
        assert.is(mine, 1, 'one Stripe customer');
        assert.is(accountsFor(s, id, true).length, 1, 'one Account, none deleted');
        const [{ rows }] = await s.o.sql<[{ rows: number }]>`
          SELECT count(*)::int AS rows FROM customers`;
        assert.is(rows, run, 'one Postgres row per run: nothing inserted as Stripe-born');
      },
    ),
    propertyOptions('RTWS_PROPERTY_RUNS', 3),
  );
});

test.run();
