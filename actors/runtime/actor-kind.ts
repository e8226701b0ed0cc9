// What the runtime needs to know of one kind of actor (customers, invoices): how a message of its
// stream becomes an event, how it decides, and how its snapshot is stored. The runtime's steps,
// consumers, caches and scheduler are written once over this, for every kind.

/**
 * A message is an event, or it is not: `skip` marks one left out on purpose (acked and logged: one
 * recorded under another account binding), the others are dead-lettered.
 */
export type Parsed<E> = { ok: true; event: E } | { ok: false; reason: string; skip?: true };

/** The least a decision says: the snapshot to save. */
export interface KindDecision<S> {
  readonly snapshot: S;
}

export interface ActorKind<S, E, D extends KindDecision<S>> {
  /** Names the kind's dead letters (`changes`, `invoices`). */
  readonly source: string;
  /** `at` is when the stream stored the message, so a rebuild sees the same instant as the live run. */
  parse(data: Uint8Array, actorId: string, at: number): Parsed<E>;
  start(actorId: string): S;
  decide(snapshot: S, event: E): D;
  /** The snapshot as stored in KV, stamped with the machine version that wrote it. */
  encode(snapshot: S): unknown;
  /** A stored snapshot, checked; throws `SnapshotFormatError` for a foreign or damaged value. */
  decode(actorId: string, stored: unknown): S;
  /** The id whose partition holds the actor: the customer's, for an invoice too. */
  ownerOf(actorId: string, snapshot: S): string;
}
