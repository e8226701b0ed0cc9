import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/ports.ts';
import { LeaseKeeper } from '../../actors/runtime/lease-keeper.ts';
import { MemoryLeaseStore } from './memory-lease-store.ts';

const PARTITIONS = 8;

function keeper(store: MemoryLeaseStore, workerId: string, events: string[] = []) {
  return new LeaseKeeper({
    store,
    workerId,
    partitions: PARTITIONS,
    now: () => store.now,
    log: silentLogger,
    onAcquired: async (p) => void events.push(`${workerId} +${p}`),
    onStopped: async (p, why) => void events.push(`${workerId} -${p} ${why}`),
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
  assert.equal(a.owned().filter((p) => b.owned().includes(p)), []);
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

test('a dead keeper\'s partitions move to the survivor once they expire', async () => {
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

test.run();
