// A customer's recorded messages, read back from the CHANGES stream in order: the input of a
// rebuild. Reads through an ephemeral ordered consumer, so nothing is left behind on the server,
// up to the last message stored when the read starts.
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Names } from '../../core/subjects.ts';
import type { RecordedEvent } from '../../actors/runtime/rebuild.ts';
import { recordedAt } from './recorded-at.ts';
import { correlationOf } from './correlation-header.ts';
import { readStream } from './read-stream.ts';

export interface RecordedMessage extends RecordedEvent {
  readonly seq: number;
  readonly subject: string;
}

export async function customerHistory(
  nc: NatsConnection,
  names: Names,
  customerId: string,
): Promise<RecordedMessage[]> {
  return streamHistory(nc, names.streams.changes, names.customerHistoryFilter(customerId));
}

/**
 * Every message of `stream` on `filter`, in stream order (an invoice's, for one); from stream
 * sequence `fromSeq` on, when given.
 */
export async function streamHistory(
  nc: NatsConnection,
  stream: string,
  filter: string,
  fromSeq?: number,
): Promise<RecordedMessage[]> {
  const out: RecordedMessage[] = [];
  // Bounded: a message deleted while it is read (an erased customer's) does not hold the read.
  await readStream(nc, stream, filter, (m) => out.push(toRecorded(m)), fromSeq);
  return out;
}

function toRecorded(m: JsMsg): RecordedMessage {
  let message: unknown;
  try {
    message = m.json<unknown>();
  } catch {
    message = null;
  }
  const correlation = correlationOf(m);
  return {
    seq: m.seq,
    subject: m.subject,
    message,
    at: recordedAt(m),
    ...(correlation ? { correlation } : {}),
  };
}
