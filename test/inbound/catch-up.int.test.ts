// Catch-up: a change whose webhook never arrives still reaches Postgres, from Stripe's events API,
// through the same INBOUND path; an event already handled changes nothing when it is listed again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type Stripe from 'stripe';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { inboundPublisher } from '../../adapters/jetstream/inbound.ts';
import { readWatermark } from '../../adapters/postgres/catchup-watermarks.ts';
import { stripeCatchUp } from '../../deploy/wiring/inbound/stripe-catch-up.ts';
import { silentLogger } from '../../core/ports.ts';
import { LIVE_KEY } from '../sync/stack.ts';
import { linked, quiet, row, rowWhen, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('catch-up from Stripe events');
test.before(async (ctx) => {
  ctx.s = await twoWay({ env: { RTWS_CATCHUP_INTERVAL_S: '1', RTWS_CATCHUP_MARGIN_S: '5' } });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

test('a dashboard edit whose webhook never comes reaches Postgres by catch-up', async ({ s }) => {
  const { id } = await s.api.create({ name: 'Quiet', email: 'quiet@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  s.emu.pauseWebhooks();
  try {
    await s.stripe.customers.update(stripeId, { name: 'Heard by catch-up' });
    const r = await rowWhen(s, id, (r) => r.name === 'Heard by catch-up', 15_000);
    assert.is(r?.name, 'Heard by catch-up');
    assert.is(r?.origin, 'stripe');
    assert.ok((await readWatermark(s.o.sql, 'stripe')) !== undefined, 'the watermark is kept');
  } finally {
    s.emu.resumeWebhooks();
  }
  // The webhook that comes at last, and catch-ups listing the event again, change nothing.
  const before = await row(s, id);
  await quiet(s, 2_500);
  assert.is((await row(s, id))?.version, before?.version);
});

/** A catch-up of the test's own, run by hand (no timer), against the stack's emulator. */
function catchUpOf(s: TwoWay) {
  return {
    stripe: stripeClient({ secretKey: LIVE_KEY, apiBase: s.emu.url }),
    sql: s.o.sql,
    nats: s.o.nats,
    names: s.t.names,
    log: silentLogger,
    publish: inboundPublisher(jetstream(s.o.nats)),
    intervalS: 0,
  };
}

test('a second run over the same events stores nothing new', async ({ s }) => {
  const run = stripeCatchUp({ ...catchUpOf(s), marginS: 3_600 });
  const jsm = await jetstreamManager(s.o.nats);
  const first = await run.run();
  assert.ok(first.listed > 0, 'events of the last hour are listed');
  const stored = (await jsm.streams.info(s.t.names.streams.inbound)).state.messages;
  const second = await run.run();
  assert.is(second.listed, first.listed);
  assert.is(second.duplicates, second.listed, 'every event was in INBOUND already');
  assert.is((await jsm.streams.info(s.t.names.streams.inbound)).state.messages, stored);
  assert.ok(second.mapped);
  await run.stop();
});

test('a run from an old watermark lists span by span, oldest first, each event once', async ({
  s,
}) => {
  const options = catchUpOf(s);
  const { stripe } = options;
  const spans: { gte: number; lt: number }[] = [];
  // The same client, with each list's span noted (the types are listed in pages of 20 each).
  const noting = {
    events: {
      list: (params: Stripe.EventListParams) => {
        const { gte, lt } = params.created as { gte: number; lt: number };
        const last = spans.at(-1);
        if (last?.gte !== gte || last.lt !== lt) spans.push({ gte, lt });
        return stripe.events.list(params);
      },
    },
  } as unknown as Stripe;
  const hourAgo = Math.floor(Date.now() / 1000) - 3_600;
  const whole = await stripeCatchUp({ ...options, stripe, marginS: 3_600 }).run();
  await s.o.sql`UPDATE catchup_watermarks SET watermark = ${hourAgo} WHERE source = 'stripe'`;
  const bySpans = stripeCatchUp({ ...options, stripe: noting, marginS: 0 });
  const startedS = Date.now() / 1000;
  const report = await bySpans.run();
  await bySpans.stop();
  assert.ok(spans.length > 2, `several spans: ${JSON.stringify(spans)}`);
  assert.is(spans[0]!.gte, hourAgo, 'from the watermark');
  spans
    .slice(1)
    .forEach((span, i) => assert.is(span.gte, spans[i]!.lt, 'each where the last ended'));
  // Up to the run's own now: past the instant it started, whatever the run then took.
  assert.ok(spans.at(-1)!.lt > startedS, `up to now: ${spans.at(-1)!.lt} > ${startedS}`);
  assert.ok(whole.listed > 0);
  assert.is(report.listed, whole.listed, 'the same events as one span over the hour');
  assert.is(report.duplicates, report.listed, 'each was in INBOUND already');
  assert.ok((await readWatermark(s.o.sql, 'stripe'))! > hourAgo, 'the watermark moved on');

  // Holding at most one event at once: the spans that hold more are listed again in halves.
  assert.ok(whole.listed >= 2, `events to split: ${whole.listed}`);
  spans.length = 0;
  await s.o.sql`UPDATE catchup_watermarks SET watermark = ${hourAgo} WHERE source = 'stripe'`;
  const small = stripeCatchUp({ ...options, stripe: noting, marginS: 0, maxEventsHeld: 1 });
  const halves = await small.run();
  await small.stop();
  assert.is(halves.listed, whole.listed, 'the same events, each once');
  assert.ok(
    spans.some((span, i) => i > 0 && span.gte === spans[i - 1]!.gte),
    `a span given up and listed again from the same second: ${JSON.stringify(spans)}`,
  );
});

test.run();
