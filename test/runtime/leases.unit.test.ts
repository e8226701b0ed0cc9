import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { LeaseBook, fairShare, planLeases, reclaimWaitMs } from '../../actors/runtime/leases.ts';

test('the fair share rounds up and never drops below the whole for a lone worker', () => {
  assert.is(fairShare(16, 1), 16);
  assert.is(fairShare(16, 2), 8);
  assert.is(fairShare(16, 3), 6);
  assert.is(fairShare(16, 0), 16);
  assert.is(fairShare(16, 40), 1);
});

test('a worker claims only free partitions, up to its share', () => {
  const holders = new Map([
    [0, 'other'],
    [1, 'other'],
  ]);
  const plan = planLeases({ partitions: 8, workerId: 'me', owned: [5], holders, liveWorkers: 2 });
  assert.is(plan.release.length, 0);
  assert.is(plan.claim.length, 3);
  for (const p of plan.claim) {
    assert.ok(!holders.has(p) && p !== 5, `claims free ${p}`);
  }
});

test('a worker over its share gives back the excess and claims nothing', () => {
  const owned = [0, 1, 2, 3, 4, 5, 6, 7];
  const plan = planLeases({
    partitions: 8,
    workerId: 'me',
    owned,
    holders: new Map(owned.map((p) => [p, 'me'])),
    liveWorkers: 2,
  });
  assert.equal(plan.claim, []);
  assert.equal(plan.release.sort(), [4, 5, 6, 7]);
});

test('partitions being taken back count towards the share', () => {
  const holders = new Map([
    [0, 'me'],
    [1, 'me'],
    [2, 'other'],
  ]);
  const plan = planLeases({
    partitions: 8,
    workerId: 'me',
    owned: [5],
    holders,
    reclaiming: [0, 1],
    liveWorkers: 2,
  });
  assert.equal(plan.release, []);
  assert.is(plan.claim.length, 1);
});

test("a previous run's calls are over by its deadline less the call slack", () => {
  assert.is(reclaimWaitMs({ ttlMs: 20_000, marginMs: 8_000, callSlackMs: 1_000 }), 11_000);
  assert.is(
    reclaimWaitMs({ ttlMs: 1_000, marginMs: 400, callSlackMs: 1_000 }),
    0,
    'no call could start',
  );
});

test('whatever the view, a plan never claims a held partition nor exceeds the share', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 32 }),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      fc.string({ minLength: 1, maxLength: 8 }),
      (partitions, live, ownedRaw, heldRaw, workerId) => {
        const owned = [...new Set(ownedRaw.map((p) => p % partitions))];
        const holders = new Map<number, string>();
        for (const p of heldRaw.map((p) => p % partitions))
          if (!owned.includes(p)) holders.set(p, 'other');
        for (const p of owned) holders.set(p, workerId);
        const plan = planLeases({ partitions, workerId, owned, holders, liveWorkers: live });
        const share = fairShare(partitions, live);
        const after = owned.length + plan.claim.length - plan.release.length;
        assert.ok(plan.claim.every((p) => !holders.has(p)));
        assert.ok(plan.release.every((p) => owned.includes(p)));
        assert.ok(after <= Math.max(share, 0));
        assert.ok(plan.claim.length === 0 || plan.release.length === 0);
      },
    ),
  );
});

test('a lease is acted on only until its deadline, TTL minus margin after the write was sent', () => {
  const book = new LeaseBook({ ttlMs: 5_000, marginMs: 2_000 });
  book.hold(3, 11, 1_000);
  assert.ok(book.holds(3, 1_000));
  assert.ok(book.holds(3, 3_999));
  assert.not.ok(book.holds(3, 4_000), 'stops before the store could hand it to another');
  assert.is(book.remainingMs(3, 2_000), 2_000);
  assert.equal(book.overdue(4_500), [3]);
  book.hold(3, 12, 3_500);
  assert.ok(book.holds(3, 4_500), 'a renewal moves the deadline');
  assert.is(book.revision(3), 12);
  book.drop(3);
  assert.not.ok(book.holds(3, 4_500));
  assert.equal(book.owned(), []);
});

test('the margin must be shorter than the lease', () => {
  assert.throws(() => new LeaseBook({ ttlMs: 1_000, marginMs: 1_000 }), RangeError);
});

test.run();
