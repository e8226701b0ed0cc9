// The DLQ as operators see it: list the letters (by source, by subject prefix), read one with its
// payload, redrive one by publishing its original bytes to its original subject again, or remove
// one that an operator discards. A redriven or discarded letter leaves the DLQ, so the DLQ's
// depth is what still needs a person.
import { correlationHeaders } from './correlation-header.ts';
import {
  jetstream,
  jetstreamManager,
  DeliverPolicy,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Names } from '../../core/subjects.ts';
import { NotFoundError, ConflictError, UnavailableError } from '../../core/errors.ts';
import type { DeadLetterRecord } from './dead-letters.ts';
import { decodePayload, type LetterPayload } from './letter-payload.ts';

export interface DlqEntry extends Omit<DeadLetterRecord, 'data_base64'> {
  /** The DLQ stream sequence: the entry's id. */
  id: number;
  size: number;
}

/** A letter with what it carried. */
export interface DlqLetter extends DlqEntry {
  payload: LetterPayload;
}

export interface DlqFilter {
  /** Letters from this source only (`changes`, `inbound`, …). */
  source?: string | undefined;
  /** Letters whose original subject starts with this. */
  subjectPrefix?: string | undefined;
}

export interface DlqPage {
  data: DlqEntry[];
  next_cursor: string | null;
}

export interface DeadLetterQueue {
  list(limit: number, after?: number, filter?: DlqFilter): Promise<DlqPage>;
  depth(): Promise<number>;
  /** The letter with its payload; NotFoundError when there is none with this id. */
  get(id: number): Promise<DlqLetter>;
  /**
   * Publishes the original message again and removes the entry; returns where it went.
   * `correlationId`: the operator's request, carried in the redriven message's header.
   */
  redrive(id: number, correlationId?: string): Promise<{ subject: string }>;
  /** Removes the entry; false when it was already gone. */
  remove(id: number): Promise<boolean>;
}

/**
 * Letters a filtered listing reads at most per page: a subject filter is applied here, not by
 * the server, so a page over a long DLQ with few matches ends early with a cursor to go on from.
 */
const SCAN_PER_PAGE = 5_000;

/** How long a listing waits for letters the server says are there before its page ends. */
const LIST_STALL_MS = 10_000;

const entryOf = (m: JsMsg): DlqEntry => {
  const { data_base64, ...record } = m.json<DeadLetterRecord>();
  return { id: m.seq, size: Buffer.from(data_base64, 'base64').length, ...record };
};

export async function deadLetterQueue(nc: NatsConnection, names: Names): Promise<DeadLetterQueue> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = names.streams.dlq;

  async function read(id: number): Promise<DeadLetterRecord> {
    // Null when there is no such letter; NATS's own failures are thrown as they are (a 503).
    const m = await jsm.streams.getMessage(stream, { seq: id });
    if (!m) throw new NotFoundError('dead letter');
    return m.json<DeadLetterRecord>();
  }

  return {
    async list(limit, after = 0, filter = {}) {
      const data: DlqEntry[] = [];
      const info = await jsm.streams.info(stream);
      if (info.state.messages === 0 || after >= info.state.last_seq)
        return { data, next_cursor: null };
      const consumer = await js.consumers.get(stream, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: after + 1,
        ...(filter.source ? { filter_subjects: names.dlqSubject(filter.source) } : {}),
      });
      const prefix = filter.subjectPrefix ?? '';
      const until = info.state.last_seq;
      let scanned = 0;
      let lastSeq = after;
      let exhausted = false;
      let stalledSince: number | undefined;
      // In fetches that end on their own: letters removed while they are read (a redrive, a
      // discard, an erasure) never leave the listing waiting for them.
      try {
        scan: for (;;) {
          // A filter can match nothing, and what was pending can be gone.
          if ((await consumer.info()).num_pending === 0) {
            exhausted = true;
            break;
          }
          let got = 0;
          const batch = await consumer.fetch({
            max_messages: Math.min(limit + 1, 256),
            expires: 1_000,
          });
          for await (const m of batch) {
            got++;
            scanned++;
            lastSeq = m.seq;
            const entry = entryOf(m);
            if (entry.subject.startsWith(prefix)) data.push(entry);
            exhausted = m.info.pending === 0 || m.seq >= until;
            if (data.length > limit || exhausted || scanned >= SCAN_PER_PAGE) break scan;
          }
          if (got > 0) stalledSince = undefined;
          // The server counts letters it does not deliver: the page ends here, with a cursor.
          else if (Date.now() - (stalledSince ??= Date.now()) > LIST_STALL_MS) break;
        }
      } finally {
        // Ephemeral, but it would linger for minutes: one per listing adds up under a console.
        await consumer.delete().catch(() => {});
      }
      if (data.length > limit) {
        const page = data.slice(0, limit);
        return { data: page, next_cursor: String(page.at(-1)!.id) };
      }
      // Nothing read while the server counted letters (a leader election, say): neither an empty
      // DLQ nor a page to go on from, but the DLQ unavailable for now (a 503).
      if (!exhausted && lastSeq === after) throw new UnavailableError('the DLQ');
      return { data, next_cursor: exhausted ? null : String(lastSeq) };
    },
    async depth() {
      return (await jsm.streams.info(stream)).state.messages;
    },
    async get(id) {
      const m = await jsm.streams.getMessage(stream, { seq: id });
      if (!m) throw new NotFoundError('dead letter');
      const { data_base64, ...record } = m.json<DeadLetterRecord>();
      const bytes = Buffer.from(data_base64, 'base64');
      return { id, size: bytes.length, ...record, payload: decodePayload(bytes) };
    },
    async redrive(id, correlationId) {
      const record = await read(id);
      if (record.source === REFUSED_WRITES)
        throw new ConflictError(
          'this letter records a change from Stripe that Postgres refused; it cannot be redriven. ' +
            "Correct the customer in Stripe (its next change flows) or in rtws's API",
        );
      // The dedupe id makes a repeated redrive of the same entry a single publish.
      const headers = correlationHeaders(correlationId);
      await js.publish(record.subject, Buffer.from(record.data_base64, 'base64'), {
        msgID: `redrive:${stream}:${id}`,
        timeout: 5_000,
        ...(headers ? { headers } : {}),
      });
      await removeEntry(jsm, stream, id);
      return { subject: record.subject };
    },
    remove: (id) => removeEntry(jsm, stream, id),
  };
}

/** The DLQ source of changes from Stripe that Postgres refused for good: a record, not a message. */
export const REFUSED_WRITES = 'inbound';

/** False when the entry was gone already (a concurrent redrive or discard). */
async function removeEntry(jsm: JetStreamManager, stream: string, id: number): Promise<boolean> {
  return jsm.streams.deleteMessage(stream, id, false).catch((err: unknown) => {
    if (/no message found|not found/i.test(String(err))) return false;
    throw err;
  });
}
