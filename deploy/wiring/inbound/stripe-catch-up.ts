// Catch-up: what Stripe's webhooks did not bring, read from its events API. Each event listed goes
// into INBOUND exactly as a verified webhook would (the event id as Nats-Msg-Id), so the mapping,
// the actor's seen list and the inbox deduplicate it, and staleness, fetch and merge judge it like
// a late webhook. It runs at start, when a worker takes partitions (before their pending pushes
// resume), and on a timer.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type Stripe from 'stripe';
import type { Logger } from '../../../core/ports.ts';
import { inboundPartition, type Names } from '../../../core/subjects.ts';
import { STRIPE_CUSTOMER_EVENT_TYPES } from '../../../actors/customer/index.ts';
import type { InboundPublish } from '../../../adapters/jetstream/inbound.ts';
import { ackFloorOf } from '../../../adapters/jetstream/consumer-progress.ts';
import { CUSTOMER_EVENTS, inboundFeed } from '../../../adapters/jetstream/inbound-durables.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { advanceWatermark, readWatermark } from '../../../adapters/postgres/catchup-watermarks.ts';
import {
  readWebhookHealth,
  recordNewestEvent,
  recordRetentionGap,
} from '../../../adapters/postgres/webhook-health.ts';
import { stripeCustomerOf } from '../../../adapters/stripe/event-customer.ts';
import { eventsBetween } from '../../../adapters/stripe/event-list.ts';
import { INVOICE_EVENT_TYPES } from '../../../adapters/stripe/invoice-events.ts';
import { STRIPE_EVENT_RETENTION_S } from './endpoint-health.ts';

export const CATCH_UP_EVENT_TYPES: readonly string[] = Object.freeze([
  ...STRIPE_CUSTOMER_EVENT_TYPES,
  ...INVOICE_EVENT_TYPES,
]);

export interface StripeCatchUpOptions {
  readonly stripe: Stripe;
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly names: Names;
  readonly log: Logger;
  readonly publish: InboundPublish;
  /** Seconds between runs; 0: only the runs asked for (start, takeovers). */
  readonly intervalS: number;
  /** Lists from the watermark minus this, for events Stripe lists late. */
  readonly marginS: number;
  /** How long a run waits for its customer events to be mapped onto customers' subjects. */
  readonly mappedWithinMs?: number;
  /** False until the key's account is verified as the bound one: until then nothing is listed. */
  readonly ready?: () => boolean;
  readonly now?: () => number;
  /** Warns once the events listed are newer than the last webhook by more than this. Default 900. */
  readonly silenceAlertS?: number;
  /** Events younger than this may still have their webhook in flight: not yet a sign of silence. Default 60. */
  readonly deliveryGraceS?: number;
  /** The most events a run holds at once (see `SPAN_EVENTS`). Default 10,000. */
  readonly maxEventsHeld?: number;
  /** How long Stripe keeps events. Default 30 days. */
  readonly retentionS?: number;
  /**
   * Called once when a run starts from a watermark older than the retention: events were lost
   * that no catch-up can list, and only a full reconciliation repairs what they changed.
   */
  readonly onBeyondRetention?: (gap: RetentionGap) => void | Promise<void>;
}

export interface RetentionGap {
  /** The watermark the run started from (Unix seconds). */
  readonly watermark: number;
  readonly retentionS: number;
}

export interface CatchUpReport {
  readonly since: number;
  readonly listed: number;
  /**
   * Already in INBOUND: a webhook or an earlier run brought them within the duplicate window (as
   * the broker answers, or as this process remembers storing them).
   */
  readonly duplicates: number;
  /** The customer events were mapped onto their customers' subjects before the run ended. */
  readonly mapped: boolean;
}

export interface StripeCatchUp {
  /** A run that starts after this call; callers meanwhile share it. Rejects if Stripe or NATS fails. */
  run(): Promise<CatchUpReport>;
  /** Starts the timer (with `intervalS` > 0). */
  start(): void;
  stop(): Promise<void>;
}

const SOURCE = 'stripe';
/**
 * A run lists a span of seconds at a time, the first as long as a run on the timer covers (its
 * interval and margin, at least a minute), so that such a run lists once. A span that listed few
 * events is followed by one twice as long (up to a day), one that listed many by one half as long
 * (down to a second), so that a span holds a few thousand events whatever the account's rate. A
 * span found to hold more than `max` is given up as soon as that is known, and listed again in
 * halves: a run never holds more than that many events, except in a single second that has more.
 */
const SPAN_EVENTS = { few: 1_000, many: 5_000, max: 10_000 } as const;
const SPAN_S = { min: 1, max: 86_400 } as const;

function nextSpan(span: number, listed: number): number {
  if (listed < SPAN_EVENTS.few) return Math.min(span * 2, SPAN_S.max);
  if (listed > SPAN_EVENTS.many) return Math.max(Math.floor(span / 2), SPAN_S.min);
  return span;
}
/**
 * Publishes a run sends before it waits for their PubAcks; a round trip each made every event
 * listed, most of them in INBOUND already, cost a wait. One connection keeps them in order, so
 * INBOUND stores a span's events as listed. When one fails, those after it in its window may be
 * stored, and it comes after them in the next run: as a late webhook would, judged by the same
 * staleness rules.
 */
const PUBLISH_WINDOW = 100;
const customerTypes = new Set<string>(STRIPE_CUSTOMER_EVENT_TYPES);
const encoder = new TextEncoder();

export function stripeCatchUp(o: StripeCatchUpOptions): StripeCatchUp {
  const now = o.now ?? Date.now;
  const log = o.log.child({ component: 'stripe-catch-up' });
  let running: Promise<CatchUpReport> | undefined;
  let queued: Promise<CatchUpReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Once stopped, a run asked for by a partition resuming during shutdown does nothing.
  let stopped = false;
  // What this process last said about the endpoint, so it speaks once per change.
  let silent = false;
  let gapReported = false;

  const run = (): Promise<CatchUpReport> => {
    if (!running) {
      running = once().finally(() => (running = undefined));
      return running;
    }
    // The run in progress started before this call and may have listed too early for it.
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return run();
      });
    return queued;
  };

  async function once(): Promise<CatchUpReport> {
    if (stopped || o.ready?.() === false)
      return { since: 0, listed: 0, duplicates: 0, mapped: true };
    const stored = await readWatermark(o.sql, SOURCE);
    const nowS = Math.floor(now() / 1000);
    // The first run of a deployment starts from now: older history is an import, not a catch-up.
    const since = (stored ?? nowS) - o.marginS;
    if (stored !== undefined) await beyondRetention(stored, nowS);
    let listed = 0;
    let duplicates = 0;
    let newest = stored ?? nowS;
    let newestDue = 0;
    const due = nowS - (o.deliveryGraceS ?? 60);
    // Per INBOUND partition, the last customer event stored: its consumer must pass it.
    const lastCustomerSeq = new Map<number, number>();
    // Span by span, oldest first, so that a run holds one span's events, not all since the
    // watermark: after a long outage that would be hours of a busy account's events at once.
    for (let from = since, span = Math.max(60, o.intervalS + o.marginS); from <= nowS;) {
      const to = Math.min(from + span, nowS + 1);
      const max = to - from > SPAN_S.min ? (o.maxEventsHeld ?? SPAN_EVENTS.max) : Infinity;
      const events = await eventsBetween(o.stripe, from, to, CATCH_UP_EVENT_TYPES, max);
      if (!events) {
        span = Math.max(Math.floor((to - from) / 2), SPAN_S.min);
        continue;
      }
      for (let i = 0; i < events.length; i += PUBLISH_WINDOW) {
        const window = events.slice(i, i + PUBLISH_WINDOW).map((e) => {
          const customer = stripeCustomerOf(e);
          const subject = o.names.inboundSubject('stripe', e.type, customer);
          return { e, customer, subject, payload: encoder.encode(JSON.stringify(e)) };
        });
        // Each publish ends before the span does, stored or not: a failed one fails the run.
        const settled = await Promise.allSettled(
          window.map((w) => o.publish(w.subject, w.payload, w.e.id)),
        );
        const receipts = settled.map((r) => {
          if (r.status === 'rejected') throw r.reason;
          return r.value;
        });
        for (const [k, { e, customer }] of window.entries()) {
          const receipt = receipts[k]!;
          if (receipt.duplicate) duplicates++;
          if (customerTypes.has(e.type)) {
            const p = inboundPartition(customer, o.names.partitions);
            lastCustomerSeq.set(p, Math.max(lastCustomerSeq.get(p) ?? 0, receipt.seq ?? 0));
          }
          newest = Math.max(newest, e.created);
          if (e.created <= due) newestDue = Math.max(newestDue, e.created);
        }
      }
      listed += events.length;
      // The span is published: the watermark passes it, so a run cut short resumes after it, and
      // the next run on a quiet account lists from here (less the margin), not from its last event.
      await advanceWatermark(o.sql, SOURCE, Math.min(Math.max(newest, to - 1), nowS));
      from = to;
      span = nextSpan(span, events.length);
    }
    await watchSilence(newestDue);
    const mapped = await mappedPast(lastCustomerSeq);
    const report = { since, listed, duplicates, mapped };
    if (listed > duplicates || !mapped) log.info(report, 'caught up on Stripe events');
    else log.debug(report, 'caught up on Stripe events');
    return report;
  }

  /** Says once, in the log, in the shared row (for /readyz) and to the hook, that events were lost. */
  async function beyondRetention(watermark: number, nowS: number): Promise<void> {
    const retentionS = o.retentionS ?? STRIPE_EVENT_RETENTION_S;
    if (nowS - watermark <= retentionS || gapReported) return;
    await recordRetentionGap(o.sql, SOURCE, watermark);
    gapReported = true;
    log.warn(
      { watermark: new Date(watermark * 1000).toISOString(), retention_s: retentionS },
      'catch-up resumes from before the oldest event Stripe keeps: changes were lost; a full reconciliation is needed',
    );
    try {
      await o.onBeyondRetention?.({ watermark, retentionS });
    } catch (err) {
      log.warn({ err }, 'the beyond-retention hook failed');
    }
  }

  /**
   * Records the newest event a webhook should have brought by now (`newestDue`, 0: none listed),
   * and warns when none did.
   */
  async function watchSilence(newestDue: number): Promise<void> {
    if (newestDue > 0) await recordNewestEvent(o.sql, SOURCE, newestDue);
    const health = await readWebhookHealth(o.sql, SOURCE);
    const silenceS = health?.silenceS ?? 0;
    const alertS = o.silenceAlertS ?? 900;
    const about = {
      silence_s: silenceS,
      alert_s: alertS,
      last_webhook_at: health?.lastWebhookAt?.toISOString() ?? null,
      newest_event_at: health?.newestEventAt?.toISOString() ?? null,
    };
    if (!silent && silenceS > alertS)
      log.warn(
        about,
        "Stripe's events are newer than the last webhook: check the endpoint and its secret",
      );
    else if (silent && silenceS <= alertS) log.info(about, 'Stripe webhooks are received again');
    silent = silenceS > alertS;
  }

  /**
   * Waits until each partition's customer mapping consumer has handled INBOUND up to its `seq`:
   * the consumers of the partitions other workers hold included.
   */
  async function mappedPast(seqs: ReadonlyMap<number, number>): Promise<boolean> {
    if (seqs.size === 0) return true;
    const jsm = await jetstreamManager(o.nats);
    const feed = inboundFeed(o.names, CUSTOMER_EVENTS);
    const deadline = now() + (o.mappedWithinMs ?? 15_000);
    const waiting = new Map(seqs);
    for (;;) {
      for (const [p, seq] of waiting) {
        const floor = await ackFloorOf(jsm, o.names.streams.inbound, feed.consumerName(p));
        if (floor !== undefined && floor >= seq) waiting.delete(p);
      }
      if (waiting.size === 0) return true;
      if (stopped) return false;
      if (now() >= deadline) {
        log.warn(
          { partitions: [...waiting.keys()] },
          'caught-up events not mapped in time; resuming anyway',
        );
        return false;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    run,
    start() {
      if (o.intervalS <= 0 || timer) return;
      timer = setInterval(() => {
        run().catch((err: unknown) =>
          log.warn({ err }, 'Stripe catch-up failed; the next round tries again'),
        );
      }, o.intervalS * 1000);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      timer = undefined;
      await Promise.allSettled([running, queued]);
    },
  };
}
