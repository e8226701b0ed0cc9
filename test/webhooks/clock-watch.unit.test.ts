// The webhook receiver compares this machine's clock with Stripe's, as each delivery's signature
// time shows it: a clock ahead by more than 30 s is said (the catch-up's margin may not cover it),
// at most every ten minutes; a delivery's usual latency is not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clockWatch } from '../../adapters/stripe/webhooks.ts';
import { recordingLogger, sign } from './signing.ts';

test('a clock ahead of Stripe by over 30 s is said, once in ten minutes', () => {
  const log = recordingLogger();
  let now = 1_800_000_000_000;
  const watch = clockWatch(log, () => now);
  const signedAgo = (s: number) => sign('{}', undefined, Math.floor(now / 1000) - s);
  watch(signedAgo(2));
  assert.is(log.lines.length, 0, 'a delivery two seconds old is nothing');
  watch(signedAgo(90));
  assert.is(log.lines.length, 1);
  assert.is(log.lines[0]!.level, 'warn');
  assert.equal(log.lines[0]!.obj, { ahead_s: 90 });
  now += 60_000;
  watch(signedAgo(90));
  assert.is(log.lines.length, 1, 'not again within ten minutes');
  now += 10 * 60_000;
  watch(signedAgo(90));
  assert.is(log.lines.length, 2, 'again once they have passed');
  watch(undefined);
  watch('v1=abc');
  assert.is(log.lines.length, 2, 'a header without a time says nothing');
});

test.run();
