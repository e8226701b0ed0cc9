// Group commit: calls made while the batches in flight are busy go together as the next batch.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Batcher, batchOrEachAlone } from '../../core/batcher.ts';

const test = suite('batcher');

/** A batch run that the test finishes by hand, recording every batch it was given. */
function manual() {
  const batches: number[][] = [];
  const finish: (() => void)[] = [];
  const run = (items: readonly number[]) => {
    batches.push([...items]);
    return new Promise<readonly (number | Error)[]>((resolve) =>
      finish.push(() => resolve(items.map((i) => (i < 0 ? new Error(`refused ${i}`) : i * 10)))),
    );
  };
  return { batches, finish, run };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Two turns: a finished batch schedules the next in the turn after its results. */
const turns = async () => {
  await turn();
  await turn();
};

test('calls of one turn go as one batch; calls made meanwhile form the next', async () => {
  const m = manual();
  const b = new Batcher({ run: m.run, maxItems: 10, maxInFlight: 1 });
  const first = [1, 2, 3].map((i) => b.submit(i));
  await turn();
  assert.equal(m.batches, [[1, 2, 3]]);
  const later = [4, 5].map((i) => b.submit(i));
  await turn();
  assert.equal(m.batches.length, 1, 'the next batch waits while one is in flight');
  m.finish.shift()!();
  assert.equal(await Promise.all(first), [10, 20, 30]);
  await turn();
  assert.equal(m.batches, [
    [1, 2, 3],
    [4, 5],
  ]);
  m.finish.shift()!();
  assert.equal(await Promise.all(later), [40, 50]);
});

test('a batch holds at most maxItems; the batches in flight at most maxInFlight', async () => {
  const m = manual();
  const b = new Batcher({ run: m.run, maxItems: 2, maxInFlight: 2 });
  const all = [1, 2, 3, 4, 5].map((i) => b.submit(i));
  await turn();
  assert.equal(m.batches, [
    [1, 2],
    [3, 4],
  ]);
  assert.is(b.inFlight, 2);
  m.finish.shift()!();
  await turns();
  assert.equal(m.batches.at(-1), [5]);
  while (m.finish.length > 0) m.finish.shift()!();
  assert.equal(await Promise.all(all), [10, 20, 30, 40, 50]);
  await turn();
  assert.is(b.inFlight, 0);
});

test('an Error among the results rejects that call alone', async () => {
  const m = manual();
  const b = new Batcher({ run: m.run, maxItems: 10, maxInFlight: 1 });
  const calls = [1, -2, 3].map((i) => b.submit(i));
  await turn();
  m.finish.shift()!();
  const settled = await Promise.allSettled(calls);
  assert.equal(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)),
    [10, 'refused -2', 30],
  );
});

test('a batch that fails rejects each of its calls; the next batch still runs', async () => {
  let tries = 0;
  const b = new Batcher<number, number>({
    run: (items) => {
      tries++;
      if (tries === 1) return Promise.reject(new Error('connection lost'));
      return Promise.resolve(items.map((i) => i + 1));
    },
    maxItems: 10,
    maxInFlight: 1,
  });
  const failed = await Promise.allSettled([b.submit(1), b.submit(2)]);
  assert.equal(
    failed.map((s) => s.status === 'rejected' && (s.reason as Error).message),
    ['connection lost', 'connection lost'],
  );
  assert.is(await b.submit(7), 8);
});

test('a run that answers a wrong number of results rejects the batch', async () => {
  const b = new Batcher<number, number>({
    run: () => Promise.resolve([1]),
    maxItems: 10,
    maxInFlight: 1,
  });
  const settled = await Promise.allSettled([b.submit(1), b.submit(2)]);
  assert.ok(settled.every((s) => s.status === 'rejected'));
  assert.match(String((settled[0] as PromiseRejectedResult).reason), /batch of 2 gave 1 results/);
});

test('batchOrEachAlone: several as a batch; a refused batch item by item; else all fail', async () => {
  const calls: string[] = [];
  const o = (eachAlone: boolean) => ({
    batch: async (items: readonly number[]) => {
      calls.push(`batch ${items.join(',')}`);
      if (items.includes(13)) throw new Error('refused');
      return items.map((n) => n * 2);
    },
    one: async (n: number) => {
      calls.push(`one ${n}`);
      if (n === 13) throw new Error('thirteen');
      return n * 2;
    },
    eachAlone: () => eachAlone,
  });
  assert.equal(await batchOrEachAlone([1, 2], o(true)), [2, 4]);
  assert.equal(await batchOrEachAlone([5], o(true)), [10], 'a lone item goes alone');
  const later = await batchOrEachAlone([1, 13, 3], o(true));
  const each = await Promise.all(later.map((r) => Promise.resolve(r)));
  assert.equal([each[0], String(each[1]), each[2]], [2, 'Error: thirteen', 6]);
  const whole = await batchOrEachAlone([1, 13], o(false)).then(
    () => 'resolved',
    (err: unknown) => String(err),
  );
  assert.is(whole, 'Error: refused', 'a failure not to be split rejects the batch');
  assert.equal(calls, [
    'batch 1,2',
    'one 5',
    'batch 1,13,3',
    'one 1',
    'one 13',
    'one 3',
    'batch 1,13',
  ]);
});

test('a refused batch answers each item as it ends, and frees its turn for the next batch', async () => {
  let release: (() => void) | undefined;
  const batches: number[][] = [];
  const b = new Batcher<number, number>({
    run: (items) =>
      batchOrEachAlone(items, {
        batch: async (all) => {
          batches.push([...all]);
          if (all.includes(7)) throw new Error('refused');
          return all.map((n) => n * 2);
        },
        // 7 waits (a row locked elsewhere, say) until the test lets it go.
        one: (n) =>
          n === 7
            ? new Promise<number>((resolve) => (release = () => resolve(14)))
            : Promise.resolve(n * 2),
        eachAlone: () => true,
      }),
    maxItems: 10,
    maxInFlight: 1,
  });
  const slow = b.submit(7);
  const others = [b.submit(1), b.submit(2)];
  assert.equal(await Promise.all(others), [2, 4], 'answered while 7 still waits');
  assert.ok(release, '7 was sent alone');
  // The batch's one turn in flight is free again: the next calls go while 7 waits.
  assert.equal(await Promise.all([b.submit(3), b.submit(4)]), [6, 8]);
  assert.equal(batches, [
    [7, 1, 2],
    [3, 4],
  ]);
  release?.();
  assert.is(await slow, 14);
});

test('bounds below one are refused', () => {
  assert.throws(
    () => new Batcher({ run: () => Promise.resolve([]), maxItems: 0, maxInFlight: 1 }),
    /at least one/,
  );
});

test.run();
