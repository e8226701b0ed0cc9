// What an actor's subject records besides captured changes (executors' outcomes, operator
// requests) travels in the shape of a fact, `{ type, data, metadata }`, for every kind of actor.
// The actor consumes it as the event its `data` describes, plus `at`; `at` is not carried: like a
// fact's, it is when the stream stored the message. Written once here, so both directions stay one
// shape for every kind.

/** A recorded event as a message; `metadata` names the actor (and, per kind, more). */
export interface RecordedMessage<T extends string, M> {
  type: T;
  data: Record<string, unknown>;
  metadata: M;
}

export function toRecordedMessage<E extends { type: string; at: number }, M>(
  event: E,
  metadata: M,
): RecordedMessage<E['type'], M> {
  const { type, at: _at, ...data } = event;
  return { type, data, metadata };
}

/** The event a recorded message stands for, not yet checked against the kind's schema. */
export function fromRecordedMessage(
  message: { type: string; data: Record<string, unknown> },
  at: number,
): Record<string, unknown> & { type: string; at: number } {
  return { ...message.data, type: message.type, at };
}
