// An older deployment's shared invoice durable filtered `invoice.>`, which takes in the partitioned
// subjects too: started by this rtws, it is narrowed in place to the unpartitioned ones, keeps its
// place in the stream, and leaves a partitioned event to its partition's durable.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/ports.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import {
  startInboundConsumer,
  type InboundConsumer,
} from '../../adapters/jetstream/inbound-consumer.ts';
import { inboundDurableName, INVOICE_EVENTS } from '../../adapters/jetstream/inbound-durables.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { waitFor } from '../harness/stream.ts';

const test = suite<{ t?: TestEnvironment; o?: Observer }>('the shared invoice durable');
test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

test('an older filter is narrowed to the unpartitioned subjects, keeping its place', async (ctx) => {
  const t = ctx.t!;
  const nats = ctx.o!.nats;
  const jsm = await jetstreamManager(nats);
  const js = jetstream(nats);
  const stream = t.names.streams.inbound;
  const name = inboundDurableName(t.names, INVOICE_EVENTS);
  const publish = (subject: string, id: string) =>
    js.publish(subject, JSON.stringify({ id, type: 'invoice.paid' }), { msgID: id });
  // As an older rtws left it: `invoice.>`, one event handled and acked.
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: `${t.names.legacyInboundSubject('stripe', 'invoice')}.>`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  });
  await publish(t.names.legacyInboundSubject('stripe', 'invoice.paid'), 'evt_handled');
  const old = await js.consumers.get(stream, name);
  const first = await old.next({ expires: 5_000 });
  assert.is(first?.subject, t.names.legacyInboundSubject('stripe', 'invoice.paid'));
  await first!.ackAck();

  await publish(t.names.inboundSubject('stripe', 'invoice.paid', 'cus_Shared1'), 'evt_partitioned');
  await publish(t.names.legacyInboundSubject('stripe', 'invoice.finalized'), 'evt_unpartitioned');
  const seen: string[] = [];
  let consumer: InboundConsumer | undefined;
  try {
    consumer = await startInboundConsumer({
      nats,
      names: t.names,
      log: silentLogger,
      deadLetters: jetStreamDeadLetters(js, t.names),
      ...INVOICE_EVENTS,
      handle: (m) => {
        seen.push(m.headers?.get('Nats-Msg-Id') ?? '?');
        return Promise.resolve({ done: true });
      },
    });
    const info = await jsm.consumers.info(stream, name);
    assert.is(info.config.filter_subject, t.names.legacyInboundSubject('stripe', 'invoice.*'));
    await waitFor(
      async () => seen.length,
      (n) => n >= 1,
      5_000,
    );
    // Long enough for the partitioned event to come, were it taken in.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(seen, ['evt_unpartitioned'], 'the event already acked is not handled again');
  } finally {
    await consumer?.stop();
  }
});

test.run();
