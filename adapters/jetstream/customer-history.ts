// A customer's recorded messages, read back from the CHANGES stream in order: the input of a
// rebuild. Reads through an ephemeral ordered consumer, so nothing is left behind on the server.
import { DeliverPolicy, jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Names } from '../../core/subjects.ts';
import type { RecordedEvent } from '../../actors/runtime/rebuild.ts';
import { recordedAt } from './recorded-at.ts';
import { correlationOf } from './correlation-header.ts';

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
  const consumer = await jetstream(nc).consumers.get(stream, {
    ...(fromSeq === undefined
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq }),
    // A string, not an array: nats-server 2.9 knows a single filter subject only.
    filter_subjects: filter,
  });
  const out: RecordedMessage[] = [];
  // A filter can match nothing; consuming would then wait for ever.
  if ((await consumer.info()).num_pending === 0) return out;
  const messages = await consumer.consume({ max_messages: 500 });
  for await (const m of messages) {
    out.push(toRecorded(m));
    if (m.info.pending === 0) break;
  }
  await messages.close();
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
