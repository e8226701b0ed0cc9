// What a catch-up run publishes to INBOUND: an event this process stored already is not sent again
// within the duplicate window (nor after the connection dropped), and a publish that fails fails
// the run, whose next run stores what it left. The stack's own catch-up runs only at its start,
// so these runs alone move the watermark.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { connect } from '@nats-io/transport-node';
import {
  forgetOnDisconnect,
  inboundPublisher,
  rememberingPublisher,
  type InboundPublish,
  type PublishReceipt,
} from '../../adapters/jetstream/inbound.ts';
import { readWatermark } from '../../adapters/postgres/catchup-watermarks.ts';
import { stripeCatchUp } from '../../deploy/wiring/inbound/stripe-catch-up.ts';
import { silentLogger } from '../../core/ports.ts';
import { LIVE_KEY } from '../sync/stack.ts';
import { linked, quiet, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('what a catch-up publishes');
test.before(async (ctx) => {
  ctx.s = await twoWay({ env: { RTWS_CATCHUP_INTERVAL_S: '0' } });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

/** A catch-up of the test's own, run by hand, against the stack's emulator. */
function catchUpOf(s: TwoWay, publish: InboundPublish, marginS: number) {
  return stripeCatchUp({
    stripe: stripeClient({ secretKey: LIVE_KEY, apiBase: s.emu.url }),
    sql: s.o.sql,
    nats: s.o.nats,
    names: s.t.names,
    log: silentLogger,
    publish,
    intervalS: 0,
    marginS,
  });
}

/**
 * An inbound publish that notes the event of each publish sent to the broker, and fails the first
 * whose event `fails` picks.
 */
function noting(
  publish: InboundPublish,
  fails?: (event: { data: { object: { name?: string } } }) => boolean,
) {
  const sent: string[] = [];
  let failed = false;
  const noted: InboundPublish = (subject, payload, msgId) => {
    sent.push(msgId);
    if (fails && !failed && fails(JSON.parse(new TextDecoder().decode(payload)))) {
      failed = true;
      return Promise.reject(new Error('NATS is away'));
    }
    return publish(subject, payload, msgId);
  };
  return { sent, publish: noted };
}

/** A dashboard edit whose webhook Stripe never delivers: only a catch-up brings it. */
async function unheardEdit(s: TwoWay, name: string): Promise<void> {
  const { id } = await s.api.create({
    name: 'Unheard',
    email: `${name.replace(/ /g, '-')}@example.com`,
  });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  s.emu.pauseWebhooks();
  try {
    await s.stripe.customers.update(stripeId, { name });
    s.emu.dropWebhooks();
  } finally {
    s.emu.resumeWebhooks();
  }
}

/** Lists from a second before now on: the events of what the test does next. */
async function listFromNow(s: TwoWay): Promise<number> {
  const since = Math.floor(Date.now() / 1000) - 1;
  await s.o.sql`UPDATE catchup_watermarks SET watermark = ${since} WHERE source = 'stripe'`;
  return since;
}

test('an event this process stored is not published again within the duplicate window', async ({
  s,
}) => {
  const since = await listFromNow(s);
  await unheardEdit(s, 'Remembered');
  const broker = noting(inboundPublisher(jetstream(s.o.nats)));
  const remembering = rememberingPublisher(broker.publish);
  // Each answer the catch-up was given, by event.
  const answers = new Map<string, PublishReceipt[]>();
  const shared: InboundPublish = async (subject, payload, msgId) => {
    const receipt = await remembering(subject, payload, msgId);
    answers.set(msgId, [...(answers.get(msgId) ?? []), receipt]);
    return receipt;
  };
  const first = await catchUpOf(s, shared, 0).run();
  assert.is(first.listed - first.duplicates, 1, 'the edit was stored by this run');
  const sentFirst = broker.sent.length;
  assert.is(sentFirst, first.listed, 'each listed event was sent');
  await s.o.sql`UPDATE catchup_watermarks SET watermark = ${since} WHERE source = 'stripe'`;
  const second = await catchUpOf(s, shared, 0).run();
  assert.is(second.listed, first.listed, 'the same events listed');
  assert.is(second.duplicates, second.listed, 'each answered as in INBOUND already');
  assert.is(broker.sent.length - sentFirst, second.listed - 1, 'the one it stored was not sent');
  assert.ok(second.mapped);
  const stored = [...answers.values()].filter(([firstAnswer]) => !firstAnswer!.duplicate);
  assert.is(stored.length, 1);
  const [[storedFirst, storedAgain]] = stored as [[PublishReceipt, PublishReceipt]];
  assert.ok(storedFirst.seq! > 0);
  assert.equal(storedAgain, { duplicate: true, seq: storedFirst.seq }, 'as the broker answers');
});

test('what it stored is sent again once the connection drops', async ({ s }) => {
  const nc = await connect({ servers: s.t.natsUrl });
  try {
    const broker = noting(inboundPublisher(jetstream(nc)));
    const remembering = rememberingPublisher(broker.publish);
    forgetOnDisconnect(nc, remembering);
    const subject = s.t.names.inboundSubject('stripe', 'customer.updated', 'cus_dropped');
    const payload = new TextEncoder().encode('{}');
    const first = await remembering(subject, payload, 'evt_dropped_connection');
    await remembering(subject, payload, 'evt_dropped_connection');
    assert.is(broker.sent.length, 1, 'remembered');
    const back = (async () => {
      for await (const status of nc.status()) if (status.type === 'reconnect') return;
    })();
    await nc.reconnect();
    await back;
    const after = await remembering(subject, payload, 'evt_dropped_connection');
    assert.is(broker.sent.length, 2, 'sent to the broker again');
    assert.equal(after, { duplicate: true, seq: first.seq });
  } finally {
    await nc.close();
  }
});

test('a publish that fails fails the run, and the next run stores what it left', async ({ s }) => {
  const since = await listFromNow(s);
  await unheardEdit(s, 'Failed once');
  await unheardEdit(s, 'Failed twice');
  const failing = noting(
    inboundPublisher(jetstream(s.o.nats)),
    (e) => e.data.object.name === 'Failed once',
  );
  await catchUpOf(s, failing.publish, 0)
    .run()
    .then(
      () => assert.unreachable('the run fails'),
      (err: Error) => assert.is(err.message, 'NATS is away'),
    );
  assert.ok(failing.sent.length >= 4, `the rest of its events were sent: ${failing.sent.length}`);
  assert.is(await readWatermark(s.o.sql, 'stripe'), since, 'the watermark stays');
  const next = await catchUpOf(s, inboundPublisher(jetstream(s.o.nats)), 0).run();
  assert.is(next.listed, failing.sent.length, 'the same events listed again');
  assert.is(next.listed - next.duplicates, 1, 'only the one that failed is stored now');
  assert.ok((await readWatermark(s.o.sql, 'stripe'))! > since, 'the watermark moved on');
});

test.run();
