// The seams between the actor runtime and its storage: actor snapshots, partition leases and the
// dead-letter queue. The runtime depends on these; the JetStream adapters implement them.
import type { Logger } from './ports.ts';

/** A persisted actor snapshot (plain JSON) and the KV revision it was read at. */
export interface StoredSnapshot {
  readonly value: unknown;
  readonly revision: number;
}

/**
 * A snapshot already encoded as JSON text. A step has that text anyway (it compares a step's result
 * with its base by it), so a store given one writes it as it is rather than encoding it again.
 */
export class SnapshotJson {
  constructor(readonly text: string) {}
}

/** The JSON text a store writes for a snapshot value. */
export function snapshotText(value: unknown): string {
  return value instanceof SnapshotJson ? value.text : JSON.stringify(value);
}

/** Durable actor state, written with revision CAS. */
export interface SnapshotStore {
  load(actorId: string): Promise<StoredSnapshot | undefined>;
  /**
   * Writes `value` (plain JSON, or a `SnapshotJson` written as it is) if the stored revision is
   * still `expectedRevision` (`undefined`: no entry yet).
   * Resolves to the new revision; rejects with `ConcurrencyError` when someone wrote in between.
   */
  save(actorId: string, value: unknown, expectedRevision: number | undefined): Promise<number>;
  /** Every stored actor id (for resuming a partition's pending intents). */
  keys(): AsyncIterable<string>;
}

/** A held partition as the store shows it. */
export interface Lease {
  readonly holder: string;
  /** The revision a renewal (or a takeback) must name. */
  readonly revision: number;
}

/** Partition leases and worker presence; entries expire on their own after `ttlMs` unless renewed. */
export interface LeaseStore {
  readonly ttlMs: number;
  /** Announces (or keeps announcing) a live worker. */
  heartbeat(workerId: string): Promise<void>;
  /** Removes a worker's presence at once, on a clean stop. */
  leave(workerId: string): Promise<void>;
  /** Workers whose presence has not expired. */
  liveWorkers(): Promise<string[]>;
  /** Each held partition, its holder and revision; free partitions are absent. */
  holders(partitions: number): Promise<Map<number, Lease>>;
  /** Takes a free partition: its revision, or `undefined` when someone holds it. */
  claim(partition: number, workerId: string): Promise<number | undefined>;
  /**
   * Extends a lease, or takes back one a previous run left under `workerId`, if it is still at
   * `revision`; rejects with `ConcurrencyError` when it changed.
   */
  renew(partition: number, workerId: string, revision: number): Promise<number>;
  /** Frees a held lease, only if it is still at `revision`. */
  release(partition: number, revision: number): Promise<void>;
}

/** A message the runtime gave up on, with what is needed to inspect and redrive it. */
export interface DeadLetter {
  /** Which flow dropped it, e.g. `changes`; the DLQ subject is derived from it. */
  readonly source: string;
  readonly stream: string;
  readonly streamSeq: number;
  readonly subject: string;
  readonly reason: string;
  readonly deliveries: number;
  /** The original payload, untouched. */
  readonly data: Uint8Array;
  /** The change the message served (its correlation header), so the letter is found by it. */
  readonly correlationId?: string | undefined;
  /**
   * What in the message the letter is about, where one message can leave several: a step's
   * letters name their target or their write. Absent for a letter of the whole message.
   */
  readonly key?: string | undefined;
}

/** A letter's id: the message it came from and, where there is one, its key. */
export function letterId(letter: Pick<DeadLetter, 'stream' | 'streamSeq' | 'key'>): string {
  const { stream, streamSeq, key } = letter;
  return key === undefined ? `dlq:${stream}:${streamSeq}` : `dlq:${stream}:${streamSeq}:${key}`;
}

export interface DeadLetterSink {
  /**
   * Resolves once the DLQ stream has stored the letter. The same letter twice is stored once:
   * within the DLQ's two-minute dedupe window by its id, and past it with `ledgeredDeadLetters`.
   */
  publish(letter: DeadLetter): Promise<void>;
}

/**
 * The letters stored in the DLQ, by id, for as long as the message they came from may be delivered
 * again. The DLQ's own dedupe forgets an id after two minutes; a message delivered again later (a
 * crash before its ack, then a backlog or every worker down) must neither lose its letter nor bring
 * back one an operator has discarded or redriven since.
 */
export interface LetterLedger {
  /** Whether a letter with this id, about this subject, was stored. */
  has(id: string, subject: string): Promise<boolean>;
  /** Records a letter the DLQ has stored. */
  record(id: string, subject: string): Promise<void>;
}

/**
 * The sink with its ledger: a letter the ledger has is not published again; one it has not is
 * published, then recorded. The ledger never holds a letter back: one it cannot read (Postgres
 * away) is published regardless, and one stored but not recorded is logged. Either, like a crash
 * between the store and the record, can let the letter's message, delivered again past the DLQ's
 * dedupe window, store a second copy of it; never none.
 */
export function ledgeredDeadLetters(
  sink: DeadLetterSink,
  ledger: LetterLedger,
  log: Logger,
): DeadLetterSink {
  return {
    async publish(letter) {
      const id = letterId(letter);
      const known = await ledger.has(id, letter.subject).catch((err: unknown) => {
        log.warn({ err, letter: id }, 'letter ledger not readable; storing the letter regardless');
        return false;
      });
      if (known) return;
      await sink.publish(letter);
      await ledger.record(id, letter.subject).catch((err: unknown) => {
        log.warn(
          { err, letter: id },
          'letter stored but not recorded in the ledger; its message, delivered again later, ' +
            'may store it a second time',
        );
      });
    },
  };
}
