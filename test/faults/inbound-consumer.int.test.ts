// The inbound consumer through a NATS crash (a private nats-server, SIGKILLed): an event in hand
// when NATS goes down, whose dead letter cannot be stored then, is delivered again once NATS is
// back and handled: the consumer keeps pulling across the outage.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import {
  startInboundConsumer,
  type InboundConsumer,
} from '../../adapters/jetstream/inbound-consumer.ts';
import { silentLogger } from '../../core/ports.ts';
import { onPrivateNats, type PrivateEnvironment } from '../harness/private-environment.ts';
import { eventually, waitFor } from '../harness/stream.ts';

const test = suite<{ env: PrivateEnvironment }>('inbound consumer through a NATS crash');
test.before(async (ctx) => {
  ctx.env = await onPrivateNats();
});
test.after(async (ctx) => {
  await ctx.env?.close();
});

test('an event in hand when NATS went down is handled once it is back', async ({ env }) => {
  const { t, server } = env;
  const nats = await connectNats({ servers: [server.url], name: 'inbound-consumer-fault' });
  let consumer: InboundConsumer | undefined;
  try {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    consumer = await startInboundConsumer({
      nats,
      names: t.names,
      log: silentLogger,
      deadLetters: jetStreamDeadLetters(jetstream(nats), t.names, 1_000),
      durable: 'fault_test',
      eventFilter: 'customer.*',
      dlqSource: 'fault-test',
      delivery: { ackWaitMs: 2_000, maxDeliver: 10 },
      handle: async (m) => {
        seen.push(String(m.info.deliveryCount));
        if (m.info.deliveryCount === 1) await gate;
        return { deadLetter: 'never handled, by design of the test' };
      },
    });
    await jetstream(nats).publish(
      t.names.legacyInboundSubject('stripe', 'customer.updated'),
      '{}',
      {
        msgID: 'evt_fault_1',
      },
    );
    await waitFor(
      async () => seen.length,
      (n) => n >= 1,
      10_000,
    );
    const jsm = await jetstreamManager(nats);
    // NATS goes down while the event is in hand: its dead letter cannot be stored.
    await server.crash();
    release();
    await new Promise((r) => setTimeout(r, 1_500));
    await server.start();
    const letters = await eventually(
      async () =>
        (await jsm.streams.info(t.names.streams.dlq).catch(() => undefined))?.state.messages ?? 0,
      (n) => n >= 1,
      30_000,
    );
    assert.is(letters, 1, 'the event was dead-lettered once NATS was back');
    assert.ok(seen.length >= 2, `delivered again after the failed pull (${seen.join(', ')})`);
  } finally {
    await consumer?.stop();
    await nats.close();
  }
});

test.run();
