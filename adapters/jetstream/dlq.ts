// The DLQ as operators see it: list the letters, and redrive one by publishing its original bytes to
// its original subject again. A redriven letter leaves the DLQ, so the DLQ's depth is what still
// needs a person.
import {
  jetstream,
  jetstreamManager,
  DeliverPolicy,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Names } from '../../core/subjects.ts';
import { NotFoundError, ConflictError } from '../../core/errors.ts';
import type { DeadLetterRecord } from './dead-letters.ts';

export interface DlqEntry extends Omit<DeadLetterRecord, 'data_base64'> {
  /** The DLQ stream sequence: the entry's id. */
  id: number;
  size: number;
}

export interface DeadLetterQueue {
  list(limit: number, after?: number): Promise<{ data: DlqEntry[]; next_cursor: string | null }>;
  depth(): Promise<number>;
  /** Publishes the original message again and removes the entry; returns where it went. */
  redrive(id: number): Promise<{ subject: string }>;
}

export async function deadLetterQueue(nc: NatsConnection, names: Names): Promise<DeadLetterQueue> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = names.streams.dlq;

  async function read(id: number): Promise<DeadLetterRecord> {
    const m = await jsm.streams.getMessage(stream, { seq: id }).catch(() => null);
    if (!m) throw new NotFoundError('dead letter');
    return m.json<DeadLetterRecord>();
  }

  return {
    async list(limit, after = 0) {
      const data: DlqEntry[] = [];
      const info = await jsm.streams.info(stream);
      if (info.state.messages === 0 || after >= info.state.last_seq)
        return { data, next_cursor: null };
      const consumer = await js.consumers.get(stream, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: after + 1,
      });
      const batch = await consumer.fetch({ max_messages: limit + 1, expires: 2_000 });
      for await (const m of batch) {
        const { data_base64, ...record } = m.json<DeadLetterRecord>();
        data.push({ id: m.seq, size: Buffer.from(data_base64, 'base64').length, ...record });
        if (data.length > limit || m.info.pending === 0) break;
      }
      const more = data.length > limit;
      const page = data.slice(0, limit);
      return { data: page, next_cursor: more ? String(page.at(-1)!.id) : null };
    },
    async depth() {
      return (await jsm.streams.info(stream)).state.messages;
    },
    async redrive(id) {
      const record = await read(id);
      if (record.source === REFUSED_WRITES)
        throw new ConflictError(
          'this letter records a change from Stripe that Postgres refused; it cannot be redriven. ' +
            "Correct the customer in Stripe (its next change flows) or in rtws's API",
        );
      // The dedupe id makes a repeated redrive of the same entry a single publish.
      await js.publish(record.subject, Buffer.from(record.data_base64, 'base64'), {
        msgID: `redrive:${stream}:${id}`,
        timeout: 5_000,
      });
      await removeEntry(jsm, stream, id);
      return { subject: record.subject };
    },
  };
}

/** The DLQ source of changes from Stripe that Postgres refused for good: a record, not a message. */
export const REFUSED_WRITES = 'inbound';

async function removeEntry(jsm: JetStreamManager, stream: string, id: number): Promise<void> {
  await jsm.streams.deleteMessage(stream, id, false).catch((err: unknown) => {
    // Already removed by a concurrent redrive: the outcome is the same.
    if (!/no message found|not found/i.test(String(err))) throw err;
  });
}
