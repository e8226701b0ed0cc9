import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Mailboxes } from '../../actors/runtime/mailboxes.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

test("one actor's tasks run one at a time, in order", async () => {
  const boxes = new Mailboxes({ concurrency: 8, maxQueued: 100 });
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

test('different actors run in parallel, up to the bound', async () => {
  const boxes = new Mailboxes({ concurrency: 3, maxQueued: 100 });
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
  const boxes = new Mailboxes({ concurrency: 1, maxQueued: 10 });
  const failed = boxes.post('a', () => Promise.reject(new Error('boom')));
  let ran = false;
  const next = boxes.post('a', async () => {
    ran = true;
  });
  const error = await failed.then(() => undefined, (err: unknown) => err);
  assert.instance(error, Error);
  assert.match((error as Error).message, /boom/);
  await next;
  assert.ok(ran);
  assert.is(boxes.active, 0);
  assert.is(boxes.queued, 0);
});

test('ready() waits while the backlog is full; drained() waits for everything', async () => {
  const boxes = new Mailboxes({ concurrency: 1, maxQueued: 2 });
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

test('one busy actor does not starve the others', async () => {
  const boxes = new Mailboxes({ concurrency: 1, maxQueued: 100 });
  const order: string[] = [];
  const task = (name: string) => async () => {
    order.push(name);
    await tick();
  };
  const posts = [boxes.post('busy', task('busy1')), boxes.post('busy', task('busy2')), boxes.post('busy', task('busy3'))];
  posts.push(boxes.post('quiet', task('quiet')));
  await Promise.all(posts);
  assert.ok(order.indexOf('quiet') < order.indexOf('busy3'), order.join(','));
});

test.run();
