// Waiting for work or a stop holds nothing of the waits that are over.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { getEventListeners } from 'node:events';
import { untilAborted } from '../../core/abort.ts';

const test = suite('untilAborted');

test('many waits that end by their work leave no listener on the signal', async () => {
  const stop = new AbortController();
  for (let i = 0; i < 1_000; i++) assert.is(await untilAborted(Promise.resolve(i), stop.signal), i);
  assert.is(getEventListeners(stop.signal, 'abort').length, 0);
});

test('an abort ends a wait at once, with undefined; the work goes on', async () => {
  const stop = new AbortController();
  let finish = (_: string) => {};
  const work = new Promise<string>((resolve) => (finish = resolve));
  const waiting = untilAborted(work, stop.signal);
  assert.is(getEventListeners(stop.signal, 'abort').length, 1, 'listening while it waits');
  stop.abort();
  assert.is(await waiting, undefined);
  finish('done');
  assert.is(await work, 'done');
  assert.is(await untilAborted(new Promise(() => {}), stop.signal), undefined, 'already aborted');
});

test("the work's failure is the wait's, and leaves no listener", async () => {
  const stop = new AbortController();
  const failed = await untilAborted(Promise.reject(new Error('refused')), stop.signal).then(
    () => 'resolved',
    (err: unknown) => String(err),
  );
  assert.is(failed, 'Error: refused');
  assert.is(getEventListeners(stop.signal, 'abort').length, 0);
});

test.run();
