// The LeaseStore port, written once and run against each implementation (in memory on a manual
// clock for the lease keeper's unit tests, the KV bucket in production): one holder at a time,
// revision-checked renewals, and entries that lapse once not renewed for the TTL.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConcurrencyError } from '../../core/errors.ts';
import type { LeaseStore } from '../../core/worker-ports.ts';
import { rejection, type SuiteHooks } from './contract.ts';

const TTL_MS = 1_000;

/** A lease store and the clock it expires entries by. */
export interface LeaseStoreUnderTest {
  readonly leases: LeaseStore;
  /** Lets `ms` pass as the store counts time. */
  readonly pass: (ms: number) => Promise<void>;
}

export interface LeaseStoreFactory extends SuiteHooks {
  /** A new, empty store whose entries lapse after `ttlMs`. */
  open(ttlMs: number): Promise<LeaseStoreUnderTest>;
}

export function leaseStoreContract(implementation: string, factory: LeaseStoreFactory): void {
  const test = suite<LeaseStoreUnderTest>(`lease store (${implementation})`);
  test.before(async () => factory.before?.());
  test.after(async () => factory.after?.());
  test.before.each(async (ctx) => {
    Object.assign(ctx, await factory.open(TTL_MS));
  });

  test('one holder at a time, renewed by revision, freed by release', async ({ leases }) => {
    assert.is(leases.ttlMs, TTL_MS);
    const rev = await leases.claim(1, 'a');
    assert.ok(rev !== undefined);
    assert.is(await leases.claim(1, 'b'), undefined, 'held: no second claim');
    assert.equal([...(await leases.holders(4))], [[1, { holder: 'a', revision: rev }]]);
    const renewed = await leases.renew(1, 'a', rev);
    assert.instance(
      await rejection(leases.renew(1, 'a', rev)),
      ConcurrencyError,
      'a stale renewal loses',
    );
    await leases.release(1, renewed);
    assert.equal([...(await leases.holders(4))], []);
    assert.ok((await leases.claim(1, 'b')) !== undefined, 'released: free at once');
  });

  test('leases and presence lapse once not renewed for the TTL', async ({ leases, pass }) => {
    await leases.heartbeat('w1');
    assert.ok((await leases.liveWorkers()).includes('w1'));
    const rev = await leases.claim(2, 'w1');
    assert.ok(rev !== undefined);
    await pass(TTL_MS * 2);
    assert.not.ok((await leases.liveWorkers()).includes('w1'), 'presence expired');
    assert.not.ok((await leases.holders(4)).has(2), 'lease expired');
    assert.ok((await leases.claim(2, 'w2')) !== undefined, 'another worker takes it');
    assert.instance(
      await rejection(leases.renew(2, 'w1', rev)),
      ConcurrencyError,
      'the old holder cannot renew',
    );
  });

  test('a lease is taken back at the revision read, and only at it', async ({ leases }) => {
    await leases.claim(3, 'w4');
    const seen = (await leases.holders(4)).get(3)!;
    const taken = await leases.renew(3, 'w4', seen.revision);
    assert.equal((await leases.holders(4)).get(3), { holder: 'w4', revision: taken });
    assert.instance(
      await rejection(leases.renew(3, 'w4', seen.revision)),
      ConcurrencyError,
      'not once it changed',
    );
    await leases.release(3, taken);
    assert.not.ok((await leases.holders(4)).has(3), 'released');
  });

  test('a release at a stale revision frees nothing', async ({ leases }) => {
    const rev = (await leases.claim(0, 'a'))!;
    const renewed = await leases.renew(0, 'a', rev);
    await leases.release(0, rev).catch(() => {});
    assert.equal((await leases.holders(1)).get(0), { holder: 'a', revision: renewed });
  });

  test('leaving removes a worker at once', async ({ leases }) => {
    await leases.heartbeat('w3');
    await leases.leave('w3');
    assert.not.ok((await leases.liveWorkers()).includes('w3'));
  });

  test.run();
}
