import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/ports.ts';
import { LeaseKeeper, type LeaseKeeperOptions } from '../../actors/runtime/lease-keeper.ts';
import { MemoryLeaseStore } from './memory-lease-store.ts';
import type { LeaseStore } from '../../core/worker-ports.ts';

const PARTITIONS = 8;

function keeper(
  store: MemoryLeaseStore,
  workerId: string,
  events: string[] = [],
  options: Partial<LeaseKeeperOptions> = {},
) {
  return new LeaseKeeper({
    store,
    workerId,
    partitions: PARTITIONS,
    now: () => store.now,
    log: silentLogger,
    onAcquired: async (p) => void events.push(`${workerId} +${p}`),
    onStopped: async (p, why) => void events.push(`${workerId} -${p} ${why}`),
    ...options,
  });
}

test('two keepers end up with a fair, disjoint split', async () => {
  const store = new MemoryLeaseStore(5_000);
  const a = keeper(store, 'a');
  const b = keeper(store, 'b');
  await a.tick();
  assert.is(a.owned().length, PARTITIONS, 'alone, a takes everything');
  for (let i = 0; i < 3; i++) {
    store.now += 1_000;
    await b.tick();
    await a.tick();
  }
  assert.is(a.owned().length, PARTITIONS / 2);
  assert.is(b.owned().length, PARTITIONS / 2);
  assert.equal(
    a.owned().filter((p) => b.owned().includes(p)),
    [],
  );
});

test('a keeper that cannot renew stops before the store could give the lease away', async () => {
  const store = new MemoryLeaseStore(5_000);
  const events: string[] = [];
  const a = keeper(store, 'a', events);
  await a.tick();
  const expiresAt = store.expiresAt(0)!;
  store.down = true;
  let stoppedAt: number | undefined;
  while (stoppedAt === undefined && store.now < expiresAt + 1_000) {
    store.now += 250;
    await a.tick();
    if (!a.holds(0) && events.includes('a -0 lost')) stoppedAt = store.now;
  }
  assert.ok(stoppedAt !== undefined, 'the partition was stopped');
  assert.ok(stoppedAt < expiresAt, `stopped at ${stoppedAt}, lease expires at ${expiresAt}`);
  assert.equal(a.owned(), []);
});

test('a partition lost and claimed again starts only once its old stop has ended', async () => {
  const store = new MemoryLeaseStore(5_000);
  // A store that holds the rounds on their first request: the watchdog, on its own timer, is
  // what drops the partition, and a round claims it back while the stop still runs.
  let unblock: () => void = () => {};
  let blocked: Promise<void> | undefined;
  const held: LeaseStore = {
    ttlMs: store.ttlMs,
    heartbeat: async (id) => {
      await blocked;
      return store.heartbeat(id);
    },
    leave: (id) => store.leave(id),
    liveWorkers: () => store.liveWorkers(),
    holders: (n) => store.holders(n),
    claim: (p, id) => store.claim(p, id),
    renew: (p, id, r) => store.renew(p, id, r),
    release: (p, r) => store.release(p, r),
  };
  const events: string[] = [];
  let endStop: (() => void) | undefined;
  const a = keeper(store, 'a', events, {
    store: held,
    partitions: 1,
    onStopped: (p, why) => {
      events.push(`a -${p} ${why} begins`);
      // The first stop hands over a sent call's outcome, waiting on NATS.
      if (endStop !== undefined) return Promise.resolve();
      return new Promise<void>((resolve) => {
        endStop = () => {
          events.push(`a -${p} ${why} ends`);
          resolve();
        };
      });
    },
  });
  try {
    await a.start();
    blocked = new Promise((r) => (unblock = r));
    store.now += 4_500;
    for (let i = 0; i < 40 && !events.includes('a -0 lost begins'); i++) await sleep(50);
    assert.equal(events, ['a +0', 'a -0 lost begins'], 'the watchdog stopped it');
    // The lease expires; the store answers again, and the lone keeper claims it back.
    store.now += 5_000;
    unblock();
    for (let i = 0; i < 60 && !a.holds(0); i++) await sleep(50);
    assert.ok(a.holds(0), 'claimed again');
    await sleep(100);
    assert.equal(events, ['a +0', 'a -0 lost begins'], 'its start waits for the stop');
    endStop!();
    for (let i = 0; i < 40 && events.length < 4; i++) await sleep(25);
    assert.equal(events, ['a +0', 'a -0 lost begins', 'a -0 lost ends', 'a +0']);
  } finally {
    unblock();
    endStop?.();
    await a.stop({ release: false });
  }
});

test("a dead keeper's partitions move to the survivor once they expire", async () => {
  const store = new MemoryLeaseStore(5_000);
  const a = keeper(store, 'a');
  const b = keeper(store, 'b');
  await a.tick();
  await b.tick();
  store.now += 1_000;
  await a.tick();
  await b.tick();
  assert.ok(a.owned().length > 0 && b.owned().length > 0);
  // a dies: no more ticks from it.
  for (let i = 0; i < 8; i++) {
    store.now += 1_000;
    await b.tick();
  }
  assert.is(b.owned().length, PARTITIONS);
});

test('a clean stop releases at once, after stopping each partition', async () => {
  const store = new MemoryLeaseStore(5_000);
  const events: string[] = [];
  const a = keeper(store, 'a', events);
  await a.tick();
  await a.stop({ release: true });
  assert.is(events.filter((e) => e.endsWith('released')).length, PARTITIONS);
  const b = keeper(store, 'b');
  await b.tick();
  assert.is(b.owned().length, PARTITIONS, 'nothing waits for an expiry');
});

test('a lease taken over elsewhere is dropped on the next renewal', async () => {
  const store = new MemoryLeaseStore(5_000);
  const events: string[] = [];
  const a = keeper(store, 'a', events);
  await a.tick();
  store.steal(2, 'intruder');
  store.now += 1_000;
  await a.tick();
  assert.not.ok(a.owned().includes(2));
  assert.ok(events.includes('a -2 lost'));
});

// TTL 5 s, margin 2 s, call slack 1 s: a previous run's calls are over 2 s after its last send.
const RECLAIM_AFTER_MS = 2_000;

/** Ticks every 250 ms until `until` (exclusive); says whether `a` held `partition` at any tick. */
async function heldBefore(
  store: MemoryLeaseStore,
  a: LeaseKeeper,
  partition: number,
  until: number,
) {
  let held = false;
  for (; store.now < until; store.now += 250) {
    await a.tick();
    held ||= a.owned().includes(partition);
  }
  return held;
}

test('a renewal that landed though its answer timed out keeps the lease', async () => {
  const store = new MemoryLeaseStore(5_000);
  let loseAnswers = 0;
  const slow: LeaseStore = {
    ttlMs: store.ttlMs,
    heartbeat: (id) => store.heartbeat(id),
    leave: (id) => store.leave(id),
    liveWorkers: () => store.liveWorkers(),
    holders: (n) => store.holders(n),
    claim: (p, id) => store.claim(p, id),
    // Stored, but the PubAck came too late: the caller sees a timeout.
    renew: async (p, id, r) => {
      const next = await store.renew(p, id, r);
      if (loseAnswers > 0 && loseAnswers-- > 0) throw new Error('TIMEOUT');
      return next;
    },
    release: (p, r) => store.release(p, r),
  };
  const events: string[] = [];
  const a = keeper(store, 'a', events, { store: slow, partitions: 2 });
  await a.tick();
  assert.equal(a.owned(), [0, 1]);
  loseAnswers = 2;
  store.now += 1_000;
  await a.tick();
  for (let i = 0; i < 6; i++) {
    store.now += 1_000;
    await a.tick();
  }
  assert.equal(a.owned(), [0, 1], 'still held, and renewed since');
  assert.ok(!events.some((e) => e.includes('lost')), events.join(', '));
});

test('a lease left under its own id is taken back once seen unchanged for reclaimAfterMs, not before', async () => {
  const store = new MemoryLeaseStore(5_000);
  store.steal(3, 'a'); // a previous run of `a` held it and died
  const oldExpiry = store.expiresAt(3)!;
  const events: string[] = [];
  const a = keeper(store, 'a', events, { reclaimAfterMs: RECLAIM_AFTER_MS });
  store.now = 100;
  const firstSeenAt = store.now;
  assert.not.ok(
    await heldBefore(store, a, 3, firstSeenAt + RECLAIM_AFTER_MS),
    'not before the call horizon',
  );
  assert.is(store.now, firstSeenAt + RECLAIM_AFTER_MS);
  await a.tick();
  assert.ok(a.owned().includes(3), 'taken back at the call horizon');
  assert.ok(events.includes('a +3'), 'started like a claim');
  assert.ok(store.now < oldExpiry, 'before the old lease would have expired');
});

test('a new revision under its own id starts the wait over', async () => {
  const store = new MemoryLeaseStore(5_000);
  store.steal(3, 'a');
  const a = keeper(store, 'a', [], { reclaimAfterMs: RECLAIM_AFTER_MS });
  await a.tick();
  assert.not.ok(await heldBefore(store, a, 3, 1_500));
  store.steal(3, 'a'); // a late renewal of the previous run landed
  const renewedAt = store.now;
  assert.not.ok(
    await heldBefore(store, a, 3, renewedAt + RECLAIM_AFTER_MS),
    'waits from the new sighting',
  );
  await a.tick();
  assert.ok(a.owned().includes(3));
});

test("another worker's lease, or its own without reclaimAfterMs, waits for expiry", async () => {
  const store = new MemoryLeaseStore(5_000);
  store.steal(3, 'b');
  store.steal(4, 'a');
  store.steal(5, 'c');
  const a = keeper(store, 'a', [], { reclaimAfterMs: RECLAIM_AFTER_MS });
  const c = keeper(store, 'c');
  const held = new Set<string>();
  for (; store.now < 5_000; store.now += 250) {
    await a.tick();
    await c.tick();
    for (const p of a.owned()) held.add(`a${p}`);
    for (const p of c.owned()) held.add(`c${p}`);
  }
  assert.not.ok(held.has('a3'), "b's lease is not a's to take");
  assert.ok(held.has('a4'), 'its own is taken back');
  assert.not.ok(held.has('c5'), 'without reclaimAfterMs its own lease waits for expiry');
});

test('leases being taken back count towards the fair share', async () => {
  const store = new MemoryLeaseStore(5_000);
  for (const p of [0, 1, 2]) store.steal(p, 'a');
  await store.heartbeat('b');
  const a = keeper(store, 'a', [], { reclaimAfterMs: RECLAIM_AFTER_MS });
  await a.tick();
  assert.is(a.owned().length, 1, 'share 4, 3 of them to be taken back: one claim');
  store.now += RECLAIM_AFTER_MS;
  await store.heartbeat('b');
  await a.tick();
  assert.is(a.owned().length, 4);
  assert.ok([0, 1, 2].every((p) => a.owned().includes(p)));
});

test('while a partition is given back, its steps may finish but no new call may start', async () => {
  const store = new MemoryLeaseStore(5_000);
  const seen: { holds: boolean; remainingMs: number }[] = [];
  const a: LeaseKeeper = keeper(store, 'a', [], {
    onStopped: async (p, why) => {
      if (why === 'released') seen.push({ holds: a.holds(p), remainingMs: a.remainingMs(p) });
    },
  });
  await a.tick();
  const b = keeper(store, 'b');
  await b.tick();
  store.now += 1_000;
  await a.tick();
  assert.is(seen.length, PARTITIONS / 2, 'a gave half back');
  for (const s of seen) {
    assert.ok(s.holds, 'its running steps may still save and ack');
    assert.is(s.remainingMs, 0, 'no call may start');
  }
  assert.ok(
    a.owned().every((p) => a.remainingMs(p) > 0),
    'what it keeps is callable',
  );
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unavailable = () => Object.assign(new Error('no responders'), { name: 'NoRespondersError' });

test('partitions given back to a new worker stop together, not one after another', async () => {
  // Each stop waits for its calls in flight: one after another, a share of them would hold the
  // round, and the renewals of the partitions kept, for their sum.
  const store = new MemoryLeaseStore(5_000);
  const events: string[] = [];
  const ends: (() => void)[] = [];
  const a = keeper(store, 'a', events, {
    onStopped: (p, why) => {
      events.push(`-${p} ${why} begins`);
      return new Promise<void>((resolve) => ends.push(resolve));
    },
  });
  await a.tick();
  assert.is(a.owned().length, PARTITIONS);
  await keeper(store, 'b').tick();
  const round = a.tick();
  for (let i = 0; i < 40 && ends.length < PARTITIONS / 2; i++) await sleep(10);
  assert.is(ends.length, PARTITIONS / 2, 'every give-back began before any ended');
  for (const end of ends) end();
  await round;
  assert.is(a.owned().length, PARTITIONS / 2);
});

test('a partition that cannot start while NATS is unavailable keeps its lease, and starts', async () => {
  const store = new MemoryLeaseStore(60_000);
  const events: string[] = [];
  let failures = 3;
  const a = keeper(store, 'a', events, {
    onAcquired: async (p) => {
      if (p === 0 && failures-- > 0) throw unavailable();
      events.push(`a +${p}`);
    },
  });
  await a.tick();
  let heldThroughout = true;
  for (let i = 0; i < 60 && !events.includes('a +0'); i++) {
    store.now += 1_000;
    await a.tick();
    heldThroughout &&= a.owned().includes(0);
    await sleep(110);
  }
  assert.ok(events.includes('a +0'), 'started once NATS answered');
  assert.ok(heldThroughout, 'its lease was kept all along, so never taken again');
  assert.is(
    events.filter((e) => e === 'a -0 released').length,
    3,
    'what a failed try had started was stopped before the next',
  );
  assert.ok(a.holds(0));
  await a.stop({ release: true });
});

test('a partition that cannot start for a reason of its own is given back', async () => {
  const store = new MemoryLeaseStore(60_000);
  const events: string[] = [];
  const a = keeper(store, 'a', events, {
    onAcquired: async (p) => {
      if (p === 0) throw new Error('a bug');
      events.push(`a +${p}`);
    },
  });
  await a.tick();
  for (let i = 0; i < 20 && !events.includes('a -0 released'); i++) await sleep(20);
  assert.ok(events.includes('a -0 released'), events.join(', '));
  await a.stop({ release: true });
});

test("a round held up by a partition's stop is reported with what holds it, and ends with it", async () => {
  const store = new MemoryLeaseStore(5_000);
  const errors: { obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const log = {
    ...silentLogger,
    error: (obj: object, msg?: string) => errors.push({ obj: obj as Record<string, unknown>, msg }),
  };
  let stopped!: () => void;
  const stopping = new Promise<void>((r) => (stopped = r));
  const a = keeper(store, 'a', [], {
    log,
    onStopped: (p, why) => (p === 2 && why === 'lost' ? stopping : Promise.resolve()),
  });
  await a.tick();
  assert.is(a.owned().length, PARTITIONS);
  // Partition 2 goes to another worker: the next renewal finds it taken and stops it.
  store.steal(2, 'b');
  store.now += 1_000;
  const held = a.tick();
  await sleep(10);
  assert.is(a.stuck(), undefined, 'not past the lease TTL yet');
  store.now += 3_000;
  void a.tick();
  assert.equal(errors, [], 'a round is reported only once it outlasts the lease TTL');
  store.now += 2_001;
  void a.tick();
  assert.equal(a.stuck(), { runningMs: 5_001, waitingFor: ['partition 2 to stop (lost)'] });
  assert.is(errors.length, 1);
  assert.is(errors[0]!.msg, 'lease round stuck: no lease is renewed or claimed until it ends');
  assert.equal(errors[0]!.obj.waiting_for, ['partition 2 to stop (lost)']);
  // Reported once per TTL, not at every tick.
  store.now += 1_000;
  void a.tick();
  assert.is(errors.length, 1);
  store.now += 5_000;
  void a.tick();
  assert.is(errors.length, 2);
  stopped();
  await held;
  assert.is(a.stuck(), undefined);
  // The round went on: b let partition 2 lapse meanwhile, so a took it again.
  assert.is(a.owned().length, PARTITIONS);
  assert.is(errors.length, 2);
  await a.stop({ release: false });
});

test('a give-back whose stop hangs is reported as such, though the watchdog stops the partition too', async () => {
  const store = new MemoryLeaseStore(5_000);
  let stopped!: () => void;
  const stopping = new Promise<void>((r) => (stopped = r));
  const a = keeper(store, 'a', [], {
    onStopped: (p, why) => (p === 7 && why === 'released' ? stopping : Promise.resolve()),
  });
  try {
    await a.start();
    assert.is(a.owned().length, PARTITIONS);
    // b joins: a's next round gives half back, the highest first, and hangs on 7's stop.
    await keeper(store, 'b').tick();
    store.now += 1_000;
    void a.tick();
    await sleep(10);
    // Nothing is renewed meanwhile: the watchdog (on its own timer) stops every partition at its
    // deadline, 7 included.
    store.now += 6_000;
    let stuck = a.stuck();
    for (let i = 0; i < 40 && !(stuck && a.owned().length === 0); i++) {
      await sleep(50);
      stuck = a.stuck();
    }
    assert.equal(a.owned(), [], 'the watchdog stopped them all');
    assert.equal(stuck?.waitingFor, ['partition 7 to stop (released)']);
    stopped();
    for (let i = 0; i < 40 && a.stuck(); i++) await sleep(50);
    assert.is(a.stuck(), undefined, 'the round ended with the stop');
  } finally {
    stopped();
    await a.stop({ release: false });
  }
});

test('a keeper stopped while a start waits for NATS stops at once', async () => {
  const store = new MemoryLeaseStore(60_000);
  const a = keeper(store, 'a', [], {
    onAcquired: async () => {
      throw unavailable();
    },
  });
  await a.tick();
  const started = Date.now();
  await a.stop({ release: true });
  assert.ok(Date.now() - started < 2_000, `stopped in ${Date.now() - started} ms`);
  assert.equal(a.owned(), []);
});

test.run();
