// Several versions of rtws side by side during a deploy. The current code reads what the previous
// version wrote: a captured change with no format stamp, and a snapshot of the previous machine
// version. What a newer rtws wrote (a message of a later format, a snapshot of a later machine
// version) is refused without acking: kept in hand, in order, never dead-lettered, and given back
// unacked when the worker stops, for a process that can read it. A message of this format that
// makes no sense is still dead-lettered.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { MESSAGE_SCHEMA } from '../../core/messages.ts';
import { MACHINE_VERSION } from '../../actors/customer/index.ts';
import { partitionConsumerName } from '../../adapters/jetstream/partition-consumer-config.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { startTestWorker, storedActors, type TestWorker } from './fixture.ts';
import { customerIn, fact, publishFact } from './facts.ts';

const test = suite<{ t: TestEnvironment; o: Observer; workers: TestWorker[] }>('rolling upgrade');
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

async function dlqCount(ctx: { t: TestEnvironment; o: Observer }): Promise<number> {
  const jsm = await jetstreamManager(ctx.o.nats);
  return (await jsm.streams.info(ctx.t.names.streams.dlq)).state.messages;
}

test('the previous version is read; a newer one is kept unacked, never dead-lettered', async (ctx) => {
  const { names } = ctx.t;
  const { nats } = ctx.o;
  const js = jetstream(nats);
  const partition = 2;
  const [old, newer, garbage, upgraded] = [0, 1, 2, 3].map(() => customerIn(names, partition));

  // Written by the previous version: no format stamp on the message.
  const unstamped = fact(old!, 1);
  assert.is((unstamped.metadata as { schema?: number }).schema, undefined);
  await publishFact(nats, names, unstamped);

  // Written by a newer rtws: a message of a later format, of a type this one does not know, then
  // that customer's next change, which waits behind it.
  await js.publish(
    names.customerSubject(newer!),
    JSON.stringify({
      type: 'SomethingNewer',
      data: { anything: true },
      metadata: { customer_id: newer, schema: MESSAGE_SCHEMA + 1 },
    }),
  );
  await publishFact(nats, names, fact(newer!, 1));

  // Of this format, and of no type this version knows: garbage, dead-lettered.
  await js.publish(
    names.customerSubject(garbage!),
    JSON.stringify({ type: 'Nonsense', data: {}, metadata: { customer_id: garbage } }),
  );

  // A snapshot a newer machine wrote.
  const kv = await new Kvm(js).create(names.bucket('ACTORS'));
  await kv.put(
    upgraded!,
    JSON.stringify({
      machineVersion: MACHINE_VERSION + 1,
      snapshot: { context: { targets: { stripe: { pending: null } } } },
    }),
  );
  await publishFact(nats, names, fact(upgraded!, 1));

  const tw = await startTestWorker(ctx.t);
  ctx.workers.push(tw);
  const actors = await eventually(
    () => storedActors(nats, ctx.t),
    (a) => a.get(old!)?.desiredVersion === 1,
    15_000,
    100,
  );
  assert.is(
    actors.get(old!)?.desiredVersion,
    1,
    'an unstamped change of the previous version is read',
  );
  const letters = await eventually(
    () => dlqCount(ctx),
    (n) => n >= 1,
    15_000,
    100,
  );
  // Time for a wrongly dead-lettered message to show up too.
  await new Promise((r) => setTimeout(r, 3_000));
  assert.is(await dlqCount(ctx), letters, 'only the garbage was dead-lettered');
  assert.is(letters, 1);
  const held = await storedActors(nats, ctx.t);
  assert.not.ok(held.has(newer!), "the newer message holds its customer's next change behind it");
  const raw = await kv.get(upgraded!);
  assert.is(
    JSON.parse(new TextDecoder().decode(raw!.value)).machineVersion,
    MACHINE_VERSION + 1,
    'the newer snapshot is left as it was',
  );
  const jsm = await jetstreamManager(nats);
  const consumer = await jsm.consumers.info(
    names.streams.changes,
    partitionConsumerName(names, partition),
  );
  assert.ok(consumer.num_ack_pending >= 2, `${consumer.num_ack_pending} messages kept unacked`);

  // Stopping gives them back unacked, for the next holder.
  await tw.close();
  ctx.workers.splice(0);
  assert.is(await dlqCount(ctx), 1, 'not dead-lettered on the way out either');
});

test.run();
