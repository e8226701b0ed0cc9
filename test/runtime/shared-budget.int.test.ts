// One Stripe budget for every process. Three budgets on three NATS connections (as three workers
// hold them) take requests as fast as they can from one shared 25-a-second budget: no 10-second
// window sees more than 27.5 a second, and the budget is not starved either. Then three whole
// worker processes' worth of rtws (three workers, each with its own connection and scheduler)
// sync a burst through the Stripe emulator, whose request log is held to the same bound.
// RTWS_BUDGET_SECONDS sets how long the first part runs (default 12).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import {
  BUDGET_WINDOW_MS,
  openSharedBudget,
  sharedBudget,
  windowCap,
} from '../../adapters/jetstream/kv-budget.ts';
import type { RequestBudget } from '../../actors/runtime/intent-scheduler.ts';
import { testSize } from '../harness/services.ts';
import { testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import { busiest } from '../harness/windows.ts';

const RATE = 25;
const test = suite<{ t: TestEnvironment }>('a Stripe budget shared by processes');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
});
test.after(async (ctx) => {
  await ctx.t?.cleanup();
});

test('windows share the rate exactly, fractions carried', () => {
  let sum = 0;
  for (let w = 0; w < 40; w++) sum += windowCap(w, RATE);
  assert.is(sum, RATE * 10, 'forty 250 ms windows make ten seconds of the rate');
});

test('three processes never spend more than the budget together', async ({ t }) => {
  const seconds = testSize('RTWS_BUDGET_SECONDS', 12);
  const connections = await Promise.all(
    [1, 2, 3].map((i) => connectNats({ servers: [t.natsUrl], name: `budget-${i}` })),
  );
  const budgets: RequestBudget[] = [];
  try {
    for (const nc of connections)
      budgets.push(
        await openSharedBudget(nc, {
          bucket: t.names.bucket('BUDGETS'),
          key: 'stripe',
          perSecond: RATE,
        }),
      );
    const times: number[] = [];
    const perProcess = [0, 0, 0];
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      budgets.map(async (b, i) => {
        while (Date.now() < until) {
          await b.take();
          if (Date.now() >= until) break;
          times.push(Date.now());
          perProcess[i]!++;
        }
      }),
    );
    times.sort((a, b) => a - b);
    const most = busiest(times, 10_000);
    assert.ok(most <= RATE * 10 * 1.1, `${most} requests in the busiest 10 s (at most 275)`);
    assert.ok(
      times.length >= RATE * seconds * 0.8,
      `${times.length} requests in ${seconds} s: the budget is used, not starved`,
    );
    assert.ok(
      perProcess.every((n) => n > 0),
      `each process had its turn: ${perProcess.join(', ')}`,
    );
  } finally {
    for (const b of budgets) b.close();
    await Promise.all(connections.map((nc) => nc.close()));
  }
});

test('a take that may give up takes nothing when the budget is spent for longer', async ({ t }) => {
  const nc = await connectNats({ servers: [t.natsUrl], name: 'budget-within' });
  // Four a second: one request per 250 ms window.
  let clock = 1_000_000 * BUDGET_WINDOW_MS;
  const budget = await openSharedBudget(nc, {
    bucket: t.names.bucket('BUDGETS'),
    key: 'stripe-search',
    perSecond: 4,
    now: () => clock,
  });
  try {
    assert.is(await budget.takeWithin(0), 0, 'the window has a request');
    const refused = await budget.takeWithin(100);
    assert.ok(refused > 0 && refused <= BUDGET_WINDOW_MS, `refused with the wait: ${refused} ms`);
    clock += BUDGET_WINDOW_MS;
    assert.is(await budget.takeWithin(0), 0, 'the next window: the refusal took nothing from it');
    assert.ok((await budget.takeWithin(0)) > 0, 'and it holds one only');
  } finally {
    budget.close();
    await nc.close();
  }
});

/** The bucket's KV, counting the calls of each of its methods. */
function counting(kv: KV): { kv: KV; calls: (method: 'get' | 'update' | 'create') => number } {
  const calls = new Map<string | symbol, number>();
  const counted = new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kv: counted, calls: (method) => calls.get(method) ?? 0 };
}

test('a process whose last write still stands reserves without reading first', async ({ t }) => {
  const nc = await connectNats({ servers: [t.natsUrl], name: 'budget-unread' });
  const bucket = t.names.bucket('BUDGETS');
  // Four a second, on a clock the test moves: one request per window, one reservation per take.
  let clock = 2_000_000 * BUDGET_WINDOW_MS;
  const options = { bucket, key: 'stripe-unread', perSecond: 4, now: () => clock };
  const other = await openSharedBudget(nc, options);
  const kv = await new Kvm(jetstream(nc)).open(bucket);
  const { kv: counted, calls } = counting(kv);
  const reads = () => calls('get');
  const budget = sharedBudget(counted, options);
  try {
    for (let i = 0; i < 5; i++, clock += BUDGET_WINDOW_MS)
      assert.is(await budget.takeWithin(0), 0, `window ${i} had its request`);
    assert.is(reads(), 1, 'read once, before its first write; then each CAS went unread');
    // Another process takes this window's request: the CAS fails, and the entry is read again.
    assert.is(await other.takeWithin(0), 0);
    assert.ok((await budget.takeWithin(0)) > 0, 'the window is spent: the other process took it');
    assert.is(reads(), 2, 'one more read, after the CAS failed');
    clock += BUDGET_WINDOW_MS;
    assert.is(await budget.takeWithin(0), 0, 'the next window');
    const entry = await kv.get('stripe-unread');
    const window = JSON.parse(entry!.string()) as { w: number; n: number };
    assert.equal(window, { w: clock / BUDGET_WINDOW_MS, n: 1 }, 'the entry counts that request');
  } finally {
    budget.close();
    other.close();
    await nc.close();
  }
});

test('at a steady pace a process reserves once a window, not once a request', async ({ t }) => {
  const nc = await connectNats({ servers: [t.natsUrl], name: 'budget-pace' });
  const bucket = t.names.bucket('BUDGETS');
  // 120 a second: 30 requests a window, reserved at most 10 at a time. The process takes 8 a
  // window, one after another, so no more than one taker is ever waiting.
  let clock = 3_000_000 * BUDGET_WINDOW_MS;
  const options = { bucket, key: 'stripe-pace', perSecond: 120, now: () => clock };
  const kv = await new Kvm(jetstream(nc)).open(bucket);
  const { kv: counted, calls } = counting(kv);
  const budget = sharedBudget(counted, options);
  const writes = () => calls('update') + calls('create');
  const WINDOWS = 6;
  const PER_WINDOW = 8;
  try {
    for (let i = 0; i < WINDOWS; i++, clock += BUDGET_WINDOW_MS)
      for (let j = 0; j < PER_WINDOW; j++)
        assert.is(await budget.takeWithin(0), 0, `window ${i}, request ${j}`);
    // The first window has no pace to go by: a reservation per request. Each one after it takes
    // its 8 in one reservation.
    assert.is(writes(), PER_WINDOW + WINDOWS - 1, `${writes()} reservations`);
    const last = JSON.parse((await kv.get('stripe-pace'))!.string()) as { w: number; n: number };
    assert.equal(
      last,
      { w: clock / BUDGET_WINDOW_MS - 1, n: PER_WINDOW },
      'nothing reserved unused',
    );

    // The pace doubles to 16 a window: the reservation is capped at a third of the window, and
    // the requests beyond the window before's pace are reserved as they come.
    const before = writes();
    for (let j = 0; j < 16; j++) assert.is(await budget.takeWithin(0), 0, `request ${j}`);
    assert.is(
      writes() - before,
      1 + (16 - PER_WINDOW),
      'one for the pace, one per request past it',
    );

    // The pace stops: the next window, going by the 16 before it, reserves a third of its 30 for
    // its one request, and the 9 unspent are lost with it. That is the most a stop costs.
    const entryOf = async () =>
      JSON.parse((await kv.get('stripe-pace'))!.string()) as { w: number; n: number };
    clock += BUDGET_WINDOW_MS;
    assert.is(await budget.takeWithin(0), 0);
    assert.equal(await entryOf(), { w: clock / BUDGET_WINDOW_MS, n: 10 }, 'a third of a window');
    // The 9 held are for live calls: a backfill sees only the 20 nobody reserved as spare.
    assert.is(await budget.spare(), (20 * 1000) / BUDGET_WINDOW_MS, 'spare per second');
    // After an idle window, a reservation is for the takers waiting again.
    clock += 2 * BUDGET_WINDOW_MS;
    const paused = writes();
    assert.is(await budget.takeWithin(0), 0);
    assert.equal(await entryOf(), { w: clock / BUDGET_WINDOW_MS, n: 1 }, 'one reserved, for one');
    assert.is(writes() - paused, 1);
  } finally {
    budget.close();
    await nc.close();
  }
});

test.run();
