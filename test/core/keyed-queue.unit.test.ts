// The keyed queue: order within a key, the bound across keys, fairness and backpressure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { KeyedQueue } from '../../core/keyed-queue.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

test("one key's tasks run one at a time, in order", async () => {
  const boxes = new KeyedQueue({ concurrency: 8, maxQueued: 100 });
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const task = (n: number) => async () => {
    running++;
    peak = Math.max(peak, running);
    log.push(`start ${n}`);
    await tick();
    log.push(`end ${n}`);
    running--;
  };
  await Promise.all([1, 2, 3].map((n) => boxes.post('a', task(n))));
  assert.is(peak, 1);
  assert.equal(log, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
});

test('different keys run in parallel, up to the bound', async () => {
  const boxes = new KeyedQueue({ concurrency: 3, maxQueued: 100 });
  let running = 0;
  let peak = 0;
  const task = async () => {
    running++;
    peak = Math.max(peak, running);
    await tick();
    running--;
  };
  await Promise.all(Array.from({ length: 10 }, (_, i) => boxes.post(`k${i}`, task)));
  assert.is(peak, 3);
});

test('a failing task rejects its own post and the next one still runs', async () => {
  const boxes = new KeyedQueue({ concurrency: 1, maxQueued: 10 });
  const failed = boxes.post('a', () => Promise.reject(new Error('boom')));
  let ran = false;
  const next = boxes.post('a', async () => {
    ran = true;
  });
  const error = await failed.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.instance(error, Error);
  assert.match((error as Error).message, /boom/);
  await next;
  assert.ok(ran);
  assert.is(boxes.active, 0);
  assert.is(boxes.queued, 0);
});

test('ready() waits while the backlog is full; drained() waits for everything', async () => {
  const boxes = new KeyedQueue({ concurrency: 1, maxQueued: 2 });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  void boxes.post('a', () => gate);
  void boxes.post('b', async () => {});
  assert.is(boxes.queued, 2);
  let ready = false;
  const waiting = boxes.ready().then(() => (ready = true));
  await tick();
  assert.not.ok(ready, 'full: the caller must wait');
  release();
  await waiting;
  assert.ok(ready);
  await boxes.drained();
  assert.is(boxes.queued, 0);
});

test('one busy key does not starve the others', async () => {
  const boxes = new KeyedQueue({ concurrency: 1, maxQueued: 100 });
  const order: string[] = [];
  const task = (name: string) => async () => {
    order.push(name);
    await tick();
  };
  const posts = [
    boxes.post('busy', task('busy1')),
    boxes.post('busy', task('busy2')),
    boxes.post('busy', task('busy3')),
  ];
  posts.push(boxes.post('quiet', task('quiet')));
  await Promise.all(posts);
  assert.ok(order.indexOf('quiet') < order.indexOf('busy3'), order.join(','));
});

test("a post settles with its task's value; a non-Error rejection becomes an Error", async () => {
  const queue = new KeyedQueue();
  assert.is(await queue.post('a', async () => 42), 42);
  const error = await queue
    .post('a', async () => {
      throw 'nope'; // eslint-disable-line @typescript-eslint/only-throw-error -- what is tested
    })
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  assert.instance(error, Error);
  assert.is((error as Error).cause, 'nope');
});

test('without bounds, every key runs at once', async () => {
  const queue = new KeyedQueue();
  let running = 0;
  let peak = 0;
  const task = async () => {
    running++;
    peak = Math.max(peak, running);
    await tick();
    running--;
  };
  await Promise.all(Array.from({ length: 50 }, (_, i) => queue.post(`k${i}`, task)));
  assert.is(peak, 50);
});

test('bounds must be positive', () => {
  assert.throws(() => new KeyedQueue({ concurrency: 0 }), RangeError);
  assert.throws(() => new KeyedQueue({ maxQueued: 0 }), RangeError);
});

/** A post: its key, how many microtask turns it takes, and whether it fails. */
const post = fc.record({
  key: fc.constantFrom('a', 'b', 'c', 'd'),
  turns: fc.integer({ min: 0, max: 5 }),
  fails: fc.boolean(),
});

test('any mix of posts: per-key order, one task per key, the bound held, all settled', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(post, { maxLength: 40 }),
      fc.integer({ min: 1, max: 4 }),
      async (posts, bound) => {
        const queue = new KeyedQueue({ concurrency: bound });
        const started: number[] = [];
        const busy = new Set<string>();
        let running = 0;
        let peak = 0;
        let overlap = false;
        const settled = posts.map((p, i) =>
          queue.post(p.key, async () => {
            overlap ||= busy.has(p.key);
            busy.add(p.key);
            started.push(i);
            peak = Math.max(peak, ++running);
            for (let t = 0; t < p.turns; t++) await Promise.resolve();
            running--;
            busy.delete(p.key);
            if (p.fails) throw new Error(`task ${i}`);
            return i;
          }),
        );
        const results = await Promise.allSettled(settled);
        assert.not.ok(overlap, 'two tasks of one key ran at once');
        assert.ok(peak <= bound, `${peak} tasks ran at once with a bound of ${bound}`);
        for (const key of ['a', 'b', 'c', 'd']) {
          const posted = posts.flatMap((p, i) => (p.key === key ? [i] : []));
          assert.equal(
            started.filter((i) => posts[i]!.key === key),
            posted,
          );
        }
        results.forEach((r, i) =>
          assert.is(r.status, posts[i]!.fails ? 'rejected' : 'fulfilled', `post ${i}`),
        );
        assert.is(queue.queued, 0);
        assert.is(queue.active, 0);
      },
    ),
  );
});

test.run();
