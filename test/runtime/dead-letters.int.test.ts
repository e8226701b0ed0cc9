// A malformed message goes to the DLQ with its reason and original bytes, is acked, and the
// partition goes on with the messages behind it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { partitionConsumerName } from '../../adapters/jetstream/partition-consumer-config.ts';
import type { DeadLetterRecord } from '../../adapters/jetstream/dead-letters.ts';
import { correlationHeaders } from '../../adapters/jetstream/correlation-header.ts';
import { recordingLogger } from '../webhooks/signing.ts';
import { startTestWorker, storedActors, type TestWorker } from './fixture.ts';
import { customerIn, fact, publishFact } from './facts.ts';
import { encodeRecordedEvent, type BindingStamp } from '../../actors/customer/outcome-message.ts';
import type { HandledRecord } from '../../deploy/wiring/worker/fact-handler.ts';

const test = suite<{ t: TestEnvironment; o: Observer; workers: TestWorker[] }>(
  'runtime dead letters',
);

test.before(async (ctx) => {
  ctx.workers = [];
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});

test.after(async (ctx) => {
  for (const w of ctx.workers ?? []) await w.close();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

async function deadLetters(ctx: { t: TestEnvironment; o: Observer }): Promise<DeadLetterRecord[]> {
  const jsm = await jetstreamManager(ctx.o.nats);
  const info = await jsm.streams.info(ctx.t.names.streams.dlq);
  const out: DeadLetterRecord[] = [];
  for (
    let seq = info.state.first_seq;
    seq <= info.state.last_seq && info.state.messages > 0;
    seq++
  ) {
    const m = await jsm.streams.getMessage(ctx.t.names.streams.dlq, { seq });
    if (m) out.push(m.json<DeadLetterRecord>());
  }
  return out;
}

test('garbage, a non-fact and a misaddressed fact are dead-lettered; the partition goes on', async (ctx) => {
  const { names } = ctx.t;
  const { nats } = ctx.o;
  const partition = 3;
  const customer = customerIn(names, partition);
  const stranger = customerIn(names, partition);
  const js = jetstream(nats);
  const garbage = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
  const garbageSeq = (await js.publish(names.customerSubject(customer), garbage)).seq;
  const shapeSeq = (
    await js.publish(
      names.customerSubject(customer),
      JSON.stringify({ type: 'CustomerUpdated', data: 'nope' }),
    )
  ).seq;
  const misaddressedSeq = (
    await js.publish(names.customerSubject(stranger), JSON.stringify(fact(customer, 1)))
  ).seq;
  await publishFact(nats, names, fact(customer, 1));
  await publishFact(nats, names, fact(customer, 2, 'After the garbage'));

  const tw = await startTestWorker(ctx.t);
  ctx.workers.push(tw);

  const letters = await eventually(
    () => deadLetters(ctx),
    (l) => l.length >= 3,
    15_000,
    100,
  );
  assert.is(letters.length, 3);
  const bySeq = (seq: number) => letters.find((l) => l.stream_seq === seq);
  const [bytes, shape, misaddressed] = [bySeq(garbageSeq), bySeq(shapeSeq), bySeq(misaddressedSeq)];
  assert.is(bytes!.subject, names.customerSubject(customer));
  assert.match(bytes!.reason, /not JSON/);
  assert.equal(
    [...Buffer.from(bytes!.data_base64, 'base64')],
    [...garbage],
    'the original bytes, untouched',
  );
  assert.match(shape!.reason, /not a CustomerChanged/);
  assert.match(misaddressed!.reason, /does not match/);
  assert.ok(letters.every((l) => l.source === 'changes' && l.stream === names.streams.changes));

  const actors = await eventually(
    () => storedActors(nats, ctx.t),
    (a) => a.get(customer)?.desiredVersion === 2,
    15_000,
    100,
  );
  assert.is(actors.get(customer)?.value.snapshot.context.desired.fields.name, 'After the garbage');
  assert.not.ok(actors.has(stranger), 'a misaddressed fact creates no actor');
  assert.is(tw.worker.stats.deadLettered, 3);

  // Everything was acked: nothing waits for redelivery.
  const jsm = await jetstreamManager(nats);
  const consumer = await eventually(
    () => jsm.consumers.info(names.streams.changes, partitionConsumerName(names, partition)),
    (c) => c.num_ack_pending === 0 && c.num_pending === 0,
    5_000,
    100,
  );
  assert.is(consumer.num_ack_pending, 0);
});

test('a fact that keeps failing is dead-lettered with its last error on its last delivery', async (ctx) => {
  for (const w of ctx.workers.splice(0)) await w.close();
  const { names } = ctx.t;
  const { nats } = ctx.o;
  const customer = customerIn(names, 5);
  // A snapshot this machine refuses to resume: every step on this customer fails.
  const kv = await new Kvm(jetstream(nats)).create(names.bucket('ACTORS'));
  await kv.put(customer, JSON.stringify({ machineVersion: -1, snapshot: {} }));
  const before = (await deadLetters(ctx)).length;
  // The change it served is named on the letter and on every log line about it.
  const seq = (
    await jetstream(nats).publish(
      names.customerSubject(customer),
      JSON.stringify(fact(customer, 1)),
      { headers: correlationHeaders('req-failing-fact') },
    )
  ).seq;

  const log = recordingLogger();
  const tw = await startTestWorker(ctx.t, { delivery: { maxDeliver: 3 }, log });
  ctx.workers.push(tw);

  const letters = await eventually(
    () => deadLetters(ctx),
    (l) => l.length > before,
    15_000,
    100,
  );
  const letter = letters.find((l) => l.stream_seq === seq);
  assert.ok(letter, 'the failing fact is in the DLQ');
  assert.is(letter.deliveries, 3);
  assert.match(letter.reason, /SnapshotFormatError: .*machine version -1/);
  assert.is(letter.correlation_id, 'req-failing-fact');
  assert.is(tw.worker.stats.deadLettered, 1);
  const about = log.lines
    .map((l) => ({ ...(l.obj as { seq?: number; correlation_id?: string }), msg: l.msg }))
    .filter((l) => l.seq === seq);
  assert.equal(
    about.map((l) => [l.msg, l.correlation_id]),
    [
      ['message failed; will retry', 'req-failing-fact'],
      ['message failed; will retry', 'req-failing-fact'],
      ['message dead-lettered', 'req-failing-fact'],
    ],
  );
});

test('a Stripe event recorded under another binding (account, or mode) is skipped: acked, never applied, no letter', async (ctx) => {
  const { names } = ctx.t;
  const { nats } = ctx.o;
  // One worker, this one, holds every partition.
  for (const w of ctx.workers.splice(0)) await w.close();
  const customer = customerIn(names, 5);
  const handled: HandledRecord[] = [];
  const lettersBefore = (await deadLetters(ctx)).length;
  const observed = (eventId: string, binding?: BindingStamp) =>
    encodeRecordedEvent(
      customer,
      {
        type: 'StripeCustomerObserved',
        data: {
          eventId,
          eventType: 'customer.updated',
          stripeId: 'cus_OldAccount',
          created: 1_700_000_000,
          key: null,
          fields: {
            name: 'From the old account',
            email: null,
            phone: null,
            address: null,
            metadata: {},
          },
          rtwsId: customer,
        },
        at: 0,
      },
      binding,
    );
  await publishFact(nats, names, fact(customer, 1));
  const js = jetstream(nats);
  const publish = async (eventId: string, binding?: BindingStamp) =>
    (await js.publish(names.customerSubject(customer), JSON.stringify(observed(eventId, binding))))
      .seq;
  const stale = await publish('evt_old', { account: 'acct_Old', livemode: true });
  // The same account's test mode: a test key's customers before the live key was bound.
  const testMode = await publish('evt_test', { account: 'acct_New', livemode: false });
  const current = await publish('evt_new', { account: 'acct_New', livemode: true });
  // Stamped by a version that named the account alone: its mode cannot be told.
  const accountOnly = await publish('evt_account', { account: 'acct_New' });
  const unstamped = await publish('evt_plain');
  const tw = await startTestWorker(ctx.t, {
    workerId: 'binding-worker',
    stripeBinding: () => ({ account: 'acct_New', livemode: true }),
    onHandled: (r) => handled.push(r),
  });
  ctx.workers.push(tw);
  const done = await eventually(
    async () =>
      handled.filter((r) => [stale, testMode, current, accountOnly, unstamped].includes(r.seq)),
    (rs) => rs.length === 5,
    15_000,
    100,
  );
  const outcome = (seq: number) => done.find((r) => r.seq === seq)?.outcome;
  assert.is(outcome(stale), 'skipped');
  assert.is(outcome(testMode), 'skipped', 'the bound account in the other mode is skipped');
  assert.is(outcome(current), 'applied');
  assert.is(outcome(accountOnly), 'applied', 'a stamp without its mode is applied');
  assert.is(outcome(unstamped), 'applied', 'a message from before stamps existed is applied');
  assert.is((await deadLetters(ctx)).length, lettersBefore, 'nothing was dead-lettered');
});

test.run();
