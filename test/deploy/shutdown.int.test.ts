// A shutdown says what it is waiting for: `closing()` names the part of rtws being closed, so
// that a shutdown that takes too long is logged with the part that held it (deploy/main.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestRtws, testEnvironment } from '../harness/rtws.ts';

test('closing() names each part as rtws closes it, in order, and nothing once closed', async () => {
  const t = await testEnvironment();
  try {
    const rtws = await startTestRtws(t);
    assert.is(rtws.closing(), undefined, 'running');
    const seen: string[] = [];
    const watch = setInterval(() => {
      const part = rtws.closing();
      if (part !== undefined && seen.at(-1) !== part) seen.push(part);
    }, 0);
    const closed = rtws.close();
    assert.is(rtws.closing(), 'api', 'the API stops accepting first');
    await closed.finally(() => clearInterval(watch));
    assert.is(rtws.closing(), undefined, 'closed');
    const order = ['api', 'probes', 'backfills', 'publisher', 'worker', 'nats', 'postgres'];
    assert.ok(
      seen.every((part, i) => order.indexOf(part) > order.indexOf(seen[i - 1] ?? '')),
      `parts in their order: ${seen.join(', ')}`,
    );
  } finally {
    await t.cleanup();
  }
});

test.run();
