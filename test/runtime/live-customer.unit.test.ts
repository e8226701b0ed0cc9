// The worker's view of an actor held in memory (`liveCustomer`), which the inbound mapping routes
// and drops echoes by: only while the worker holds the actor's partition. A partition lost and not
// yet stopped still has its actors in memory, and another worker may have changed them since.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/ports.ts';
import { partitionOf, type Names } from '../../core/subjects.ts';
import { LeaseKeeper } from '../../actors/runtime/lease-keeper.ts';
import { ActorCache } from '../../actors/runtime/actor-cache.ts';
import { start, type CustomerSnapshot } from '../../actors/customer/index.ts';
import { workerHandle, type RunningWorker } from '../../deploy/wiring/worker/worker-handle.ts';
import { MemoryLeaseStore } from './memory-lease-store.ts';
import { CUSTOMER } from '../actors/gwt.ts';

const PARTITIONS = 4;

test("an actor in memory is live only while its partition's lease is held", async () => {
  const store = new MemoryLeaseStore(5_000);
  const keeper = new LeaseKeeper({
    store,
    workerId: 'w',
    partitions: PARTITIONS,
    now: () => store.now,
    log: silentLogger,
    onAcquired: async () => {},
    onStopped: async () => {},
  });
  const cache = new ActorCache<CustomerSnapshot>({
    maxActors: 10,
    idleMs: 60_000,
    now: () => store.now,
  });
  // Only the parts liveCustomer reads; the rest of a running worker is not needed here.
  const worker = workerHandle({
    keeper,
    customers: { cache },
    names: { partitions: PARTITIONS } as Names,
  } as unknown as RunningWorker);
  const snapshot = start(CUSTOMER);
  cache.set(CUSTOMER, snapshot, 1);
  assert.is(worker.liveCustomer(CUSTOMER), undefined, 'before any lease');

  await keeper.tick();
  assert.ok(keeper.holds(partitionOf(CUSTOMER, PARTITIONS)));
  assert.is(worker.liveCustomer(CUSTOMER), snapshot, 'held, and its partition too');
  assert.is(worker.liveCustomer('someone-not-cached'), undefined);

  // The store stops answering: no renewal, and past the deadline the lease is not acted on,
  // though the actor is still in memory until its partition's stop evicts it.
  store.down = true;
  store.now += 4_000;
  assert.not.ok(keeper.holds(partitionOf(CUSTOMER, PARTITIONS)));
  assert.ok(cache.peek(CUSTOMER), 'still in memory');
  assert.is(worker.liveCustomer(CUSTOMER), undefined, 'but no longer live');
});

test.run();
