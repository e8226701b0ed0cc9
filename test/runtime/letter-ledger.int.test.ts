// A dead letter is stored once, for as long as its message may come back. The DLQ's dedupe window
// (shortened to a second where a test needs it past) forgets a letter's id; the ledger does not: a
// letter an operator discarded stays discarded when its message is delivered again later, and a
// letter never stored is stored then. The ledger never holds a letter back. One message may leave
// several letters, each with its own id.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { silentLogger } from '../../core/ports.ts';
import { recordingLogger } from '../webhooks/signing.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import { deadLetterQueue } from '../../adapters/jetstream/dlq.ts';
import { postgresLetterLedger } from '../../adapters/postgres/letter-ledger.ts';
import {
  ledgeredDeadLetters,
  letterId,
  type DeadLetter,
  type DeadLetterSink,
} from '../../core/worker-ports.ts';

const test = suite<{ t: TestEnvironment; o: Observer; plain: DeadLetterSink }>('letter ledger');

/** The DLQ's dedupe window in this test, in place of two minutes. */
const WINDOW_MS = 1_000;

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
  ctx.plain = jetStreamDeadLetters(jetstream(ctx.o.nats), ctx.t.names);
});

test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

let seq = 100;
/** A letter of a message of its own. */
function letter(over: Partial<DeadLetter> = {}): DeadLetter {
  return {
    source: 'targets',
    stream: 'CHANGES',
    streamSeq: seq++,
    subject: 'changes.customer.c1',
    reason: 'stripe: HTTP 400',
    deliveries: 1,
    data: new TextEncoder().encode('{}'),
    ...over,
  };
}

const depth = async (ctx: { t: TestEnvironment; o: Observer }) =>
  (await deadLetterQueue(ctx.o.nats, ctx.t.names)).depth();
const pastWindow = () => new Promise((r) => setTimeout(r, WINDOW_MS + 300));

test('one message leaves a letter per target and per write; the same letter twice is one', async (ctx) => {
  const before = await depth(ctx);
  const message = letter();
  await ctx.plain.publish({ ...message, key: 'stripe' });
  await ctx.plain.publish({ ...message, key: 'salesforce' });
  await ctx.plain.publish({ ...message, key: 'stripe' });
  // A resume's refused writes all come from sequence 0, of whichever customers.
  await ctx.plain.publish(letter({ streamSeq: 0, key: 'write-a@1' }));
  await ctx.plain.publish(
    letter({ streamSeq: 0, key: 'write-b@2', subject: 'changes.customer.c2' }),
  );
  assert.is(await depth(ctx), before + 4);
  assert.is(letterId({ ...message, key: 'stripe' }), `dlq:CHANGES:${message.streamSeq}:stripe`);
  assert.is(letterId(message), `dlq:CHANGES:${message.streamSeq}`, 'a whole message: no key');
});

test('past the dedupe window, a discarded letter stays discarded and a letter never stored is stored', async (ctx) => {
  const jsm = await jetstreamManager(ctx.o.nats);
  await jsm.streams.update(ctx.t.names.streams.dlq, { duplicate_window: WINDOW_MS * 1_000_000 });
  const ledger = postgresLetterLedger(ctx.o.sql, 0);
  const sink = ledgeredDeadLetters(ctx.plain, ledger, silentLogger);
  const dlq = await deadLetterQueue(ctx.o.nats, ctx.t.names);

  // Without the ledger, the window is all there is: a letter comes back once it has passed.
  const control = letter();
  await ctx.plain.publish(control);
  await pastWindow();
  const before = await depth(ctx);
  await ctx.plain.publish(control);
  assert.is(await depth(ctx), before + 1, 'the window alone lets a second copy in');

  // Stored through the ledger, then discarded by an operator.
  const discarded = letter({ key: 'stripe' });
  await sink.publish(discarded);
  const { data } = await dlq.list(1_000);
  const stored = data.find((l) => l.stream_seq === discarded.streamSeq);
  assert.ok(stored, 'the letter is in the DLQ');
  assert.ok(await dlq.remove(stored.id));
  assert.ok(await ledger.has(letterId(discarded), discarded.subject));
  // Never stored: its first publish was lost with the process.
  const lost = letter({ key: 'stripe' });

  await pastWindow();
  const atRedelivery = await depth(ctx);
  await sink.publish(discarded);
  assert.is(await depth(ctx), atRedelivery, 'the discarded letter does not come back');
  await sink.publish(lost);
  assert.is(await depth(ctx), atRedelivery + 1, 'the lost letter is stored');
  assert.ok(await ledger.has(letterId(lost), lost.subject));
  await sink.publish(lost);
  assert.is(await depth(ctx), atRedelivery + 1, 'and stored once');
});

test('a letter the DLQ did not take is not recorded, and is published again', async (ctx) => {
  const ledger = postgresLetterLedger(ctx.o.sql, 0);
  let refuse = true;
  const sink = ledgeredDeadLetters(
    {
      publish: async (l) => {
        if (refuse) throw new Error('no responders');
        await ctx.plain.publish(l);
      },
    },
    ledger,
    silentLogger,
  );
  const l = letter();
  await sink.publish(l).then(
    () => assert.unreachable('the publish failed'),
    (err: Error) => assert.is(err.message, 'no responders'),
  );
  assert.not.ok(await ledger.has(letterId(l), l.subject));
  refuse = false;
  const before = await depth(ctx);
  await sink.publish(l);
  assert.is(await depth(ctx), before + 1);
});

test('a ledger Postgres cannot reach holds no letter back, and says so', async (ctx) => {
  const log = recordingLogger();
  const away = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
  };
  const sink = ledgeredDeadLetters(ctx.plain, { has: away, record: away }, log);
  const before = await depth(ctx);
  const l = letter();
  await sink.publish(l);
  assert.is(await depth(ctx), before + 1, 'stored');
  assert.equal(
    log.lines.map((x) => [x.level, (x.obj as { letter?: string }).letter]),
    [
      ['warn', letterId(l)],
      ['warn', letterId(l)],
    ],
    'both the unread and the unrecorded ledger are logged, with the letter',
  );
  assert.match(log.lines[1]!.msg ?? '', /stored but not recorded/);
});

test('a sequence used again by a stream created anew is another message', async (ctx) => {
  const ledger = postgresLetterLedger(ctx.o.sql, 0);
  const first = letter();
  await ledger.record(letterId(first), first.subject);
  const reused = { ...first, subject: 'changes.customer.c9' };
  assert.not.ok(await ledger.has(letterId(reused), reused.subject));
  await ledger.record(letterId(reused), reused.subject);
  assert.ok(await ledger.has(letterId(reused), reused.subject));
  assert.not.ok(await ledger.has(letterId(first), first.subject), 'the id now names the new one');
});

test('letters older than the retention are pruned as others are recorded', async (ctx) => {
  const ledger = postgresLetterLedger(ctx.o.sql, 1, { pruneEveryMs: 0 });
  const kept = postgresLetterLedger(ctx.o.sql, 0, { pruneEveryMs: 0 });
  const old = letter();
  await ledger.record(letterId(old), old.subject);
  await new Promise((r) => setTimeout(r, 1_200));
  const unlimited = letter();
  await kept.record(letterId(unlimited), unlimited.subject);
  assert.ok(await ledger.has(letterId(old), old.subject), 'a retention of 0 prunes nothing');
  const recent = letter();
  await ledger.record(letterId(recent), recent.subject);
  assert.not.ok(await ledger.has(letterId(old), old.subject), 'past the retention: pruned');
  assert.ok(await ledger.has(letterId(recent), recent.subject));
});

test.run();
