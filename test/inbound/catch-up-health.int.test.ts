// The endpoint's health, as catch-up sees it: Stripe's events newer than the last webhook by more
// than RTWS_WEBHOOK_SILENCE_ALERT_S (a broken endpoint or secret), and a watermark older than
// Stripe keeps events. Both are said once in the log and shown in /readyz's details and /metrics,
// and neither makes rtws unready.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { stripeClient } from '../../adapters/stripe/client.ts';
import { inboundPublisher } from '../../adapters/jetstream/inbound.ts';
import { readWatermark } from '../../adapters/postgres/catchup-watermarks.ts';
import { clearRetentionGap, readWebhookHealth } from '../../adapters/postgres/webhook-health.ts';
import {
  stripeCatchUp,
  type RetentionGap,
  type StripeCatchUp,
  type StripeCatchUpOptions,
} from '../../deploy/wiring/inbound/stripe-catch-up.ts';
import { authHeaders } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { LIVE_KEY } from '../sync/stack.ts';
import { recordingLogger } from '../webhooks/signing.ts';
import { linked, quiet, twoWay, type TwoWay } from './stack.ts';

const test = suite<{ s: TwoWay }>('endpoint health from catch-up');
test.before(async (ctx) => {
  // rtws's own catch-up runs only at start: these tests run theirs, with no delivery grace.
  ctx.s = await twoWay({
    env: { RTWS_CATCHUP_INTERVAL_S: '0', RTWS_WEBHOOK_SILENCE_ALERT_S: '1' },
  });
});
test.after(async (ctx) => {
  await ctx.s?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function catchUp(s: TwoWay, extra: Partial<StripeCatchUpOptions> = {}): StripeCatchUp {
  return stripeCatchUp({
    stripe: stripeClient({ secretKey: LIVE_KEY, apiBase: s.emu.url }),
    sql: s.o.sql,
    nats: s.o.nats,
    names: s.t.names,
    log: recordingLogger(),
    publish: inboundPublisher(jetstream(s.o.nats)),
    intervalS: 0,
    marginS: 3_600,
    silenceAlertS: 1,
    deliveryGraceS: 0,
    ...extra,
  });
}

interface StripeDetails {
  webhook_silence_s: number;
  webhooks_silent: boolean;
  last_webhook_at: string | null;
  newest_event_at: string | null;
  beyond_retention: { watermark: string; found_at: string } | null;
}

async function readyz(s: TwoWay): Promise<{ status: number; stripe: StripeDetails }> {
  const res = await fetch(`${s.rtws.url}/readyz`);
  const body = (await res.json()) as { stripe: StripeDetails };
  return { status: res.status, stripe: body.stripe };
}

async function gauge(s: TwoWay, name: string): Promise<number> {
  const res = await fetch(`${s.rtws.url}/metrics`, { headers: authHeaders() });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

test('webhooks silent while Stripe has events: warned once, shown, and readiness kept', async ({
  s,
}) => {
  const { id } = await s.api.create({ name: 'Heartbeat', email: 'heartbeat@example.com' });
  const stripeId = await linked(s, id);
  await quiet(s, 300);
  const heard = await eventually(
    () => readWebhookHealth(s.o.sql, 'stripe'),
    (h) => h?.lastWebhookAt != null,
  );
  assert.ok(heard?.lastWebhookAt, 'the receiver records that webhooks arrive');
  const log = recordingLogger();
  const run = catchUp(s, { log });
  s.emu.pauseWebhooks();
  try {
    // Stripe's events from here on are more than the threshold newer than the last webhook. An
    // event's time is a whole second, so that takes 3 s after the last webhook recorded (a late
    // echo of our own writes included), not 2: after 2.5 s, the event's second can be 1.5 s on.
    await sleep(200); // a delivery already under way is recorded
    const lastAt = async () =>
      (await readWebhookHealth(s.o.sql, 'stripe'))?.lastWebhookAt?.getTime() ?? 0;
    for (let at = await lastAt(); Date.now() - at < 3_200; at = await lastAt()) await sleep(100);
    await s.stripe.customers.update(stripeId, { name: 'Unheard' });
    s.emu.dropWebhooks();
  } finally {
    s.emu.resumeWebhooks();
  }
  await run.run();
  await run.run();
  const warnings = log.lines.filter((l) => l.level === 'warn' && /last webhook/.test(l.msg ?? ''));
  assert.is(warnings.length, 1, 'one warning for the change of state, not one per run');
  const ready = await readyz(s);
  assert.is(ready.status, 200, 'silence never makes rtws unready');
  assert.ok(ready.stripe.webhooks_silent);
  assert.ok(ready.stripe.webhook_silence_s >= 2, String(ready.stripe.webhook_silence_s));
  assert.ok(ready.stripe.last_webhook_at && ready.stripe.newest_event_at);
  assert.ok((await gauge(s, 'rtws_stripe_webhook_silence_seconds')) >= 2);

  // A webhook arrives again: the next run says so, once, and the details clear.
  await sleep(5_100); // the receiver records at most every 5 s
  await s.stripe.customers.update(stripeId, { name: 'Heard again' });
  await quiet(s, 300);
  await run.run();
  await run.run();
  assert.is(
    log.lines.filter((l) => l.level === 'info' && /received again/.test(l.msg ?? '')).length,
    1,
  );
  const after = await readyz(s);
  assert.not.ok(after.stripe.webhooks_silent);
  assert.is(after.stripe.webhook_silence_s, 0);
  assert.is(await gauge(s, 'rtws_stripe_webhook_silence_seconds'), 0);
  await run.stop();
});

test('a watermark older than the retention: said once, hooked, shown until cleared', async ({
  s,
}) => {
  const nowS = Math.floor(Date.now() / 1000);
  const old = nowS - 31 * 86_400;
  await s.o.sql`UPDATE catchup_watermarks SET watermark = ${old} WHERE source = 'stripe'`;
  assert.is(await readWatermark(s.o.sql, 'stripe'), old);
  const log = recordingLogger();
  const gaps: RetentionGap[] = [];
  const run = catchUp(s, { log, onBeyondRetention: (gap) => void gaps.push(gap) });
  await run.run();
  await run.run();
  assert.equal(gaps, [{ watermark: old, retentionS: 30 * 86_400 }], 'the hook is called once');
  const said = log.lines.filter((l) => l.level === 'warn' && /reconciliation/.test(l.msg ?? ''));
  assert.is(said.length, 1);
  assert.ok((await readWatermark(s.o.sql, 'stripe'))! > old, 'catch-up still lists what it can');
  const ready = await readyz(s);
  assert.is(ready.status, 200);
  assert.is(ready.stripe.beyond_retention?.watermark, new Date(old * 1000).toISOString());
  assert.is(await gauge(s, 'rtws_stripe_catch_up_beyond_retention'), 1);
  // Another process's catch-up, started later from the newer watermark, does not call it again,
  // and the gap stays shown until a full reconciliation clears it.
  const later = catchUp(s, { onBeyondRetention: (gap) => void gaps.push(gap) });
  await later.run();
  assert.is(gaps.length, 1);
  assert.ok((await readyz(s)).stripe.beyond_retention);
  await clearRetentionGap(s.o.sql, 'stripe');
  assert.is((await readyz(s)).stripe.beyond_retention, null);
  assert.is(await gauge(s, 'rtws_stripe_catch_up_beyond_retention'), 0);
  await run.stop();
  await later.stop();
});

test('within the retention, nothing is said', async ({ s }) => {
  const nowS = Math.floor(Date.now() / 1000);
  await s.o.sql`UPDATE catchup_watermarks SET watermark = ${nowS - 29 * 86_400}
    WHERE source = 'stripe'`;
  const log = recordingLogger();
  let called = 0;
  const run = catchUp(s, { log, onBeyondRetention: () => void called++ });
  await run.run();
  assert.is(called, 0);
  assert.is((await readyz(s)).stripe.beyond_retention, null);
  await run.stop();
});

test.run();
