// What the runtime needs to know of one kind of actor (customers, invoices): how a message of its
// stream becomes an event, how it decides, how its snapshot is stored, and which intents a snapshot
// holds for the executors. The runtime's steps, consumers, caches and scheduler are written once
// over this, for every kind; each kind is a value defined beside its machine
// (`actors/customer/kind.ts`, `actors/invoice/kind.ts`).

/**
 * A message is an event, or it is not: `skip` marks one left out on purpose (acked and logged: one
 * recorded under another account binding), the others are dead-lettered.
 */
/**
 * A message read: the event, or why not. `skip`: acked and left (recorded before a rebind).
 * `newer`: written by a newer rtws, left unacked for a process that can read it.
 */
export type Parsed<E> =
  { ok: true; event: E } | { ok: false; reason: string; skip?: true; newer?: true };

/** The least a decision says: the snapshot to save. */
export interface KindDecision<S> {
  readonly snapshot: S;
}

/** What the scheduler needs of an intent. */
export interface SchedulableIntent {
  readonly id: string;
  readonly attempt: number;
  /** When the intent was decided (ms since the epoch). */
  readonly recordedAt?: number;
  /** The change it serves: put on the log lines about it. */
  readonly correlationId?: string | undefined;
}

/** An actor's pending intent on one target, and when it is due. */
export interface DueIntent<T extends string, I> {
  readonly target: T;
  readonly intent: I;
  readonly dueAt: number;
}

/**
 * One kind of actor: `S` its snapshot, `E` the events it consumes, `D` what one event decides,
 * `T` the targets its executors call and `I` the intents it records for them. (What executors
 * report back, the outcomes, are events of `E`: they are recorded on the actor's subject.)
 */
export interface ActorKind<
  S,
  E,
  D extends KindDecision<S>,
  T extends string = string,
  I extends SchedulableIntent = SchedulableIntent,
> {
  /** Names the kind's dead letters (`changes`, `invoices`). */
  readonly source: string;
  /**
   * A message of the actor's subject, decoded from JSON, as the event it stands for. `at` is when
   * the stream stored the message, so a rebuild sees the same instant as the live run;
   * `correlation` is the message's correlation header, likewise read from the recorded message.
   */
  check(message: unknown, actorId: string, at: number, correlation?: string): Parsed<E>;
  start(actorId: string): S;
  decide(snapshot: S, event: E): D;
  /** The snapshot as stored in KV, stamped with the machine version that wrote it. */
  encode(snapshot: S): unknown;
  /** A stored snapshot, checked; throws `SnapshotFormatError` for a foreign or damaged value. */
  decode(actorId: string, stored: unknown): S;
  /** The id whose partition holds the actor: the customer's, for an invoice too. */
  ownerOf(actorId: string, snapshot: S): string;
  /** The snapshot's pending intents, one per target at most, with when each is due. */
  pending(snapshot: S): readonly DueIntent<T, I>[];
  /**
   * Whether the step that decided this must be saved before its effects run, rather than held in
   * memory (write-behind): one whose effects would not be repeated harmlessly should its message
   * be decided again after a crash. Default: no step must.
   */
  mustSave?(decision: D): boolean;
  /**
   * Whether the actor has nothing in flight (no intent, no write it waits for): a step that leaves
   * it so is saved at once, so that KV holds a quiet actor as it is. Default: never.
   */
  settled?(snapshot: S): boolean;
}

/** What the intent scheduler needs of a kind. */
export type SchedulingKind<S, T extends string, I extends SchedulableIntent> = Pick<
  ActorKind<S, never, KindDecision<S>, T, I>,
  'pending' | 'ownerOf'
>;
