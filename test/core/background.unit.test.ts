import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Background } from '../../core/background.ts';

test('settled waits for the work running, and for work it started meanwhile', async () => {
  const bg = new Background();
  const ended: string[] = [];
  const errors: unknown[] = [];
  const onError = (err: unknown) => errors.push(err);
  bg.run(async () => {
    await new Promise((r) => setTimeout(r, 20));
    ended.push('first');
    bg.run(async () => {
      await new Promise((r) => setTimeout(r, 20));
      ended.push('second');
    }, onError);
  }, onError);
  await bg.settled();
  assert.equal(ended, ['first', 'second']);
  assert.equal(errors, []);
});

test('a failure goes to onError and does not reject settled', async () => {
  const bg = new Background();
  const errors: unknown[] = [];
  bg.run(
    () => Promise.reject(new Error('boom')),
    (err) => errors.push(err),
  );
  await bg.settled();
  assert.is((errors[0] as Error).message, 'boom');
});

test('settled with nothing running resolves at once', async () => {
  await new Background().settled();
});

test.run();
