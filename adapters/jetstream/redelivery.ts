// What a consumer does with a message it could not handle: nak it with a growing delay, so that a
// later delivery tries again, or, on its last delivery or when it can never be handled, store it
// in the DLQ with the reason and then ack it. A letter the DLQ cannot take is naked in its turn:
// nothing is acked until it is stored somewhere.
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../core/ports.ts';
import type { DeadLetterSink } from '../../core/worker-ports.ts';
import { backoffMs, type BackoffPolicy } from '../../core/policy/backoff.ts';

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

/** A failed handling: naked for a later delivery, or dead-lettered on the last one. */
export async function retryOrDeadLetter(r: Redelivery, m: JsMsg, err: unknown): Promise<Disposal> {
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (m.info.deliveryCount >= r.maxDeliver) return deadLetter(r, m, reason);
  r.log.warn(
    { err, source: r.source, seq: m.seq, deliveries: m.info.deliveryCount },
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
    });
  } catch (err) {
    r.log.error({ err, seq: m.seq }, 'dead letter could not be stored; will retry');
    nakLater(r, m);
    return 'retrying';
  }
  m.ack();
  r.log.warn({ seq: m.seq, subject: m.subject, reason }, 'message dead-lettered');
  return 'dead-lettered';
}

function nakLater(r: Redelivery, m: JsMsg): void {
  m.nak(backoffMs(m.info.deliveryCount, `${m.seq}`, r.retry));
}
