// The outbox's publish order: a subject in order, subjects in parallel within the window, and
// nothing of a subject sent after one of its messages failed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { publishOrdered } from '../../adapters/postgres/outbox/ordered-publish.ts';
import type { OutgoingMessage } from '../../adapters/postgres/outbox/rows.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));
const message = (subject: string, n: number): OutgoingMessage => ({
  subject,
  msgId: `${subject}-${n}`,
  payload: new Uint8Array(),
});

/** A publisher that records its calls, and fails the msgIds named. */
function recorder(failing: string[] = []) {
  const sent: string[] = [];
  let running = 0;
  const stats = { peak: 0, sent };
  return {
    stats,
    publisher: {
      async publish(subject: string, _payload: Uint8Array, msgId: string) {
        stats.peak = Math.max(stats.peak, ++running);
        await tick();
        running--;
        if (failing.includes(msgId)) throw new Error(`no PubAck for ${msgId}`);
        sent.push(msgId);
      },
    },
  };
}

test('each subject in order, subjects in parallel up to the window', async () => {
  const { stats, publisher } = recorder();
  const batch = ['a', 'b', 'c', 'a', 'b', 'a'].map((s, i) => message(s, i));
  await publishOrdered(publisher, batch, 2);
  assert.is(stats.peak, 2);
  assert.equal(
    stats.sent.filter((id) => id.startsWith('a')),
    ['a-0', 'a-3', 'a-5'],
  );
  assert.is(stats.sent.length, batch.length);
});

test('a failure stops its subject, the others go on, and the batch rejects at the end', async () => {
  const { stats, publisher } = recorder(['a-0']);
  const batch = ['a', 'b', 'a', 'b'].map((s, i) => message(s, i));
  const error = await publishOrdered(publisher, batch, 4).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.match((error as Error).message, /no PubAck for a-0/);
  assert.equal(stats.sent, ['b-1', 'b-3']);
});

test.run();
