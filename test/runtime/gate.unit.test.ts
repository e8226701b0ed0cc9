// A target's gate: its slots in arrival order, its request budget, the idle wait a backfill uses,
// and close() letting every waiting call through.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Gate } from '../../actors/runtime/intent-scheduler.ts';

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

/** A call that holds its slot until released. */
function held() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { release, call: () => done };
}

test('calls take the slots in arrival order, never more at once', async () => {
  const gate = new Gate({ concurrency: 2 }, Date.now);
  const order: number[] = [];
  let running = 0;
  let peak = 0;
  const call = (n: number) => async () => {
    peak = Math.max(peak, ++running);
    order.push(n);
    await tick();
    running--;
  };
  await Promise.all([1, 2, 3, 4, 5].map((n) => gate.run(call(n))));
  assert.is(peak, 2);
  assert.equal(order, [1, 2, 3, 4, 5]);
});

test('the budget spaces calls out once its tokens are spent', async () => {
  let now = 0;
  const gate = new Gate({ concurrency: 10, perSecond: 2 }, () => now);
  const started: number[] = [];
  const calls = [1, 2, 3].map((n) => gate.run(async () => void started.push(n)));
  await tick(5);
  assert.equal(started, [1, 2], 'two tokens at the start');
  now += 500; // half a second refills one token
  await Promise.all(calls);
  assert.equal(started, [1, 2, 3]);
});

test('whenIdle waits while calls hold or await the slots', async () => {
  const gate = new Gate({ concurrency: 1 }, Date.now);
  const first = held();
  const running = gate.run(first.call);
  const queued = gate.run(async () => {});
  let idle = false;
  const waiting = gate.whenIdle().then(() => (idle = true));
  await tick(50);
  assert.not.ok(idle);
  first.release();
  await Promise.all([running, queued, waiting]);
  assert.ok(idle);
});

test('whenIdle reads a shared budget once for a burst of backfill items, and waits while it is spent', async () => {
  let now = 0;
  let spare = 100;
  let reads = 0;
  const budget = {
    perSecond: 100,
    take: async () => {},
    spare: async () => (reads++, spare),
    close: () => {},
  };
  const gate = new Gate({ concurrency: 4, budget }, () => now);
  for (let i = 0; i < 50; i++) await gate.whenIdle();
  assert.is(reads, 1, 'a reading that showed room stands for a moment');
  now += 100;
  spare = 0; // live calls from every process spent the window
  let idle = false;
  const waiting = gate.whenIdle().then(() => (idle = true));
  await tick(250);
  assert.not.ok(idle, 'a new reading, and no room in it');
  assert.ok(reads >= 2);
  spare = 50;
  await waiting;
  assert.ok(idle);
});

test('close lets every waiting call through at once', async () => {
  const gate = new Gate({ concurrency: 1 }, Date.now);
  const first = held();
  const running = gate.run(first.call);
  const passed: number[] = [];
  const queued = [1, 2].map((n) => gate.run(async () => void passed.push(n)));
  await tick();
  assert.equal(passed, []);
  gate.close();
  await Promise.all(queued);
  assert.equal(passed, [1, 2]);
  first.release();
  await running;
});

test.run();
