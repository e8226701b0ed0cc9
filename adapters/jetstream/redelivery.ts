// What a consumer does with a message it could not handle: nak it with a growing delay, so that a
// later delivery tries again, or, on its last delivery or when it can never be handled, store it
// in the DLQ with the reason and then ack it. A letter the DLQ cannot take is naked in its turn:
// nothing is acked until it is stored somewhere. A failure because NATS or Postgres is unavailable
// is not the message's fault: it is retried in hand until they are back, and never dead-lettered.
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../core/ports.ts';
import type { DeadLetterSink } from '../../core/worker-ports.ts';
import { BindingChangedError, NewerVersionError } from '../../core/errors.ts';
import { isInfrastructureFault } from '../../core/infrastructure.ts';
import { backoffMs, type BackoffPolicy } from '../../core/policy/backoff.ts';
import { correlationField, correlationOf } from './correlation-header.ts';

export interface Redelivery {
  readonly deadLetters: DeadLetterSink;
  readonly log: Logger;
  /** The stream the messages come from. */
  readonly stream: string;
  /** The DLQ source of their letters. */
  readonly source: string;
  /** Deliveries before a message that keeps failing is dead-lettered. */
  readonly maxDeliver: number;
  /** The nak delays, by delivery count. */
  readonly retry: BackoffPolicy;
  /** False once this worker may no longer act for the message (its lease moved): it is left alone. */
  readonly holds?: () => boolean;
}

export type Disposal = 'dead-lettered' | 'retrying' | 'fenced';

/**
 * Deliveries the server allows beyond `maxDeliver`: a message whose handling stopped with an
 * infrastructure fault (the process stopped or crashed while NATS or Postgres was away) comes
 * again even on its last counted delivery.
 */
export const SPARE_DELIVERIES = 5;

/** The server's `max_deliver` for a consumer that dead-letters after `maxDeliver` deliveries. */
export function serverMaxDeliver(maxDeliver: number): number {
  return maxDeliver + SPARE_DELIVERIES;
}

/** Waits between tries while NATS or Postgres is unavailable: 0.5 s, 1 s, 2 s … capped at 15 s. */
export const INFRASTRUCTURE_RETRY: BackoffPolicy = Object.freeze({
  baseMs: 500,
  factor: 2,
  capMs: 15_000,
  jitter: 0.3,
});

/**
 * A failure that is not the message's: NATS or Postgres away, or a message or snapshot of a newer
 * rtws (a rolling upgrade). It is never dead-lettered.
 */
export function notTheMessagesFault(err: unknown): boolean {
  return (
    isInfrastructureFault(err) ||
    err instanceof NewerVersionError ||
    err instanceof BindingChangedError
  );
}

/**
 * Runs `work` until it succeeds or fails for a reason of its own. While it fails because NATS or
 * Postgres is unavailable, it is tried again here, with backoff, the message kept in hand: such a
 * failure never counts towards the DLQ, and the messages behind it keep their order. Once
 * `stopped()` says so (a shutdown, a lost lease), the last failure is thrown.
 */
export async function whileUnavailable<T>(
  o: { readonly log: Logger; readonly stopped: () => boolean },
  m: JsMsg,
  work: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!notTheMessagesFault(err) || o.stopped()) throw err;
      const delayMs = backoffMs(attempt, `${m.seq}`, INFRASTRUCTURE_RETRY);
      if (attempt === 1 || attempt % 20 === 0)
        o.log.warn(
          { err, seq: m.seq, subject: m.subject, ...correlationField(m), attempt, delayMs },
          err instanceof NewerVersionError
            ? 'written by a newer rtws: the message is kept until this process is upgraded or its partition moves'
            : err instanceof BindingChangedError
              ? 'this process knows an older Stripe binding than the database (a rebind since it started): restart it; the message is kept until then'
              : 'NATS or Postgres is unavailable: the message is kept and tried again until it is back',
        );
      await holdFor(m, delayMs, o.stopped);
    }
  }
}

/** Waits, telling the server every second that the message is still in hand. */
async function holdFor(m: JsMsg, ms: number, stopped: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !stopped()) {
    try {
      m.working();
    } catch {
      // NATS is away: the ack wait may lapse, and the message then comes again.
    }
    await new Promise((r) => setTimeout(r, Math.min(1_000, end - Date.now())));
  }
}

/**
 * A failed handling: naked for a later delivery, or dead-lettered on the last one. A failure
 * because NATS or Postgres is unavailable, or because a newer rtws wrote what it needs, is naked
 * whatever the count: it is never the message's.
 */
export async function retryOrDeadLetter(r: Redelivery, m: JsMsg, err: unknown): Promise<Disposal> {
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (notTheMessagesFault(err)) {
    if (m.info.deliveryCount >= serverMaxDeliver(r.maxDeliver))
      r.log.error(
        { err, source: r.source, seq: m.seq, subject: m.subject, ...correlationField(m) },
        'message given back on its last delivery, for a reason not its own: it will not come again by itself; replay it with npm run replay',
      );
    nakLater(r, m);
    return 'retrying';
  }
  if (m.info.deliveryCount >= r.maxDeliver) return deadLetter(r, m, reason);
  r.log.warn(
    {
      err,
      source: r.source,
      seq: m.seq,
      subject: m.subject,
      ...correlationField(m),
      deliveries: m.info.deliveryCount,
    },
    'message failed; will retry',
  );
  nakLater(r, m);
  return 'retrying';
}

/** Stores the message in the DLQ with `reason`, then acks it. */
export async function deadLetter(r: Redelivery, m: JsMsg, reason: string): Promise<Disposal> {
  if (r.holds?.() === false) return 'fenced';
  try {
    await r.deadLetters.publish({
      source: r.source,
      stream: r.stream,
      streamSeq: m.seq,
      subject: m.subject,
      reason,
      deliveries: m.info.deliveryCount,
      data: m.data,
      correlationId: correlationOf(m),
    });
  } catch (err) {
    r.log.error(
      { err, seq: m.seq, ...correlationField(m) },
      'dead letter could not be stored; will retry',
    );
    nakLater(r, m);
    return 'retrying';
  }
  m.ack();
  r.log.warn(
    { seq: m.seq, subject: m.subject, ...correlationField(m), reason },
    'message dead-lettered',
  );
  return 'dead-lettered';
}

function nakLater(r: Redelivery, m: JsMsg): void {
  m.nak(backoffMs(m.info.deliveryCount, `${m.seq}`, r.retry));
}
