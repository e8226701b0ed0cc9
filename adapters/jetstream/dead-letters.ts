// The DLQ stream: one message per dead letter, carrying the original bytes (base64), where they
// came from and why they were given up on. The dedupe id (`letterId`: the message, and what in it
// the letter is about) makes a repeated dead-lettering of the same message within the stream's
// two-minute window a no-op; `LetterLedger` remembers it for longer.
import type { JetStreamClient } from '@nats-io/jetstream';
import { letterId, type DeadLetterSink } from '../../core/worker-ports.ts';
import type { Names } from '../../core/subjects.ts';

/** The JSON body of a DLQ message. */
export interface DeadLetterRecord {
  source: string;
  stream: string;
  stream_seq: number;
  subject: string;
  reason: string;
  deliveries: number;
  data_base64: string;
  dead_lettered_at: string;
  /** The change the message served; absent when it carried none. */
  correlation_id?: string;
}

export function jetStreamDeadLetters(
  js: JetStreamClient,
  names: Names,
  timeoutMs = 5_000,
): DeadLetterSink {
  return {
    async publish(letter) {
      const record: DeadLetterRecord = {
        source: letter.source,
        stream: letter.stream,
        stream_seq: letter.streamSeq,
        subject: letter.subject,
        reason: letter.reason,
        deliveries: letter.deliveries,
        data_base64: Buffer.from(letter.data).toString('base64'),
        dead_lettered_at: new Date().toISOString(),
        ...(letter.correlationId ? { correlation_id: letter.correlationId } : {}),
      };
      await js.publish(names.dlqSubject(letter.source), JSON.stringify(record), {
        msgID: letterId(letter),
        timeout: timeoutMs,
      });
    },
  };
}
