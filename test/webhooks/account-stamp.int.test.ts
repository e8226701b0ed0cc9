// INBOUND's events carry the Stripe account and mode of the process that stored them. A consumer
// maps the binding's own; drops (acks) one of another account, once the database confirms the
// binding; and gives one back (naks) when the database says the event's account is the binding
// now, and this process is the one out of date (a rebind since it started).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { silentLogger } from '../../core/ports.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import {
  STRIPE_ACCOUNT_HEADER,
  setStripeStamp,
  type StripeStamp,
} from '../../adapters/jetstream/inbound.ts';
import {
  startInboundConsumer,
  type InboundConsumer,
} from '../../adapters/jetstream/inbound-consumer.ts';
import { inboundDurableName } from '../../adapters/jetstream/inbound-durables.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';

const test = suite<{ t?: TestEnvironment; o?: Observer; consumer?: InboundConsumer }>(
  'INBOUND account stamps',
);

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.consumer?.stop();
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

const KNOWN: StripeStamp = { account: 'acct_Known', livemode: false };
const OTHER: StripeStamp = { account: 'acct_Other', livemode: false };

test("the binding's events are mapped, another account's dropped, a newer binding's kept", async (ctx) => {
  const t = ctx.t!;
  const nats = ctx.o!.nats;
  let inDatabase = KNOWN;
  const handled: string[] = [];
  ctx.consumer = await startInboundConsumer({
    nats,
    names: t.names,
    log: silentLogger,
    deadLetters: jetStreamDeadLetters(jetstream(nats), t.names),
    durable: 'stamps',
    eventFilter: 'customer.*',
    dlqSource: 'stamps',
    boundAccount: () => KNOWN,
    boundAccountNow: () => Promise.resolve(inDatabase),
    handle: async (m) => {
      handled.push(m.string());
      return { done: true };
    },
  });
  const publish = async (id: string, stamp: StripeStamp | string) => {
    const h = headers();
    // A stamp with no mode (its account only) matches either mode.
    if (typeof stamp === 'string') h.set(STRIPE_ACCOUNT_HEADER, stamp);
    else setStripeStamp(h, stamp);
    await jetstream(nats).publish(t.names.legacyInboundSubject('stripe', 'customer.updated'), id, {
      msgID: id,
      headers: h,
    });
  };
  const jsm = await jetstreamManager(nats);
  const durable = inboundDurableName(t.names, { durable: 'stamps' });
  const unsettled = async () => {
    const info = await jsm.consumers.info(t.names.streams.inbound, durable);
    return info.num_pending + info.num_ack_pending;
  };

  await publish('evt_known', KNOWN);
  await publish('evt_other', { account: 'acct_Known', livemode: true });
  await publish('evt_other2', OTHER);
  await publish('evt_no_mode', 'acct_Known');
  assert.is(await eventually(unsettled, (n) => n === 0, 10_000), 0, 'all settled');
  assert.equal(handled, ['evt_known', 'evt_no_mode'], "only the binding's, in its mode");

  // A rebind to the other account since this process started: its events wait for a new one.
  inDatabase = OTHER;
  await publish('evt_after_rebind', OTHER);
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(handled, ['evt_known', 'evt_no_mode'], 'not mapped under the old binding');
  assert.is(await unsettled(), 1, 'nor acked: kept in hand');
  const info = await jsm.consumers.info(t.names.streams.inbound, durable);
  assert.is(info.num_redelivered, 0, 'never given back, so never counted towards the DLQ');
});

test.run();
