// withTimeout: the work's own result when it is in time, a TimeoutError when it is not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TimeoutError, withTimeout } from '../../core/timeout.ts';

const after = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

test('work in time settles as it does', async () => {
  assert.is(await withTimeout(after(1, 'done'), 200), 'done');
  const failed = await withTimeout(Promise.reject(new Error('boom')), 200).catch((e: Error) => e);
  assert.is(failed.message, 'boom');
});

test('late work rejects with a TimeoutError that says what was awaited', async () => {
  const late = await withTimeout(after(200, 'late'), 10, 'PubAck').catch((e: unknown) => e);
  assert.instance(late, TimeoutError);
  assert.is((late as TimeoutError).code, 'timeout');
  assert.is((late as TimeoutError).message, 'no PubAck within 10 ms');
});

test.run();
