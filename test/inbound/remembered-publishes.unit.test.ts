// The publisher the webhook receiver and the catch-up of one process share: a message it stored is
// answered again as JetStream would answer it (a duplicate, at its first sequence) without a round
// trip, only for as long as JetStream's duplicate window surely covers it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  REMEMBER_STORED_MS,
  rememberingPublisher,
  type InboundPublish,
  type PublishReceipt,
} from '../../adapters/jetstream/inbound.ts';
import { DUPLICATE_WINDOW_SECONDS } from '../../adapters/jetstream/streams.ts';

/** A broker with a duplicate window as long as JetStream's, and the publishes it was sent. */
function broker(now: () => number) {
  const firstStored = new Map<string, { seq: number; at: number }>();
  const sent: string[] = [];
  let seq = 0;
  let failNext = false;
  const publish: InboundPublish = async (_subject, _payload, msgId) => {
    sent.push(msgId);
    if (failNext) {
      failNext = false;
      throw new Error('no PubAck');
    }
    const first = firstStored.get(msgId);
    if (first && now() - first.at < DUPLICATE_WINDOW_SECONDS * 1_000)
      return { duplicate: true, seq: first.seq };
    firstStored.set(msgId, { seq: ++seq, at: now() });
    return { duplicate: false, seq };
  };
  return { publish, sent, fail: () => (failNext = true) };
}

const payload = new Uint8Array();

test('a message it stored is answered as the broker would, without a publish', async () => {
  let t = 1_000_000;
  const b = broker(() => t);
  const publish = rememberingPublisher(b.publish, { now: () => t });
  const first = await publish('inbound.a', payload, 'evt_1');
  assert.equal(first, { duplicate: false, seq: 1 });
  t += REMEMBER_STORED_MS - 1;
  const again = await publish('inbound.a', payload, 'evt_1');
  assert.equal(again, { duplicate: true, seq: 1 });
  assert.equal(b.sent, ['evt_1'], 'sent once');
});

test('past the time remembered, it is published again', async () => {
  let t = 1_000_000;
  const b = broker(() => t);
  const publish = rememberingPublisher(b.publish, { now: () => t });
  await publish('inbound.a', payload, 'evt_1');
  t += REMEMBER_STORED_MS;
  const late = await publish('inbound.a', payload, 'evt_1');
  assert.equal(b.sent, ['evt_1', 'evt_1']);
  // The broker still had it within its own window: the answer is the same either way.
  assert.equal(late, { duplicate: true, seq: 1 });
});

test('a duplicate the broker reported, or a publish that failed, is not remembered', async () => {
  let t = 1_000_000;
  const b = broker(() => t);
  const other = rememberingPublisher(b.publish, { now: () => t });
  const publish = rememberingPublisher(b.publish, { now: () => t });
  await other('inbound.a', payload, 'evt_1'); // stored by another process's receiver
  assert.equal(await publish('inbound.a', payload, 'evt_1'), { duplicate: true, seq: 1 });
  b.fail();
  await publish('inbound.a', payload, 'evt_2').then(
    () => assert.unreachable('the failed publish rejects'),
    (err: Error) => assert.is(err.message, 'no PubAck'),
  );
  t += 1_000;
  const answers: PublishReceipt[] = [];
  for (const id of ['evt_1', 'evt_2']) answers.push(await publish('inbound.a', payload, id));
  assert.equal(answers, [
    { duplicate: true, seq: 1 },
    { duplicate: false, seq: 2 },
  ]);
  assert.equal(b.sent, ['evt_1', 'evt_1', 'evt_2', 'evt_1', 'evt_2'], 'each went to the broker');
});

test('beyond the most it holds, the oldest are forgotten first', async () => {
  const t = 1_000_000;
  const b = broker(() => t);
  const publish = rememberingPublisher(b.publish, { now: () => t, max: 2 });
  for (const id of ['evt_1', 'evt_2', 'evt_3']) await publish('inbound.a', payload, id);
  await publish('inbound.a', payload, 'evt_3');
  await publish('inbound.a', payload, 'evt_2');
  assert.equal(b.sent, ['evt_1', 'evt_2', 'evt_3'], 'the last two are held');
  await publish('inbound.a', payload, 'evt_1');
  assert.equal(b.sent.at(-1), 'evt_1', 'the first was forgotten');
});

test('a publish answered late is remembered from when it was sent, not answered', async () => {
  let t = 1_000_000;
  const b = broker(() => t);
  let answerLate: (() => void) | undefined;
  // Its first publish is answered only when the test says.
  const late: InboundPublish = (subject, p, msgId) =>
    msgId === 'evt_slow' && answerLate === undefined
      ? new Promise((resolve) => (answerLate = () => resolve(b.publish(subject, p, msgId))))
      : b.publish(subject, p, msgId);
  const publish = rememberingPublisher(late, { now: () => t });
  const slow = publish('inbound.a', payload, 'evt_slow');
  t += 1_000;
  await publish('inbound.a', payload, 'evt_quick');
  answerLate!();
  await slow;
  // Behind evt_quick in memory, yet past its own time: published again.
  t += REMEMBER_STORED_MS - 500;
  await publish('inbound.a', payload, 'evt_slow');
  await publish('inbound.a', payload, 'evt_quick');
  assert.equal(b.sent, ['evt_quick', 'evt_slow', 'evt_slow'], 'only evt_slow sent again');
});

test('two publishes of one message at once both go; the broker stores it once', async () => {
  const t = 1_000_000;
  const b = broker(() => t);
  const publish = rememberingPublisher(b.publish, { now: () => t });
  const both = await Promise.all([
    publish('inbound.a', payload, 'evt_1'),
    publish('inbound.a', payload, 'evt_1'),
  ]);
  assert.equal(both, [
    { duplicate: false, seq: 1 },
    { duplicate: true, seq: 1 },
  ]);
  assert.equal(await publish('inbound.a', payload, 'evt_1'), { duplicate: true, seq: 1 });
  assert.equal(b.sent, ['evt_1', 'evt_1']);
});

test('a steady stream: what is within its time is answered, what is past it is sent', async () => {
  let t = 1_000_000;
  const b = broker(() => t);
  const publish = rememberingPublisher(b.publish, { now: () => t });
  const step = 10;
  const total = 30_000;
  for (let i = 0; i < total; i++) {
    await publish('inbound.a', payload, `evt_${i}`);
    t += step;
  }
  const sent = b.sent.length;
  // Forgotten as they pass their time, not only when looked up.
  assert.is(publish.held(), REMEMBER_STORED_MS / step);
  const recent = total - Math.floor(REMEMBER_STORED_MS / step) + 10;
  const old = total - Math.floor(REMEMBER_STORED_MS / step) - 10;
  assert.equal(await publish('inbound.a', payload, `evt_${recent}`), {
    duplicate: true,
    seq: recent + 1,
  });
  assert.is(b.sent.length, sent, 'within its time: not sent');
  await publish('inbound.a', payload, `evt_${old}`);
  assert.is(b.sent.length, sent + 1, 'past its time: sent');
});

test('forgetting all sends each to the broker again', async () => {
  const t = 1_000_000;
  const b = broker(() => t);
  const publish = rememberingPublisher(b.publish, { now: () => t });
  await publish('inbound.a', payload, 'evt_1');
  publish.forgetAll();
  await publish('inbound.a', payload, 'evt_1');
  assert.equal(b.sent, ['evt_1', 'evt_1']);
});

test('what it remembers, timed from the send, ends before the broker forgets', () => {
  // The broker's window starts when it stores the message, after the send.
  assert.ok(REMEMBER_STORED_MS < DUPLICATE_WINDOW_SECONDS * 1_000);
});

test.run();
